"""`nnhw batch-scaling`: how the gradient and the learning rate should scale with the batch size
(contract of `compute` in experiments.runs.context).

The course (homework 1.4(f)) is asked how the learning rate should change as the batch size
grows or shrinks, and answers "increase proportionally": the linear scaling rule (Goyal et al.
2017). The study tests that answer, and the reading of it as a statement about the gradient's
size, as McCandlish et al. (2018, "An empirical model of large-batch training") frame both: the
best rate grows as 1 / (1 + B_noise / B), so the linear rule holds for B << B_noise and saturates
beyond, B_noise being the gradient noise scale (B_simple = tr(Sigma) / |G|^2 measures it).

1. Gradients (experiments.batch_scaling.measure, one sweep cell per phase,
   cells.gradient_cell): the course's preset net and data set for --task, at initialisation and
   after --pretrain-epochs of training; for every batch size B, --minibatches minibatches of B
   distinct examples, each one's gradient with `sum` and `mean` reduction from a real forward and
   backward pass (seed 0's net); per-example gradients give |G|^2, tr(Sigma) and B_simple
   directly, for every seed's net, with a bootstrap over the examples.
2. Fits (experiments.batch_scaling.fits, from the tables only): log-log slopes of |g_B| against B
   in the noise-dominated and the large-batch range; E|g_B|^2 = |G|^2 + tr(Sigma)/B (N-B)/(N-1)
   fitted by weighted least squares, giving B_simple a second way; B_simple over the seeds with
   its 95% CI.
3. Training (experiments.batch_scaling.cells.train_cell, one sweep cell per batch size x
   reduction, its lr rules x the --seeds as one ensemble): plain SGD with the mean loss under a
   fixed rate, the linear rule and the square-root rule (optionally with --warmup-epochs of
   gradual warm-up), and with the summed loss at a fixed rate; per seed and by majority, up to
   which batch size each keeps the loss-per-epoch curve of the smallest batch, and where it
   diverges.

Tables: gradients, noise, noise_seeds, b_simple, fits, slopes (steps 1-2); training_curves,
training_members (one row per cell x seed, with its curve gap), training (one row per cell),
training_breaks (per reduction x lr rule) (step 3); failed_cells when sweep cells failed. The
settings are in batch_scaling.config, the findings in batch_scaling.findings, figures and report
in batch_scaling.figures and batch_scaling.report.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from nnhw.core.presets import PRESETS
from nnhw.experiments.batch_scaling import fits
from nnhw.experiments.batch_scaling.cells import ARMS, gradient_cell, train_cell
from nnhw.experiments.batch_scaling.config import Config, data_source
from nnhw.experiments.runs.context import Interrupted, RunContext
from nnhw.experiments.runs.sweep import SweepResults, combine, run_sweep


def gradient_cells(config: Config) -> list[dict[str, Any]]:
    """One cell per phase."""
    common = {
        "task": config.task, "n_samples": config.samples, "root_seed": config.seed,
        "pretrain_epochs": config.pretrain_epochs, "batch_sizes": list(config.sizes),
        "minibatches": config.minibatches, "seeds": config.seeds, **data_source(config),
    }  # fmt: skip
    return [{"phase": phase, **common} for phase in config.phases]


def training_cells(config: Config) -> list[dict[str, Any]]:
    """One cell per batch size x reduction, with its lr rules (cells.ARMS; canonical order:
    batch size slowest)."""
    common = {
        "task": config.task, "n_samples": config.samples, "root_seed": config.seed,
        "loss": PRESETS[config.task].loss, "seeds": config.seeds, "epochs": config.train_epochs,
        "lr": config.lr, "b_ref": config.sizes[0], "warmup_epochs": config.warmup_epochs,
        **data_source(config),
    }  # fmt: skip
    return [
        {"batch_size": b, "reduction": reduction, "lr_rules": list(rules), **common}
        for b in config.sizes
        for reduction, rules in ARMS.items()
    ]


def failed_table(*results: SweepResults) -> pd.DataFrame:
    """One row per failed cell of the given sweeps."""
    rows = [
        {"sweep": f.sweep, "cell": f.index, "params": repr(f.params), "error": f.error}
        for r in results
        for f in r.failed
    ]
    return pd.DataFrame(rows, columns=["sweep", "cell", "params", "error"])


def gradient_tables(results: SweepResults, config: Config) -> dict[str, pd.DataFrame]:
    """gradients, noise, fits and slopes from the finished phases."""
    tables = combine(results)
    if "noise" not in tables:
        return {}
    grads, noise = tables["gradients"].drop(columns="cell"), tables["noise"].drop(columns="cell")
    out = {
        "gradients": grads,
        "noise": noise,
        "fits": fits.fits_table(grads, noise),
        "slopes": fits.slopes_table(grads, noise, config.regime_factor),
    }
    if "noise_seeds" in tables:
        seeds = tables["noise_seeds"].drop(columns="cell")
        out.update(noise_seeds=seeds, b_simple=fits.b_simple_table(seeds))
    return out


def training_tables(results: SweepResults, config: Config) -> dict[str, pd.DataFrame]:
    """training_curves, training_members, training and training_breaks from the finished cells."""
    tables = combine(results)
    if "training_members" not in tables:
        return {}
    curves, members = tables["training_curves"], tables["training_members"]
    gaps = fits.member_gaps(curves, members, config.curve_factor)
    return {
        "training_curves": curves,
        "training_members": gaps,
        "training": fits.training_summary(curves, members, config.curve_factor),
        "training_breaks": fits.training_breaks(gaps, config.curve_factor),
    }


def compute(config: Config, ctx: RunContext) -> dict[str, pd.DataFrame]:
    """The gradient sweep, then the training sweep; the tables in the module docstring."""
    tables: dict[str, pd.DataFrame] = {}
    try:
        grad = run_sweep(gradient_cell, gradient_cells(config), ctx, config.seed, name="gradients")
        tables.update(gradient_tables(grad, config))
        train = run_sweep(train_cell, training_cells(config), ctx, config.seed, name="training")
        tables.update(training_tables(train, config))
    except KeyboardInterrupt:
        raise Interrupted(tables) from None
    failed = failed_table(grad, train)
    if len(failed):
        tables["failed_cells"] = failed
    return tables
