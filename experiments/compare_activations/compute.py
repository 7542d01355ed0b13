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

from typing import TYPE_CHECKING, Any

from nnhw.core.presets import PRESETS
from nnhw.experiments.compare_activations import summary
from nnhw.experiments.compare_activations.cells import activation_cell, cell_cost
from nnhw.experiments.compare_activations.config import Config
from nnhw.experiments.runs.context import Interrupted, RunContext
from nnhw.experiments.runs.sweep import combine, run_sweep

if TYPE_CHECKING:
    import pandas as pd


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


def compute(config: Config, ctx: RunContext) -> dict[str, pd.DataFrame]:
    """The sweep, the timing, and the summaries (module docstring)."""
    tables: dict[str, pd.DataFrame] = {}
    # ELU's alpha only in ELU's cells: the other cells (and their stored results) stay as they were
    alpha = {"elu_alpha": config.elu_alpha}
    try:
        tables["points"] = summary.points_table(config)
        | (alpha if a == "elu" else {})
        results = run_sweep(
            activation_cell, cells(config), ctx, config.seed, name="activations", cost=cell_cost
        )
        tables.update(combine(results))
        tables["timing"] = summary.time_activations(config, cells(config))
    except KeyboardInterrupt:
        raise Interrupted(summary.derived(tables, config)) from None
    return summary.derived(tables, config)
