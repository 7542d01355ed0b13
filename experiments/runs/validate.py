"""Checks for the fields of the studies' config dataclasses, shared by every `Config.__post_init__`.

Contract: each `check_*(value, field, ...)` returns the value normalised (int, float, lower-case
name, tuple) or raises NnhwError with one line that names the CLI option of `field`
(`option_name`: batch_size -> --batch-size) and what was received, e.g.
"--lr must be > 0, got -3". bool is never accepted as a number (True is an int in Python).
Names are matched case-insensitively, as the CLI's parse_list does, and returned lower-case.
"""

from __future__ import annotations

import math
from typing import Any

from nnhw.core.errors import NnhwError


def option_name(field: str) -> str:
    """The CLI option of a config field: batch_size -> --batch-size."""
    return "--" + field.replace("_", "-")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_int(value: Any, field: str, minimum: int, maximum: int | None = None) -> int:
    """An integer in [minimum, maximum] (no upper bound when maximum is None)."""
    if maximum is None:
        if not _is_int(value) or value < minimum:
            raise NnhwError(f"{option_name(field)} must be an integer >= {minimum}, got {value!r}")
    elif not _is_int(value) or not minimum <= value <= maximum:
        raise NnhwError(
            f"{option_name(field)} must be an integer from {minimum} to {maximum}, got {value!r}"
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
    name = option_name(field)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise NnhwError(f"{name} must be a finite number, got {value!r}")
    too_low = (above is not None and value <= above) or (at_least is not None and value < at_least)
    if too_low or (below is not None and value >= below):
        if below is None:
            bound = f"> {above:g}" if above is not None else f">= {at_least:g}"
        elif above is None and at_least is None:
            bound = f"< {below:g}"
        else:
            low = f"({above:g}" if above is not None else f"[{at_least:g}"
            bound = f"in {low}, {below:g})"
        raise NnhwError(f"{name} must be {bound}, got {value!r}")
    return float(value)


def check_choice(value: Any, field: str, choices: tuple[str, ...]) -> str:
    """One of `choices` (case-insensitive), lower-case."""
    if not isinstance(value, str) or value.lower() not in choices:
        raise NnhwError(f"{option_name(field)}: {value!r} is not one of {', '.join(choices)}")
    return value.lower()


def _sequence(value: Any, name: str, what: str, hint: str = "") -> None:
    if not isinstance(value, tuple | list):
        raise NnhwError(f"{name} must be a list of {what}s, got {value!r}")
    if not value:
        raise NnhwError(f"{name} needs at least one {what}{hint}, got {value!r}")


def _once(items: list[Any], name: str, what: str) -> None:
    if len(set(items)) != len(items):
        raise NnhwError(f"{name}: each {what} once, got {', '.join(map(str, items))}")


def check_names(value: Any, field: str, choices: tuple[str, ...], what: str) -> tuple[str, ...]:
    """A non-empty list of distinct names from `choices` (each a `what`), lower-case."""
    _sequence(value, option_name(field), what, f" ({', '.join(choices)})")
    out = [check_choice(v, field, choices) for v in value]
    _once(out, option_name(field), what)
    return tuple(out)


def check_positive_ints(
    value: Any, field: str, what: str, *, distinct: bool = True
) -> tuple[int, ...]:
    """A non-empty list of integers >= 1 (each a `what`), distinct unless distinct=False."""
    name = option_name(field)
    _sequence(value, name, what)
    for v in value:
        if not _is_int(v) or v < 1:
            raise NnhwError(f"{name}: every {what} must be an integer >= 1, got {v!r}")
    out = [int(v) for v in value]
    if distinct:
        _once(out, name, what)
    return tuple(out)


def check_bool(value: Any, field: str) -> bool:
    """True or False (not 0/1, not a string)."""
    if not isinstance(value, bool):
        raise NnhwError(f"{option_name(field)} must be true or false, got {value!r}")
    return value
