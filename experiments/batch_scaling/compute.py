"""`nnhw batch-scaling`: how the gradient scales with the batch size, and what that means for
training (the study module; contract in experiments/context.py).

The course (homework 1.4(f)) says the gradient "increases proportionally with batch size". That
holds for a summed loss, and only once the batch is large against the gradient noise scale; for
the mean loss everyone uses, the gradient does not grow: its noise shrinks as 1/B. Measured the
way McCandlish et al. (2018, "An empirical model of large-batch training") do:

1. Gradients (experiments.batch_scaling_measure, one sweep cell per phase): the course's preset
   net and data set for --task, at initialisation and after --pretrain-epochs of training; for
   every batch size B, --minibatches minibatches of B distinct examples, each one's gradient with
   `sum` and `mean` reduction from a real forward and backward pass; per-example gradients give
   |G|^2, tr(Sigma) and B_simple = tr(Sigma) / |G|^2 directly.
2. Fits (experiments.batch_scaling_fits, from the tables only): log-log slopes of |g_B| against B
   in the noise-dominated and the large-batch range; E|g_B|^2 = |G|^2 + tr(Sigma)/B (N-B)/(N-1)
   fitted by weighted least squares, giving B_simple a second way.
3. Training (experiments.batch_scaling_train, one sweep cell per batch size x reduction x lr
   rule, the --seeds as one ensemble): plain SGD at a fixed rate and with the linear scaling rule;
   where each diverges and where the loss-per-epoch curves stop following the reference.

Tables: gradients, noise, fits, slopes (steps 1-2); training_curves, training_members, training
(one row per cell), training_breaks (per reduction x lr rule) (step 3); failed_cells when sweep
cells failed. figures/report/headline are in experiments.batch_scaling_report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from nnhw.core.errors import NnhwError
from nnhw.core.presets import PRESETS
from nnhw.experiments.batch_scaling import fits
from nnhw.experiments.batch_scaling.figures import figures
from nnhw.experiments.batch_scaling.measure import PHASES, gradient_cell
from nnhw.experiments.batch_scaling.report import headline, metrics, report
from nnhw.experiments.batch_scaling.training import LR_RULES, train_cell
from nnhw.experiments.runs.context import Interrupted, RunContext
from nnhw.experiments.runs.sweep import SweepResults, combine, grid, run_sweep
from nnhw.experiments.runs.validate import check_choice, check_float, check_int, check_positive_ints

COMMAND = "batch-scaling"
REDUCTIONS: tuple[str, ...] = ("sum", "mean")

__all__ = ["COMMAND", "Config", "compute", "figures", "headline", "metrics", "report"]


def default_batch_sizes(n_samples: int) -> tuple[int, ...]:
    """1, 2, 4, ... up to N, and N itself when it is not a power of two."""
    sizes = [1 << i for i in range(n_samples.bit_length()) if 1 << i <= n_samples]
    return tuple(sizes if sizes[-1] == n_samples else [*sizes, n_samples])


@dataclass(frozen=True)
class Config:
    """Settings of `nnhw batch-scaling`. batch_sizes () means default_batch_sizes(samples)."""

    task: str = "regression"
    samples: int = 256
    batch_sizes: tuple[int, ...] = ()
    minibatches: int = 500
    pretrain_epochs: int = 20
    train_epochs: int = 20
    lr: float = 0.01
    seeds: int = 3
    regime_factor: float = 4.0
    curve_factor: float = 1.5
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "task", check_choice(self.task, "task", tuple(PRESETS)))
        n = check_int(self.samples, "samples", 4)
        sizes = self.batch_sizes
        if not (isinstance(sizes, tuple | list) and not sizes):  # () means the default sizes
            sizes = check_positive_ints(sizes, "batch_sizes", "batch size", distinct=False)
        for b in sizes:
            if b > n:
                raise NnhwError(
                    f"--batch-sizes: {b} is larger than --samples {n} (a minibatch holds "
                    "distinct examples)"
                )
        sizes = tuple(sorted(set(sizes)))
        if sizes and len(sizes) < 3:
            raise NnhwError(
                f"--batch-sizes needs at least 3 different sizes for the fits, got {len(sizes)}"
            )
        object.__setattr__(self, "batch_sizes", sizes)
        check_int(self.minibatches, "minibatches", 10)
        check_int(self.pretrain_epochs, "pretrain_epochs", 0)
        check_int(self.train_epochs, "train_epochs", 1)
        check_int(self.seeds, "seeds", 1)
        check_int(self.seed, "seed", 0)
        object.__setattr__(self, "lr", check_float(self.lr, "lr", above=0.0))
        for name in ("regime_factor", "curve_factor"):
            object.__setattr__(self, name, check_float(getattr(self, name), name, above=1.0))

    @property
    def sizes(self) -> tuple[int, ...]:
        """The batch sizes of the study, ascending."""
        return self.batch_sizes or default_batch_sizes(self.samples)

    @property
    def phases(self) -> tuple[str, ...]:
        return PHASES if self.pretrain_epochs > 0 else PHASES[:1]


def gradient_cells(config: Config) -> list[dict[str, Any]]:
    """One cell per phase."""
    common = {
        "task": config.task, "n_samples": config.samples, "root_seed": config.seed,
        "pretrain_epochs": config.pretrain_epochs, "batch_sizes": list(config.sizes),
        "minibatches": config.minibatches,
    }  # fmt: skip
    return [{"phase": phase, **common} for phase in config.phases]


def training_cells(config: Config) -> list[dict[str, Any]]:
    """One cell per batch size x reduction x lr rule (canonical order: batch size slowest)."""
    common = {
        "task": config.task, "n_samples": config.samples, "root_seed": config.seed,
        "loss": PRESETS[config.task].loss, "seeds": config.seeds, "epochs": config.train_epochs,
        "lr": config.lr, "b_ref": config.sizes[0],
    }  # fmt: skip
    axes = {"batch_size": config.sizes, "reduction": REDUCTIONS, "lr_rule": LR_RULES}
    return [{**cell, **common} for cell in grid(axes)]


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
    return {
        "gradients": grads,
        "noise": noise,
        "fits": fits.fits_table(grads, noise),
        "slopes": fits.slopes_table(grads, noise, config.regime_factor),
    }


def training_tables(results: SweepResults, config: Config) -> dict[str, pd.DataFrame]:
    """training_curves, training_members, training and training_breaks from the finished cells."""
    tables = combine(results)
    if "training_members" not in tables:
        return {}
    curves, members = tables["training_curves"], tables["training_members"]
    summary = fits.training_summary(curves, members, config.curve_factor)
    return {
        "training_curves": curves,
        "training_members": members,
        "training": summary,
        "training_breaks": fits.training_breaks(summary),
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
