"""The settings of `nnhw vanishing-gradients`: a frozen dataclass that validates every field (the
study itself is described in vanishing_gradients.compute).

`STUDY_INITS` are the initialisers the study accepts: every core initialiser but `zero`, which
leaves every hidden gradient exactly 0 and so gives no flow to measure. `--activations all` means
every activation but identity (core.activations.NONLINEAR_ACTIVATIONS). `selfnorm_depth` is the
depth of the self-normalisation check (SELU, ELU, ReLU and tanh with LeCun-normal weights).
"""

from __future__ import annotations

from dataclasses import dataclass

from nnhw.core.activations import ACTIVATION_NAMES, expand_all
from nnhw.core.errors import NnhwError
from nnhw.core.init import INIT_NAMES
from nnhw.experiments.runs.validate import (
    FLOAT_BYTES,
    STEP_SECONDS,
    Estimate,
    check_float,
    check_int,
    check_names,
    check_positive_ints,
    net_pass,
    training,
)

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
    selfnorm_depth: int = 32
    seed: int = 0

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "depths", check_positive_ints(self.depths, "depths", "depth"))
        set_(self, "widths", check_positive_ints(self.widths, "widths", "width"))
        set_(
            self,
            "activations",
            check_names(
                expand_all(self.activations), "activations", ACTIVATION_NAMES, "activation"
            ),
        )
        if isinstance(self.inits, tuple | list) and any(
            isinstance(v, str) and v.lower() == "zero" for v in self.inits
        ):
            raise NnhwError(
                "--inits: 'zero' leaves every hidden gradient exactly 0 (no flow to "
                f"measure); choose from {', '.join(STUDY_INITS)}"
            )
        set_(self, "inits", check_names(self.inits, "inits", STUDY_INITS, "init"))
        for name in ("width", "seeds", "batch_size", "batches", "epochs", "samples",
                     "selfnorm_depth"):  # fmt: skip
            set_(self, name, check_int(getattr(self, name), name, 1))
        set_(self, "seed", check_int(self.seed, "seed", 0))
        set_(self, "lr", check_float(self.lr, "lr", above=0))


# The settings that make a run big, for runs.validate.check_size (the one whose default shrinks
# the estimate most is the one the error names).
SIZE_FIELDS = (
    "depths", "width", "seeds", "batch_size", "batches", "epochs", "samples", "widths",
    "selfnorm_depth", "activations", "inits",
)  # fmt: skip
_RANDOM_SECONDS = 2e-8  # per weight drawn (a dead-ReLU net is drawn, used once and dropped)
_SEED_BYTES = 400  # a SeedSequence and its generator per dead-ReLU net, held for the cell


def estimate(config: Config, workers: int = 1) -> Estimate:
    """Peak memory and work of a run (runs.validate): per gradient cell (activation x init x
    depth) the `seeds` nets trained as one ensemble on batch_size x batches examples, measured
    once more at initialisation, and its layers and training tables; the self-normalisation
    cells alike at `selfnorm_depth`; per dead-ReLU width, `samples` one-input nets of the
    deepest depth drawn in chunks (vanishing_gradients.cells.DEAD_CHUNK_PARAMS weights each).
    Beside the `workers` cells in flight, every table gathered in this process (three copies)."""
    E, w, n = int(config.seeds), int(config.width), int(config.batch_size * config.batches)
    grads = len(config.activations) * len(config.inits)
    cells, seconds, tables, biggest = 0, 0.0, 0.0, 0.0
    for depth in (*config.depths, config.selfnorm_depth):
        sizes = (w,) * (depth + 1) + (1,)
        train = training(sizes, E, n, int(config.batch_size), int(config.epochs))
        train += net_pass(sizes, E, n, elementwise=2.0)
        table = FLOAT_BYTES * E * (depth + 1) * (10 + 8 * (config.epochs + 1))
        count = grads if depth != config.selfnorm_depth else 4  # fits.SELFNORM_ACTIVATIONS
        cells += count
        seconds += count * train.seconds
        tables += count * table
        biggest = max(biggest, train.memory + table)
    deepest = max(config.depths)
    for width in config.widths:
        weights = config.samples * deepest * width * width
        seconds += weights * _RANDOM_SECONDS + config.samples * deepest * STEP_SECONDS / 10
        memory = config.samples * (_SEED_BYTES + FLOAT_BYTES * width) + 3 * 16e6  # 2e6 weights
        biggest = max(biggest, memory)
        cells += 1
    return Estimate(biggest * min(max(1, workers), cells) + 3 * tables, seconds)
