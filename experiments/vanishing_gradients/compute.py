"""`nnhw vanishing-gradients`: gradient flow against depth, activation and initialisation, held
against variance-propagation theory (Glorot & Bengio 2010; He et al. 2015). The study's compute
(contract in runs.context); its settings are vanishing_gradients.config.Config.

Three sweeps (runs.sweep), whose cells are in vanishing_gradients.cells:
- "gradients": one cell per activation x init x depth (first axis slowest); the cell's `seeds`
  nets are one ensemble (cells.gradient_cell): MLP [width] * (depth + 1) + [1], hidden
  activation, identity output, MSE on standardised Gaussian inputs of dimension `width` with a
  linear teacher; measured at initialisation over `batches` batches of `batch_size`, then
  trained for `epochs` epochs of SGD at `lr` on those batches.
- "selfnorm": one cell per activation of fits.SELFNORM_ACTIVATIONS (SELU, ELU, ReLU, tanh) with
  LeCun-normal weights at depth `selfnorm_depth`; the cell's `seeds` nets as one ensemble, fed
  `batch_size` x `batches` standardised Gaussian inputs (cells.selfnorm_cell).
- "dead-relu": one cell per width in `widths`: `samples` independent He-normal ReLU nets with zero
  biases, one input each, read at every depth in `depths` (cells.dead_relu_cell).

Tables (the rows of layers, training and dead_relu also carry `cell`, the sweep cell they came
from):
- layers: one row per activation x init x depth x layer (1..depth+1) x seed, at initialisation:
  activation, init, depth, seed (member 0..seeds-1), layer, kind (hidden/output),
  weight_grad_norm (||dL/dW_l||_F), signal_norm (||dL/dz_l|| over batch and units), preact_std
  (std of z_l), act_std (std of a_l; for the output layer, of y_hat); RMS over batches.
- training: activation, init, depth, seed, epoch (0 = at initialisation), layer,
  weight_grad_norm, signal_norm (full-batch gradient after the epoch), train_loss.
- theory: activation, init, depth, layer (hidden), predicted_preact_std, predicted_act_std,
  predicted_signal and predicted_weight_grad (relative to the last hidden layer).
- summary: fitted vs predicted per-layer factors and first/last ratios (vanishing_gradients.fits).
- vanishing: per activation x init at the deepest depth, the signal's fitted and predicted factor,
  first/last ratio and `vanishes` (factor < fits.VANISHING_FACTOR).
- fixed_points: per activation x init, where the variance map leads and the gradient's factor
  there (fits.fixed_point_table); critical: per activation, the weight variance n Var(W) whose
  factor at the fixed point is 1, and the inits that give it (fits.critical_table);
  factor_curve: per activation, that factor against n Var(W) from 0.1 to 10 (fits.factor_curve).
- selfnorm: activation, init, depth, seed, layer, act_mean, act_var (over inputs and units);
  selfnorm_theory: the predicted mean and variance per layer; selfnorm_summary: per activation,
  the drift from (0, 1) at the deepest layer beside the theory and its fixed point, with the
  cut-off tests (fits.selfnorm_summary).
- dead_relu: width, depth, samples, dead (count), dead_fraction, predicted
  (1 - (1 - 2^-width)^depth), std_error (binomial: sqrt(p (1 - p) / samples) at the predicted p),
  z_score ((dead_fraction - predicted) / std_error).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nnhw.experiments.runs.context import Interrupted, RunContext
from nnhw.experiments.runs.sweep import combine, grid, run_sweep
from nnhw.experiments.vanishing_gradients.cells import run_cell
from nnhw.experiments.vanishing_gradients.config import Config
from nnhw.experiments.vanishing_gradients.fits import (
    SELFNORM_ACTIVATIONS,
    SELFNORM_INIT,
    critical_table,
    factor_curve,
    fixed_point_table,
    selfnorm_summary,
    selfnorm_theory,
    summarize,
    theory_table,
    vanishing_cases,
)

if TYPE_CHECKING:
    import pandas as pd


TABLES = (
    "layers", "training", "theory", "summary", "vanishing", "fixed_points", "critical",
    "factor_curve", "selfnorm", "selfnorm_theory", "selfnorm_summary", "dead_relu",
)  # fmt: skip


def gradient_cells(config: Config) -> list[dict[str, Any]]:
    """The cells of the gradient sweep: activation x init x depth, plus the shared settings."""
    shared = {
        "study": "gradients",
        "width": config.width,
        "seeds": config.seeds,
        "batch_size": config.batch_size,
        "batches": config.batches,
        "epochs": config.epochs,
        "lr": config.lr,
    }
    axes = {"activation": config.activations, "init": config.inits, "depth": config.depths}
    return [{**cell, **shared} for cell in grid(axes)]


def selfnorm_cells(config: Config) -> list[dict[str, Any]]:
    """The cells of the self-normalisation check: one per activation it compares."""
    return [
        {"study": "selfnorm", "activation": act, "init": SELFNORM_INIT,
         "depth": config.selfnorm_depth, "width": config.width, "seeds": config.seeds,
         "samples": config.batch_size * config.batches}
        for act in SELFNORM_ACTIVATIONS
    ]  # fmt: skip


def dead_relu_cells(config: Config) -> list[dict[str, Any]]:
    """The cells of the dead-ReLU sweep: one per width."""
    return [
        {"study": "dead-relu", "width": w, "depths": config.depths, "samples": config.samples}
        for w in config.widths
    ]


def compute(config: Config, ctx: RunContext) -> dict[str, pd.DataFrame]:
    """Both sweeps, the theory table and the summary (module docstring)."""
    tables: dict[str, pd.DataFrame] = {}
    try:
        grads = run_sweep(run_cell, gradient_cells(config), ctx, config.seed, name="gradients")
        tables.update(combine(grads))
        norm = run_sweep(run_cell, selfnorm_cells(config), ctx, config.seed, name="selfnorm")
        tables.update(combine(norm))
        dead = run_sweep(run_cell, dead_relu_cells(config), ctx, config.seed, name="dead-relu")
        tables.update(combine(dead))
    except KeyboardInterrupt:
        raise Interrupted(_derived(tables, config)) from None
    return _derived(tables, config)


def _derived(tables: dict[str, pd.DataFrame], config: Config) -> dict[str, pd.DataFrame]:
    """`tables` plus the theory tables and the summaries of what was measured."""
    out = dict(tables)
    out["theory"] = theory_table(config.activations, config.inits, config.depths, config.width)
    if "layers" in out:
        out["summary"] = summarize(out["layers"], out["theory"])
        out["vanishing"] = vanishing_cases(out["summary"])
    out["fixed_points"] = fixed_point_table(config.activations, config.inits, config.width)
    out["critical"] = critical_table(config.activations, config.width)
    out["factor_curve"] = factor_curve(config.activations)
    out["selfnorm_theory"] = selfnorm_theory(config.selfnorm_depth, config.width)
    if "selfnorm" in out:
        out["selfnorm_summary"] = selfnorm_summary(
            out["selfnorm"], out["selfnorm_theory"], config.width
        )
    order = TABLES
    return {name: out[name] for name in order if name in out}
