"""`nnhw compare-activations`: the same net trained with each activation over several seeds.

The study (contract in experiments/context.py): for one task and dataset, one sweep cell per
activation (experiments.sweep), all seeds of an activation trained as one ensemble
(experiments.compare_activations_cell.activation_cell, where the per-cell tables are described).
Unset options take the task's preset (core.presets: the course's regression net, Linear, ReLU,
Linear, identity, MSE on sine; or its classification net, Linear, sigmoid, Linear, sigmoid, MSE
on moons); the hidden activation is what varies.

Tables: history, layers, decision_grid / fit_curve, linear_baseline (from the cells, each with
the sweep's `cell` column); timing (experiments.compare_activations_summary.time_activations,
measured in this process after the sweep); points (the test set, for the plots); layer_summary
and summary (one row per activation; compare_activations_summary).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.activations import ACTIVATION_NAMES, DEFAULT_NEGATIVE_SLOPE
from core.data import DATASET_NAMES, TASKS, task_of
from core.errors import NnhwError
from core.init import INIT_NAMES
from core.optim import OPTIMIZER_NAMES
from core.presets import PRESETS
from experiments.compare_activations_figures import figures
from experiments.compare_activations_report import headline, metrics, report
from experiments.context import Interrupted, RunContext

if TYPE_CHECKING:
    import pandas as pd

COMMAND = "compare-activations"
DEFAULT_ACTIVATIONS = ("relu", "leaky-relu", "tanh", "sigmoid")
# Target training loss per task (on the training scale: standardised targets for regression).
DEFAULT_TARGET_LOSS = {"regression": 0.05, "classification": 0.05}

__all__ = ["COMMAND", "Config", "compute", "figures", "headline", "metrics", "report"]


def _option(field: str) -> str:
    return "--" + field.replace("_", "-")


def _int(value: Any, field: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise NnhwError(f"{_option(field)} must be an integer >= {low}, got {value!r}")
    return int(value)


def _float(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise NnhwError(f"{_option(field)} must be a finite number, got {value!r}")
    return float(value)


def _choice(value: Any, field: str, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value.lower() not in choices:
        raise NnhwError(f"{_option(field)}: {value!r} is not one of {', '.join(choices)}")
    return value.lower()


@dataclass(frozen=True)
class Config:
    """Settings of `nnhw compare-activations` (field = CLI option with - for _). None fields take
    the task preset's value; after construction every field is resolved."""

    task: str | None = None
    dataset: str | None = None
    activations: tuple[str, ...] = DEFAULT_ACTIVATIONS
    include_identity: bool = False
    seeds: int = 5
    hidden: tuple[int, ...] | None = None
    epochs: int | None = None
    lr: float | None = None
    optimizer: str | None = None
    batch_size: int | None = None
    init: str | None = None
    samples: int | None = None
    target_loss: float | None = None
    negative_slope: float = DEFAULT_NEGATIVE_SLOPE
    bias_shift: float = 0.0
    timing_repeats: int = 15
    seed: int = 0

    def __post_init__(self) -> None:
        for name, value in _resolve(self).items():
            object.__setattr__(self, name, value)

    @property
    def depth(self) -> int:
        assert self.hidden is not None
        return len(self.hidden)


def _resolve(c: Config) -> dict[str, Any]:
    r: dict[str, Any] = dict(c.__dict__)
    if r["dataset"] is not None:
        r["dataset"] = _choice(r["dataset"], "dataset", DATASET_NAMES)
    if r["task"] is not None:
        r["task"] = _choice(r["task"], "task", TASKS)
        if r["dataset"] is not None and task_of(r["dataset"]) != r["task"]:
            raise NnhwError(
                f"--dataset {r['dataset']} is a {task_of(r['dataset'])} dataset, "
                f"but --task is {r['task']}"
            )
    else:
        r["task"] = task_of(r["dataset"]) if r["dataset"] is not None else "classification"
    p = PRESETS[r["task"]]
    for name, default in (
        ("dataset", p.dataset),
        ("hidden", p.hidden),
        ("epochs", p.epochs),
        ("lr", p.lr),
        ("optimizer", p.optimizer),
        ("batch_size", p.batch_size),
        ("init", p.init),
        ("samples", p.n_samples),
        ("target_loss", DEFAULT_TARGET_LOSS[r["task"]]),
    ):
        if r[name] is None:
            r[name] = default
    acts = r["activations"]
    if isinstance(acts, str) or not isinstance(acts, tuple | list) or not acts:
        raise NnhwError(f"--activations needs at least one activation, got {acts!r}")
    acts = [_choice(a, "activations", ACTIVATION_NAMES) for a in acts]
    if len(set(acts)) != len(acts):
        raise NnhwError(f"--activations: each activation once, got {', '.join(acts)}")
    if not isinstance(r["include_identity"], bool):
        raise NnhwError(f"--include-identity must be true or false, got {r['include_identity']!r}")
    if r["include_identity"] and "identity" not in acts:
        acts.append("identity")
    r["activations"] = tuple(acts)
    hidden = r["hidden"]
    if isinstance(hidden, str) or not isinstance(hidden, tuple | list) or not hidden:
        raise NnhwError(f"--hidden needs at least one layer width, got {hidden!r}")
    r["hidden"] = tuple(_int(h, "hidden", 1) for h in hidden)
    r["optimizer"] = _choice(r["optimizer"], "optimizer", OPTIMIZER_NAMES)
    r["init"] = _choice(r["init"], "init", INIT_NAMES)
    for name, low in (
        ("seeds", 1),
        ("epochs", 1),
        ("batch_size", 1),
        ("samples", 10),
        ("timing_repeats", 1),
        ("seed", 0),
    ):
        r[name] = _int(r[name], name, low)
    for name in ("lr", "target_loss", "negative_slope", "bias_shift"):
        r[name] = _float(r[name], name)
    for name in ("lr", "target_loss"):
        if r[name] <= 0:
            raise NnhwError(f"{_option(name)} must be > 0, got {r[name]!r}")
    if not 0 <= r["negative_slope"] < 1:
        raise NnhwError(f"--negative-slope must be in [0, 1), got {r['negative_slope']!r}")
    return r


def cells(config: Config) -> list[dict[str, Any]]:
    """One sweep cell per activation, each carrying every setting its training needs."""
    p = PRESETS[str(config.task)]
    shared = {
        "dataset": config.dataset,
        "samples": config.samples,
        "root_seed": config.seed,
        "hidden": config.hidden,
        "output_activation": p.output_activation,
        "loss": p.loss,
        "init": config.init,
        "optimizer": config.optimizer,
        "lr": config.lr,
        "epochs": config.epochs,
        "batch_size": config.batch_size,
        "seeds": config.seeds,
        "negative_slope": config.negative_slope,
        "bias_shift": config.bias_shift,
    }
    return [{"activation": a, **shared} for a in config.activations]


def compute(config: Config, ctx: RunContext) -> dict[str, pd.DataFrame]:
    """The sweep, the timing, and the summaries (module docstring)."""
    from experiments import compare_activations_summary as summary
    from experiments.compare_activations_cell import activation_cell
    from experiments.sweep import combine, run_sweep

    tables: dict[str, pd.DataFrame] = {}
    try:
        tables["points"] = summary.points_table(config)
        results = run_sweep(activation_cell, cells(config), ctx, config.seed, name="activations")
        tables.update(combine(results))
        tables["timing"] = summary.time_activations(config, cells(config))
    except KeyboardInterrupt:
        raise Interrupted(summary.derived(tables, config)) from None
    return summary.derived(tables, config)
