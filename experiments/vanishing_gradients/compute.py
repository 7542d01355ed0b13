"""`nnhw vanishing-gradients`: gradient flow against depth, activation and initialisation, held
against variance-propagation theory (Glorot & Bengio 2010; He et al. 2015).

Two sweeps (experiments.sweep):
- "gradients": one cell per activation x init x depth (first axis slowest); the cell's `seeds`
  nets are one ensemble (experiments.gradient_flow.gradient_cell): MLP [width] * (depth + 1) + [1],
  hidden activation, identity output, MSE on standardised Gaussian inputs of dimension `width`
  with a linear teacher; measured at initialisation over `batches` batches of `batch_size`, then
  trained for `epochs` epochs of SGD at `lr` on those batches.
- "dead-relu": one cell per width in `widths`: `samples` independent He-normal ReLU nets with zero
  biases, one input each, read at every depth in `depths` (gradient_flow.dead_relu_cell).

Tables (each row also carries `cell`, the sweep cell it came from, except theory and summary):
- layers: one row per activation x init x depth x layer (1..depth+1) x seed, at initialisation:
  activation, init, depth, seed (member 0..seeds-1), layer, kind (hidden/output),
  weight_grad_norm (||dL/dW_l||_F), signal_norm (||dL/dz_l|| over batch and units), preact_std
  (std of z_l), act_std (std of a_l; for the output layer, of y_hat); RMS over batches.
- training: activation, init, depth, seed, epoch (0 = at initialisation), layer,
  weight_grad_norm, signal_norm (full-batch gradient after the epoch), train_loss.
- theory: activation, init, depth, layer (hidden), predicted_preact_std, predicted_act_std,
  predicted_signal and predicted_weight_grad (relative to the last hidden layer).
- summary: fitted vs predicted per-layer factors and first/last ratios (gradient_factors).
- vanishing: per activation x init at the deepest depth, the signal's fitted and predicted factor,
  first/last ratio and `vanishes` (factor < gradient_factors.VANISHING_FACTOR).
- dead_relu: width, depth, samples, dead (count), dead_fraction, predicted
  (1 - (1 - 2^-width)^depth), std_error (binomial: sqrt(p (1 - p) / samples) at the predicted p),
  z_score ((dead_fraction - predicted) / std_error).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nnhw.core.activations import ACTIVATION_NAMES
from nnhw.core.errors import NnhwError
from nnhw.core.init import INIT_NAMES
from nnhw.experiments.runs.context import Interrupted, RunContext
from nnhw.experiments.runs.sweep import combine, grid, run_sweep
from nnhw.experiments.runs.validate import check_float, check_int, check_names, check_positive_ints
from nnhw.experiments.vanishing_gradients import cells as gradient_flow
from nnhw.experiments.vanishing_gradients import fits as gradient_factors

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure
    from nnhw.experiments.reporting.report import Report

COMMAND = "vanishing-gradients"
STUDY_INITS = tuple(name for name in INIT_NAMES if name != "zero")


@dataclass(frozen=True)
class Config:
    """Settings of `nnhw vanishing-gradients` (field = CLI option with - for _)."""

    depths: tuple[int, ...] = (1, 2, 4, 8, 16)
    width: int = 64
    activations: tuple[str, ...] = ("relu", "leaky-relu", "tanh", "sigmoid")
    inits: tuple[str, ...] = ("standard", "xavier-normal", "he-normal")
    seeds: int = 5
    batch_size: int = 32
    batches: int = 4
    epochs: int = 5
    lr: float = 0.01
    widths: tuple[int, ...] = (1, 2, 4, 8)
    samples: int = 2000
    seed: int = 0

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "depths", check_positive_ints(self.depths, "depths", "depth"))
        set_(self, "widths", check_positive_ints(self.widths, "widths", "width"))
        set_(
            self,
            "activations",
            check_names(self.activations, "activations", ACTIVATION_NAMES, "activation"),
        )
        if isinstance(self.inits, tuple | list) and any(
            isinstance(v, str) and v.lower() == "zero" for v in self.inits
        ):
            raise NnhwError(
                "--inits: 'zero' leaves every hidden gradient exactly 0 (no flow to "
                f"measure); choose from {', '.join(STUDY_INITS)}"
            )
        set_(self, "inits", check_names(self.inits, "inits", STUDY_INITS, "init"))
        for name in ("width", "seeds", "batch_size", "batches", "epochs", "samples"):
            set_(self, name, check_int(getattr(self, name), name, 1))
        set_(self, "seed", check_int(self.seed, "seed", 0))
        set_(self, "lr", check_float(self.lr, "lr", above=0))


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
        grads = run_sweep(
            gradient_flow.run_cell, gradient_cells(config), ctx, config.seed, name="gradients"
        )
        tables.update(combine(grads))
        dead = run_sweep(
            gradient_flow.run_cell, dead_relu_cells(config), ctx, config.seed, name="dead-relu"
        )
        tables.update(combine(dead))
    except KeyboardInterrupt:
        raise Interrupted(_derived(tables, config)) from None
    return _derived(tables, config)


def _derived(tables: dict[str, pd.DataFrame], config: Config) -> dict[str, pd.DataFrame]:
    """`tables` plus theory and (when the layers table exists) summary."""
    out = dict(tables)
    out["theory"] = gradient_factors.theory_table(
        config.activations, config.inits, config.depths, config.width
    )
    if "layers" in out:
        out["summary"] = gradient_factors.summarize(out["layers"], out["theory"])
        out["vanishing"] = gradient_factors.vanishing_cases(out["summary"])
    order = ("layers", "training", "theory", "summary", "vanishing", "dead_relu")
    return {name: out[name] for name in order if name in out}


def figures(tables: dict[str, pd.DataFrame], config: Config) -> dict[str, Figure]:
    from nnhw.experiments.vanishing_gradients.figures import make_figures

    return make_figures(tables, config)


def report(tables: dict[str, pd.DataFrame], config: Config) -> Report:
    from nnhw.experiments.vanishing_gradients.report import make_report

    return make_report(tables, config)


def headline(tables: dict[str, pd.DataFrame]) -> str:
    from nnhw.experiments.vanishing_gradients.report import make_headline

    return make_headline(tables)


def metrics(tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    from nnhw.experiments.vanishing_gradients.report import metrics as _metrics

    return _metrics(tables)
