"""The settings of `nnhw batch-scaling`: `COMMAND` and a frozen dataclass that validates (the
study itself is described in experiments.batch_scaling.compute).

Contract: `Config(**fields)` takes the options of `nnhw batch-scaling` by their Python names; every
bad value raises NnhwError naming the CLI option. Batch sizes are sorted and deduplicated, each at
most --samples (a minibatch holds distinct examples), at least 3 of them (for the fits); () means
`default_batch_sizes(samples)`: 1, 2, 4, ... up to N, and N. `config.sizes` is the resolved list,
`config.phases` the gradient phases measured (PHASES; "init" only without pretraining).
`warmup_epochs` (>= 0, at most --train-epochs) is the gradual warm-up of the scaled learning
rates (experiments.batch_scaling.cells); `seeds` nets are trained per cell and measured per phase.
"""

from __future__ import annotations

from dataclasses import dataclass

from nnhw.core.errors import NnhwError
from nnhw.core.presets import PRESETS
from nnhw.experiments.runs.validate import check_choice, check_float, check_int, check_positive_ints

COMMAND = "batch-scaling"
# The phases of the gradient measurement: at initialisation, and after --pretrain-epochs (a
# phase's position keys its minibatch stream, experiments.batch_scaling.cells.gradient_cell).
PHASES: tuple[str, ...] = ("init", "trained")


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
    seeds: int = 5
    regime_factor: float = 4.0
    curve_factor: float = 1.5
    warmup_epochs: float = 0.0
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
        warmup = check_float(self.warmup_epochs, "warmup_epochs", at_least=0.0)
        if warmup > self.train_epochs:
            raise NnhwError(
                f"--warmup-epochs: {warmup:g} is longer than the training (--train-epochs "
                f"{self.train_epochs})"
            )
        object.__setattr__(self, "warmup_epochs", warmup)

    @property
    def sizes(self) -> tuple[int, ...]:
        """The batch sizes of the study, ascending."""
        return self.batch_sizes or default_batch_sizes(self.samples)

    @property
    def phases(self) -> tuple[str, ...]:
        return PHASES if self.pretrain_epochs > 0 else PHASES[:1]
