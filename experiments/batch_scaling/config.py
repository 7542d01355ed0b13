"""The settings of `nnhw batch-scaling`: `COMMAND` and a frozen dataclass that validates (the
study itself is described in experiments.batch_scaling.compute).

Contract: `Config(**fields)` takes the options of `nnhw batch-scaling` by their Python names; every
bad value raises NnhwError naming the CLI option. Batch sizes are sorted and deduplicated, each at
most --samples (a minibatch holds distinct examples), at least 3 of them (for the fits); () means
`default_batch_sizes(samples)`: 1, 2, 4, ... up to N, and N. `config.sizes` is the resolved list,
`config.phases` the gradient phases measured (PHASES; "init" only without pretraining).
Data: the preset's generated data set of --samples points (default DEFAULT_SAMPLES), or --samples
rows drawn from a --csv file with a --target column (default: every row; experiments.data.prepare.
sampled_table), inputs and regression targets standardised.
`warmup_epochs` (>= 0, at most --train-epochs) is the gradual warm-up of the scaled learning
rates (experiments.batch_scaling.cells); `seeds` nets are trained per cell and measured per phase.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnhw.core.errors import NnhwError
from nnhw.core.presets import PRESETS
from nnhw.experiments.data.csvfile import read_csv
from nnhw.experiments.data.prepare import data_shape
from nnhw.experiments.runs.validate import (
    FLOAT_BYTES,
    MULTIPLY_ADDS_PER_SECOND,
    STEP_SECONDS,
    Estimate,
    check_choice,
    check_float,
    check_int,
    check_positive_ints,
    check_text,
    net_params,
    net_pass,
    training,
)

COMMAND = "batch-scaling"
DEFAULT_SAMPLES = 256
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
    csv: str | None = None
    target: str | None = None
    samples: int | None = None
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
        object.__setattr__(self, "samples", _samples(self))
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
    def data_name(self) -> str:
        """The preset's dataset, or the CSV file's name."""
        return PRESETS[self.task].dataset if self.csv is None else Path(self.csv).name

    @property
    def sizes(self) -> tuple[int, ...]:
        """The batch sizes of the study, ascending."""
        return self.batch_sizes or default_batch_sizes(self.samples)

    @property
    def phases(self) -> tuple[str, ...]:
        return PHASES if self.pretrain_epochs > 0 else PHASES[:1]


def _samples(c: Config) -> int:
    """--samples resolved: DEFAULT_SAMPLES for generated data; with --csv, every data row of the
    file unless given (the file is read here, once, when the run is set up; a saved run's
    config.toml holds the number, so rebuilding its report never reads the file)."""
    for name in ("csv", "target"):
        check_text(getattr(c, name), name)
    if c.csv is None:
        if c.target is not None:
            raise NnhwError("--target names a column of --csv, but no --csv file was given")
        return DEFAULT_SAMPLES if c.samples is None else c.samples
    if c.target is None:
        raise NnhwError(f"--csv {c.csv} needs --target COLUMN (the column to predict)")
    if c.samples is not None:
        return c.samples
    return read_csv(c.csv, c.target, c.task).n_samples


def data_source(settings: Any) -> dict[str, Any]:
    """The --csv settings of a Config or of a cell's params, {} for generated data (so the cells
    of a generated run keep the params they always had)."""
    get = settings.get if isinstance(settings, dict) else (lambda k: getattr(settings, k, None))
    return {} if get("csv") is None else {"csv": get("csv"), "target": get("target")}


# The settings that make a run big, for runs.validate.check_size (the one whose default shrinks
# the estimate most is the one the error names).
SIZE_FIELDS = (
    "samples", "batch_sizes", "minibatches", "seeds", "pretrain_epochs", "train_epochs",
)  # fmt: skip
LR_RULE_COUNT = 3  # training members per seed: len(cells.LR_RULES) (fixed, linear, sqrt)
BOOTSTRAP_RESAMPLES = 200  # cells.BOOTSTRAP_REPLICATES
_SORT_SECONDS = 5e-9  # per element and log2(N): drawing minibatches (measure.sample_minibatches)


def estimate(config: Config, workers: int = 1) -> Estimate:
    """Peak memory and work of a run (runs.validate). Gradient cells (one per phase): the seeds'
    nets pretrained as one ensemble; per batch size B, --minibatches minibatches drawn by
    sorting a (minibatches, N) random matrix and one pass over their M x B examples; per seed
    the (N, P) per-example gradients and their bootstrap (200 resamples: a (200, N) weight
    matrix times them). Training cells (per B and reduction) the seeds x lr rules as one
    ensemble for --train-epochs. Beside the `workers` cells in flight, the data and the tables."""
    preset = PRESETS[str(config.task)]
    N = int(config.samples)
    _, inputs, outputs = data_shape(preset.dataset, N, config.csv)
    sizes = (inputs, *preset.hidden, outputs)
    P, E = net_params(sizes), int(config.seeds)
    log_n = max(1.0, math.log2(max(N, 2)))
    seconds, biggest, cells = 0.0, 0.0, 0
    for phase in config.phases:
        epochs = config.pretrain_epochs if phase != "init" else 0
        pre = training(sizes, E, N, preset.batch_size, epochs)
        memory, work = pre.memory, pre.seconds
        for B in config.sizes:
            M = int(config.minibatches)
            draw = Estimate(2 * FLOAT_BYTES * M * N, M * N * log_n * _SORT_SECONDS)
            chunk = net_pass(sizes, 1, min(M * B, 1 << 16))
            passes = net_pass(sizes, 1, M * B, elementwise=1.5)
            memory = max(memory, draw.memory + chunk.memory + FLOAT_BYTES * M * B)
            work += draw.seconds + passes.seconds + M * STEP_SECONDS
        R = BOOTSTRAP_RESAMPLES
        per_example = FLOAT_BYTES * (N * (P + R) + R * P)
        work += E * (net_pass(sizes, 1, N).seconds + R * N * P / MULTIPLY_ADDS_PER_SECOND)
        biggest = max(biggest, memory + per_example)
        seconds += work
        cells += 1
    members = E * LR_RULE_COUNT
    for B in config.sizes:
        for _reduction in ("sum", "mean"):
            train = training(sizes, members, N, B, int(config.train_epochs))
            biggest = max(biggest, train.memory)
            seconds += train.seconds
            cells += 1
    tables = 3 * FLOAT_BYTES * 10 * members * len(config.sizes) * 2 * (config.train_epochs + 1)
    data = FLOAT_BYTES * N * (inputs + outputs) * 4
    return Estimate(data + tables + biggest * min(max(1, workers), cells), seconds)
