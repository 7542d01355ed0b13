"""`nnhw compare-activations`: the same net trained with each activation over several seeds.

The study (contract in experiments/context.py): for one task and dataset, one sweep cell per
activation and depth (experiments.sweep; activation-major: relu at every depth, then the next
activation), all seeds of a cell trained as one ensemble
(experiments.compare_activations_cell.activation_cell, where the per-cell tables are described).
Without --depths there is one depth, the architecture of --hidden; with --depths d1,d2,... depth
d has d hidden layers of --hidden's (single) width. The cells of one activation share its random
stream, SeedSequence(root, spawn_key=(activation's position,)), at every depth (common random
numbers: the same data order and first-layer draws), so a depth effect is not seed noise, a cell's
numbers do not depend on which other depths are swept, and `--depths 1 --hidden 64` repeats the
run without --depths bit for bit.
Unset options take the task's preset (core.presets: the course's regression net, Linear, ReLU,
Linear, identity, MSE on sine; or its classification net, Linear, sigmoid, Linear, sigmoid, MSE
on moons); the hidden activation is what varies.

Tables: history, layers, decision_grid / fit_curve, linear_baseline (from the cells, each with
`activation`, `depth` and the sweep's `cell` column); timing
(experiments.compare_activations_summary.time_activations, measured serially in this process
after the sweep, at every depth); points (the test set, for the plots); layer_summary and summary
(one row per activation and depth; compare_activations_summary).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.activations import ACTIVATION_NAMES, DEFAULT_NEGATIVE_SLOPE
from core.data import DATASET_NAMES, TASKS, task_of
from core.errors import NnhwError
from core.init import INIT_NAMES
from core.optim import OPTIMIZER_NAMES
from core.presets import PRESETS
from experiments.compare_activations_report import headline, metrics, report
from experiments.context import Interrupted, RunContext
from experiments.validate import (
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_names,
    check_positive_ints,
)

if TYPE_CHECKING:
    import pandas as pd

COMMAND = "compare-activations"
DEFAULT_ACTIVATIONS = ("relu", "leaky-relu", "tanh", "sigmoid")
# Target training loss per task (on the training scale: standardised targets for regression).
DEFAULT_TARGET_LOSS = {"regression": 0.05, "classification": 0.05}

__all__ = ["COMMAND", "Config", "compute", "figures", "headline", "metrics", "report"]


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
    depths: tuple[int, ...] | None = None
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
        """The deepest net of the study."""
        return max(self.depth_list)

    @property
    def depth_list(self) -> tuple[int, ...]:
        """The depths swept, ascending: --depths, else the one depth of --hidden."""
        assert self.hidden is not None
        return self.depths if self.depths is not None else (len(self.hidden),)

    def hidden_at(self, depth: int) -> tuple[int, ...]:
        """The hidden widths of the net of `depth` hidden layers."""
        assert self.hidden is not None
        return self.hidden if self.depths is None else (self.hidden[0],) * depth


def _resolve(c: Config) -> dict[str, Any]:
    r: dict[str, Any] = dict(c.__dict__)
    if r["dataset"] is not None:
        r["dataset"] = check_choice(r["dataset"], "dataset", DATASET_NAMES)
    if r["task"] is not None:
        r["task"] = check_choice(r["task"], "task", TASKS)
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
    acts = list(check_names(r["activations"], "activations", ACTIVATION_NAMES, "activation"))
    if check_bool(r["include_identity"], "include_identity") and "identity" not in acts:
        acts.append("identity")
    r["activations"] = tuple(acts)
    r["hidden"] = check_positive_ints(r["hidden"], "hidden", "layer width", distinct=False)
    if r["depths"] is not None:
        r["depths"] = tuple(sorted(check_positive_ints(r["depths"], "depths", "depth")))
        if len(set(r["hidden"])) > 1:
            raise NnhwError(
                "--hidden must be one width (or equal widths) when --depths is given, got "
                f"{','.join(map(str, r['hidden']))}"
            )
    r["optimizer"] = check_choice(r["optimizer"], "optimizer", OPTIMIZER_NAMES)
    r["init"] = check_choice(r["init"], "init", INIT_NAMES)
    for name, low in (
        ("seeds", 1),
        ("epochs", 1),
        ("batch_size", 1),
        ("samples", 10),
        ("timing_repeats", 1),
        ("seed", 0),
    ):
        r[name] = check_int(r[name], name, low)
    for name in ("lr", "target_loss"):
        r[name] = check_float(r[name], name, above=0)
    r["negative_slope"] = check_float(r["negative_slope"], "negative_slope", at_least=0, below=1)
    r["bias_shift"] = check_float(r["bias_shift"], "bias_shift")
    return r


def cells(config: Config) -> list[dict[str, Any]]:
    """One sweep cell per activation x depth (activation-major), each carrying every setting its
    training needs; `stream` is the activation's position (its random stream, module docstring)."""
    p = PRESETS[str(config.task)]
    shared = {
        "dataset": config.dataset,
        "samples": config.samples,
        "root_seed": config.seed,
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
    return [
        {"activation": a, "depth": d, "hidden": config.hidden_at(d), "stream": i, **shared}
        for i, a in enumerate(config.activations)
        for d in config.depth_list
    ]


def figures(tables: dict[str, pd.DataFrame], config: Config) -> dict[str, Any]:
    """The study's figures (experiments.compare_activations_figures, which imports Matplotlib
    only now: a parallel sweep imports it in the background while its cells run)."""
    from experiments.compare_activations_figures import figures as draw

    return draw(tables, config)


def compute(config: Config, ctx: RunContext) -> dict[str, pd.DataFrame]:
    """The sweep, the timing, and the summaries (module docstring)."""
    from experiments import compare_activations_summary as summary
    from experiments.compare_activations_cell import activation_cell, cell_cost
    from experiments.sweep import combine, run_sweep

    tables: dict[str, pd.DataFrame] = {}
    try:
        tables["points"] = summary.points_table(config)
        results = run_sweep(
            activation_cell, cells(config), ctx, config.seed, name="activations", cost=cell_cost
        )
        tables.update(combine(results))
        tables["timing"] = summary.time_activations(config, cells(config))
    except KeyboardInterrupt:
        raise Interrupted(summary.derived(tables, config)) from None
    return summary.derived(tables, config)
