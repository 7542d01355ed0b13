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
(experiments.compare_activations.summary.time_activations, measured serially in this process
after the sweep, at every depth, in NumPy and, when installed, PyTorch, whose import starts in the
background when the study does); points (the test set, for the plots); layer_summary and summary
(one row per activation and depth; compare_activations_summary); classes (classification on a
--csv file: label, the file's name for it, count; data.prepare.classes_table).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nnhw.core.presets import PRESETS
from nnhw.experiments import timing
from nnhw.experiments.compare_activations import summary
from nnhw.experiments.compare_activations.cells import (
    activation_cell,
    cell_cost,
    config_data,
    data_source,
)
from nnhw.experiments.compare_activations.config import Config
from nnhw.experiments.data.prepare import classes_table
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
        **data_source(config),
    }
    # ELU's alpha only in ELU's cells: the other cells (and their stored results) stay as they were
    alpha = {"elu_alpha": config.elu_alpha}
    return [
        {"activation": a, "depth": d, "hidden": config.hidden_at(d), "stream": i, **shared}
        | (alpha if a == "elu" else {})
        for i, a in enumerate(config.activations)
        for d in config.depth_list
    ]


def compute(config: Config, ctx: RunContext) -> dict[str, pd.DataFrame]:
    """The sweep, the timing, and the summaries (module docstring)."""
    tables: dict[str, pd.DataFrame] = {}
    data: dict[str, pd.DataFrame] = {}  # the class names of a --csv file (cat, dog), if any
    classes = None if config.csv is None else classes_table(config_data(config).dataset)
    if classes is not None:
        data["classes"] = classes
    timing.start_torch_import()  # seconds of import, overlapped with the sweep (timing needs it)
    try:
        tables["points"] = summary.points_table(config)
        results = run_sweep(
            activation_cell, cells(config), ctx, config.seed, name="activations", cost=cell_cost
        )
        tables.update(combine(results))
        bar = ctx.progress("timing", None)  # seconds of repeated timings after the sweep
        try:
            tables["timing"] = summary.time_activations(config, cells(config))
        finally:
            bar.close()
    except KeyboardInterrupt:
        raise Interrupted({**summary.derived(tables, config), **data}) from None
    return {**summary.derived(tables, config), **data}
