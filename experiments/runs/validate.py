"""Checks for the fields of the studies' config dataclasses, shared by every `Config.__post_init__`,
the wording of every range and type error, and the size check every command runs before it starts.

Values. Each `check_*(value, field, ...)` returns the value normalised (int, float, lower-case
name, tuple) or raises `BadValueError`: one line that names the CLI option of `field`
(`option_name`: batch_size -> --batch-size), says what the value must be and what was received,
always in the form "--lr must be > 0, got -3" ("--seeds must be an integer, got 'x'",
"--optimizer must be one of sgd, adam, got 'adamw'"). `BadValueError.in_file(source)` words the
same problem for a key of a config file ("c.toml [train]: lr must be > 0, got -3"). `parse_int`
and `parse_float` turn the text of a command-line option into a number with the same wording (an
integer may be written 1e6). bool is never accepted as a number (True is an int in Python).
Names are matched case-insensitively, as the CLI's parse_list does, and returned lower-case.

Sizes. A study may define `estimate(config, workers) -> Estimate` (peak memory in bytes and work
in seconds of computing on one core, both rough upper estimates from the settings alone) and
`SIZE_FIELDS` (the fields that make a run big) in its config.py. `check_size(command, config,
workers)` refuses, before any run directory exists, settings whose estimate exceeds
`memory_limit()` (MEMORY_SHARE of this machine's memory: physical pages, or the cgroup's limit if
lower) or `time_limit()` (DEFAULT_MAX_MINUTES, or the environment variable NNHW_MAX_MINUTES),
naming the option that makes the run too big (the one whose default value shrinks the estimate
most) and the estimate.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

from nnhw.core.errors import NnhwError

MEMORY_SHARE = 0.5  # of the machine's memory one run may plan to use
DEFAULT_MAX_MINUTES = 30.0  # of estimated computing on one core
MAX_MINUTES_VARIABLE = "NNHW_MAX_MINUTES"
_SHOWN = 60  # characters of a received value an error message repeats


def option_name(field: str) -> str:
    """The CLI option of a config field: batch_size -> --batch-size."""
    return "--" + field.replace("_", "-")


def shown(value: Any) -> str:
    """A received value as an error message repeats it: repr, cut to a readable length."""
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 5] + "...'" + f" ({len(text)} chars)"


class BadValueError(NnhwError):
    """A field's value of the wrong type or out of range: `field` and the `problem`
    ("must be > 0, got -3"), so a caller can name a config file's key instead of the option."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        sep = ": " if problem.startswith("every ") or problem.startswith("each ") else " "
        super().__init__(f"{option_name(field)}{sep}{problem}")

    def in_file(self, source: str) -> NnhwError:
        """The same problem, for key `field` of the config file `source` (e.g. "c.toml [train]")."""
        return NnhwError(f"{source}: {self.field} {self.problem}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _field(option: str) -> str:
    return option.lstrip("-").replace("-", "_")


def parse_int(text: str, option: str) -> int:
    """The integer an option's text gives ('12', '1_000', '1e6'); BadValueError otherwise."""
    value = str(text).strip()
    try:
        return int(value)
    except ValueError:
        pass
    try:
        number = float(value)
    except ValueError:
        raise BadValueError(_field(option), f"must be an integer, got {shown(text)}") from None
    if not math.isfinite(number) or number != round(number):
        raise BadValueError(_field(option), f"must be an integer, got {shown(text)}")
    return int(number)


def parse_float(text: str, option: str) -> float:
    """The number an option's text gives ('0.1', '1e-3'); BadValueError otherwise."""
    try:
        return float(str(text).strip())
    except ValueError:
        raise BadValueError(_field(option), f"must be a number, got {shown(text)}") from None


def check_int(value: Any, field: str, minimum: int, maximum: int | None = None) -> int:
    """An integer in [minimum, maximum] (no upper bound when maximum is None)."""
    if maximum is None:
        if not _is_int(value) or value < minimum:
            raise BadValueError(field, f"must be an integer >= {minimum}, got {shown(value)}")
    elif not _is_int(value) or not minimum <= value <= maximum:
        raise BadValueError(
            field, f"must be an integer from {minimum} to {maximum}, got {shown(value)}"
        )
    return int(value)


def check_float(
    value: Any,
    field: str,
    *,
    above: float | None = None,
    at_least: float | None = None,
    below: float | None = None,
) -> float:
    """A finite number, > above or >= at_least (give at most one), and < below when given."""
    assert above is None or at_least is None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BadValueError(field, f"must be a finite number, got {shown(value)}")
    too_low = (above is not None and value <= above) or (at_least is not None and value < at_least)
    if too_low or (below is not None and value >= below):
        if below is None:
            bound = f"> {above:g}" if above is not None else f">= {at_least:g}"
        elif above is None and at_least is None:
            bound = f"< {below:g}"
        else:
            low = f"({above:g}" if above is not None else f"[{at_least:g}"
            bound = f"in {low}, {below:g})"
        raise BadValueError(field, f"must be {bound}, got {shown(value)}")
    return float(value)


def check_choice(value: Any, field: str, choices: tuple[str, ...]) -> str:
    """One of `choices` (case-insensitive), lower-case."""
    if not isinstance(value, str) or value.lower() not in choices:
        raise BadValueError(field, f"must be one of {', '.join(choices)}, got {shown(value)}")
    return value.lower()


def _sequence(value: Any, field: str, what: str, hint: str = "") -> None:
    if not isinstance(value, tuple | list):
        raise BadValueError(field, f"must be a list of {what}s, got {shown(value)}")
    if not value:
        raise BadValueError(field, f"must have at least one {what}{hint}, got {shown(value)}")


def _once(items: list[Any], field: str, what: str) -> None:
    if len(set(items)) != len(items):
        raise BadValueError(field, f"each {what} once, got {', '.join(map(str, items))}")


def check_names(value: Any, field: str, choices: tuple[str, ...], what: str) -> tuple[str, ...]:
    """A non-empty list of distinct names from `choices` (each a `what`), lower-case."""
    _sequence(value, field, what, f" ({', '.join(choices)})")
    for v in value:
        if not isinstance(v, str) or v.lower() not in choices:
            raise BadValueError(
                field, f"every {what} must be one of {', '.join(choices)}, got {shown(v)}"
            )
    out = [v.lower() for v in value]
    _once(out, field, what)
    return tuple(out)


def check_positive_ints(
    value: Any, field: str, what: str, *, distinct: bool = True
) -> tuple[int, ...]:
    """A non-empty list of integers >= 1 (each a `what`), distinct unless distinct=False."""
    _sequence(value, field, what)
    for v in value:
        if not _is_int(v) or v < 1:
            raise BadValueError(field, f"every {what} must be an integer >= 1, got {shown(v)}")
    out = [int(v) for v in value]
    if distinct:
        _once(out, field, what)
    return tuple(out)


def check_bool(value: Any, field: str) -> bool:
    """True or False (not 0/1, not a string)."""
    if not isinstance(value, bool):
        raise BadValueError(field, f"must be true or false, got {shown(value)}")
    return value


def check_text(value: Any, field: str) -> str | None:
    """None, or a non-empty text (a path or a column name), stripped of nothing."""
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise BadValueError(field, f"must be a non-empty text, got {shown(value)}")
    return value


# --- sizes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    """What a run of some settings is expected to cost: peak memory in bytes, and work in
    seconds of computing on one core. Both rough, from the settings alone."""

    memory: float
    seconds: float

    def __add__(self, other: Estimate) -> Estimate:
        return Estimate(self.memory + other.memory, self.seconds + other.seconds)


# The cost model of a net, rough: fitted to single cells of compare-activations from 0.2 s to
# 100 s (default net, 20,000 samples, 512x512 hidden, depth 8 and 20, 50 seeds, batch 1) on this
# project's 2-core machine, it comes within a factor of about 3 of the measured time either way.
# Matrix products cost per multiply-add; the elementwise work of a pass (activations, their
# derivatives, the diagnostics) per unit and example; a training step and each of its layers have
# a fixed Python overhead.
FLOAT_BYTES = 8
MULTIPLY_ADDS_PER_SECOND = 2e9
UNIT_SECONDS = 3e-8  # per unit and example of a forward and backward pass
STEP_SECONDS = 80e-6
LAYER_SECONDS = 5e-6


def net_params(sizes: tuple[int, ...]) -> int:
    """Weights and biases of a net with layer sizes `sizes`."""
    return sum(a * b + b for a, b in pairwise(sizes))


def net_pass(
    sizes: tuple[int, ...], members: int, rows: float, elementwise: float = 1.0
) -> Estimate:
    """One forward and backward pass of an ensemble of `members` nets on `rows` examples: the
    inputs and four cached arrays per unit (z, a, f'(z), the back-propagated signal), three
    multiply-adds per weight and example (one forward, two backward) and `elementwise` times the
    usual elementwise work per unit (2 for an evaluation with its diagnostics)."""
    units = sum(sizes[1:])
    memory = FLOAT_BYTES * members * rows * (sizes[0] + 4 * units)
    work = 3.0 * members * rows * net_params(sizes) / MULTIPLY_ADDS_PER_SECOND
    work += elementwise * members * rows * units * UNIT_SECONDS
    return Estimate(memory, work + (len(sizes) - 1) * LAYER_SECONDS)


def training(
    sizes: tuple[int, ...], members: int, rows: int, batch: int, epochs: int, test_rows: int = 0
) -> Estimate:
    """Minibatch training of an ensemble for `epochs` epochs, measured on the whole data set
    after every epoch (and at initialisation), as core.train.fit does: parameters, gradients and
    two optimiser moments per weight, and the larger of a step's and an evaluation's arrays."""
    batch = max(1, min(batch, rows))
    steps = epochs * math.ceil(rows / batch)
    step = net_pass(sizes, members, batch)
    evaluation = net_pass(sizes, members, rows + test_rows, elementwise=2.0)
    memory = 4 * FLOAT_BYTES * members * net_params(sizes) + max(step.memory, evaluation.memory)
    seconds = steps * (step.seconds + STEP_SECONDS) + (epochs + 1) * evaluation.seconds
    return Estimate(memory, seconds)


def _cgroup_limit() -> float | None:
    """The memory limit of this process's cgroup (v2, then v1), if one is set."""
    for name in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(name).read_text(encoding="ascii").strip()
        except (OSError, ValueError):
            continue
        if text.isdigit() and int(text) < 1 << 60:  # v1 writes a huge number for "no limit"
            return float(text)
    return None


def machine_memory() -> float | None:
    """This machine's memory in bytes (physical pages, or the cgroup's limit when lower)."""
    try:
        total = float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return _cgroup_limit()
    limit = _cgroup_limit()
    return min(total, limit) if limit is not None else total


def memory_limit() -> float:
    """The memory a run may plan to use: MEMORY_SHARE of machine_memory() (8 GB if unknown)."""
    total = machine_memory()
    return MEMORY_SHARE * (total if total else 16e9)


def time_limit() -> float:
    """The work a run may plan, in seconds on one core: NNHW_MAX_MINUTES, else the default."""
    text = os.environ.get(MAX_MINUTES_VARIABLE, "").strip()
    if not text:
        return DEFAULT_MAX_MINUTES * 60.0
    try:
        minutes = float(text)
    except ValueError:
        minutes = math.nan
    if not math.isfinite(minutes) or minutes <= 0:
        raise NnhwError(f"{MAX_MINUTES_VARIABLE} must be a number of minutes > 0, got {text!r}")
    return minutes * 60.0


def format_bytes(n: float) -> str:
    """1.23 GB, 456 MB, 12 kB (decimal units, 3 significant digits)."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:.0f} B"


def format_seconds(s: float) -> str:
    """40 s, 12 min, 3.5 h, 12 days."""
    if s < 90:
        return f"{s:.0f} s"
    if s < 90 * 60:
        return f"{s / 60:.0f} min"
    if s < 48 * 3600:
        return f"{s / 3600:.2g} h"
    return f"{s / 86400:.3g} days"


def _value_text(value: Any) -> str:
    if isinstance(value, tuple | list):
        return ",".join(map(str, value))
    return str(value)


def _culprit(
    config: Any,
    estimate: Callable[[Any, int], Estimate],
    fields: tuple[str, ...],
    workers: int,
    kind: str,
) -> str:
    """The option (with its value) whose default shrinks the `kind` estimate most."""
    total = getattr(estimate(config, workers), kind)
    defaults = {f.name: f.default for f in dataclasses.fields(config)}
    best, best_ratio = "", 1.0
    for name in fields:
        if name not in defaults or defaults[name] is dataclasses.MISSING:
            continue
        if getattr(config, name) == defaults[name]:
            continue
        try:
            smaller = getattr(
                estimate(dataclasses.replace(config, **{name: defaults[name]}), workers), kind
            )
        except (NnhwError, TypeError, ValueError):
            continue  # the default does not combine with the other settings
        ratio = total / max(smaller, 1e-300)
        if ratio > best_ratio:
            best, best_ratio = f"{option_name(name)} {_value_text(getattr(config, name))}", ratio
    if kind == "memory" and workers > 1:
        ratio = total / max(estimate(config, 1).memory, 1e-300)
        if ratio > best_ratio:
            best = f"--workers {workers}"
    return best or "the settings"  # no one option: the defaults themselves are too big


def check_estimate(
    command: str,
    config: Any,
    estimate: Callable[[Any, int], Estimate],
    fields: tuple[str, ...],
    workers: int = 1,
) -> Estimate:
    """`estimate(config, workers)`, or NnhwError when it exceeds the memory or time limit: one
    line naming the option that makes the run too big, the estimate and the limit."""
    est = estimate(config, workers)
    memory = memory_limit()
    if est.memory > memory:
        total = machine_memory()
        of = f" ({MEMORY_SHARE:.0%} of its {format_bytes(total)})" if total else ""
        who = _culprit(config, estimate, fields, workers, "memory")
        raise NnhwError(
            f"{who}: this {command} run would need about {format_bytes(est.memory)} of memory "
            f"(estimate), more than the {format_bytes(memory)} nnhw may use on this "
            f"machine{of}; use smaller settings"
        )
    seconds = time_limit()
    if est.seconds > seconds:
        who = _culprit(config, estimate, fields, workers, "seconds")
        raise NnhwError(
            f"{who}: this {command} run would take about {format_seconds(est.seconds)} of "
            f"computing (estimate), more than the limit of {format_seconds(seconds)}; use "
            f"smaller settings, or raise the limit with {MAX_MINUTES_VARIABLE}=<minutes>"
        )
    return est


def check_size(command: str, config: Any, workers: int = 1) -> Estimate | None:
    """check_estimate with the study's own `estimate` and `SIZE_FIELDS` (its config.py); None
    for a study that defines no estimate."""
    # The study registry only when a run is checked, not when a config is validated
    from nnhw.experiments.runs import studies

    module = studies.load(command).module("config")
    estimate = getattr(module, "estimate", None)
    if estimate is None:
        return None
    return check_estimate(
        command, config, estimate, tuple(getattr(module, "SIZE_FIELDS", ())), max(1, workers)
    )
