"""The settings of `nnhw compare-activations`: a frozen dataclass that resolves the task preset
and validates (the study itself is described in compare_activations.compute), and `estimate`,
the memory and work of its settings (runs.validate.check_size refuses what the machine cannot
hold).

Data: a generated --dataset of --samples points, or a --csv file with a --target column (every
row; --samples is for generated data only). The task stays the command's default
(classification) unless --task or --dataset says otherwise. A --batch-size larger than the
training rows is refused; the preset's default (32) is clamped to them instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnhw.core.activations import (
    ACTIVATION_NAMES,
    DEFAULT_ELU_ALPHA,
    DEFAULT_NEGATIVE_SLOPE,
    expand_all,
)
from nnhw.core.data import DATASET_NAMES, TASKS, task_of
from nnhw.core.errors import NnhwError
from nnhw.core.init import INIT_NAMES
from nnhw.core.optim import OPTIMIZER_NAMES
from nnhw.core.presets import PRESETS
from nnhw.experiments.data.prepare import data_shape
from nnhw.experiments.runs.validate import (
    FLOAT_BYTES,
    Estimate,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_names,
    check_positive_ints,
    check_text,
    net_pass,
    training,
)

COMMAND = "compare-activations"
TEST_FRACTION = 0.2  # of the data held out for testing
DEFAULT_ACTIVATIONS = ("relu", "leaky-relu", "tanh", "sigmoid")
# Target training loss per task (on the training scale: standardised targets for regression).
DEFAULT_TARGET_LOSS = {"regression": 0.05, "classification": 0.05}


@dataclass(frozen=True)
class Config:
    """Settings of `nnhw compare-activations` (field = CLI option with - for _). None fields take
    the task preset's value; after construction every field is resolved."""

    task: str | None = None
    dataset: str | None = None
    csv: str | None = None
    target: str | None = None
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
    elu_alpha: float = DEFAULT_ELU_ALPHA
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

    @property
    def data_name(self) -> str:
        """The dataset's name, or the CSV file's name."""
        return str(self.dataset) if self.csv is None else Path(self.csv).name

    def hidden_at(self, depth: int) -> tuple[int, ...]:
        """The hidden widths of the net of `depth` hidden layers."""
        assert self.hidden is not None
        return self.hidden if self.depths is None else (self.hidden[0],) * depth


def _resolve(c: Config) -> dict[str, Any]:
    r: dict[str, Any] = dict(c.__dict__)
    check_data_source(r)
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
    batch_given = r["batch_size"] is not None
    for name, default in (
        ("dataset", None if r["csv"] is not None else p.dataset),
        ("hidden", p.hidden),
        ("epochs", p.epochs),
        ("lr", p.lr),
        ("optimizer", p.optimizer),
        ("batch_size", p.batch_size),
        ("init", p.init),
        ("samples", None if r["csv"] is not None else p.n_samples),
        ("target_loss", DEFAULT_TARGET_LOSS[r["task"]]),
    ):
        if r[name] is None:
            r[name] = default
    names = expand_all(r["activations"])
    acts = list(check_names(names, "activations", ACTIVATION_NAMES, "activation"))
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
        ("timing_repeats", 1),
        ("seed", 0),
    ):
        r[name] = check_int(r[name], name, low)
    if r["csv"] is None:
        r["samples"] = check_int(r["samples"], "samples", 10)
        n_train = training_rows(r["samples"])
        if not batch_given:
            r["batch_size"] = min(r["batch_size"], n_train)  # the preset's 32 on a tiny data set
        check_batch(r["batch_size"], n_train, f"--samples {r['samples']}")
    for name in ("lr", "target_loss"):
        r[name] = check_float(r[name], name, above=0)
    r["negative_slope"] = check_float(r["negative_slope"], "negative_slope", at_least=0, below=1)
    r["elu_alpha"] = check_float(r["elu_alpha"], "elu_alpha", above=0)
    if r["elu_alpha"] != DEFAULT_ELU_ALPHA and "elu" not in acts:
        raise NnhwError(
            f"--elu-alpha applies to elu only (selu's alpha is fixed), which --activations "
            f"({','.join(acts)}) does not include"
        )
    r["bias_shift"] = check_float(r["bias_shift"], "bias_shift")
    return r


def check_data_source(r: dict[str, Any]) -> None:
    """--dataset or --csv with --target, and --samples only for generated data."""
    for name in ("csv", "target"):
        r[name] = check_text(r[name], name)
    if r["dataset"] is not None and r["csv"] is not None:
        raise NnhwError("--dataset and --csv exclude each other: give one of them")
    if r["csv"] is None and r["target"] is not None:
        raise NnhwError("--target names a column of --csv, but no --csv file was given")
    if r["csv"] is not None:
        if r["target"] is None:
            raise NnhwError(f"--csv {r['csv']} needs --target COLUMN (the column to predict)")
        if r["samples"] is not None:
            raise NnhwError("--samples applies to generated datasets, not to --csv")


def training_rows(n_samples: int) -> int:
    """The training rows of a data set of `n_samples` (TEST_FRACTION held out)."""
    return n_samples - round(n_samples * TEST_FRACTION)


def check_batch(batch_size: int, n_train: int, data: str) -> None:
    """A minibatch is at most the training set: a larger --batch-size is refused (the preset's
    default is clamped to the training set instead)."""
    if batch_size > n_train:
        raise NnhwError(
            f"--batch-size {batch_size} is larger than the {n_train} training rows of {data} "
            f"({TEST_FRACTION:.0%} held out for testing); use at most {n_train}"
        )


# The settings that make a run big, for runs.validate.check_size (the one whose default shrinks
# the estimate most is the one the error names).
SIZE_FIELDS = (
    "samples", "seeds", "hidden", "depths", "epochs", "batch_size", "activations",
    "timing_repeats",
)  # fmt: skip
GRID_ROWS = 60 * 60  # the decision grid of a cell (cells.GRID_POINTS per axis)
_TABLE_COLUMNS = (8, 12)  # of a history row, and of a layers row (per weight layer)


def estimate(config: Config, workers: int = 1) -> Estimate:
    """Peak memory and work of a run (runs.validate): per cell, all seeds as one ensemble
    trained on the training rows (runs.validate.training), the decision grid through the
    ensemble and the cell's history and layers tables; beside the `workers` cells in flight,
    the data and every cell's tables gathered in this process (three copies: the cells', the
    combined and the summarised tables, as DataFrames and CSV text). The timing repeats a
    forward and backward pass of every cell's net `timing_repeats` times (twice per round)."""
    rows, inputs, outputs = data_shape(config.dataset, config.samples, config.csv)
    n_test = round(rows * TEST_FRACTION)
    n_train = rows - n_test
    E, epochs = int(config.seeds), int(config.epochs or 1)
    cells, seconds, tables = 0, 0.0, 0.0
    biggest = 0.0
    for depth in config.depth_list:
        sizes = (inputs, *config.hidden_at(depth), outputs)
        train = training(sizes, E, n_train, int(config.batch_size or 1), epochs, n_test)
        grid = net_pass(sizes, E, GRID_ROWS) if inputs == 2 else Estimate(0.0, 0.0)
        rows_per_cell = E * (epochs + 1)
        table = FLOAT_BYTES * rows_per_cell * (_TABLE_COLUMNS[0] + _TABLE_COLUMNS[1] * depth)
        timing = net_pass(sizes, E, n_train)
        n = len(config.activations)
        cells += n
        seconds += n * (train.seconds + grid.seconds + 2 * config.timing_repeats * timing.seconds)
        tables += n * table
        biggest = max(biggest, train.memory + grid.memory + table, timing.memory)
    data = FLOAT_BYTES * rows * (inputs + outputs) * 4
    memory = data + biggest * min(max(1, workers), cells) + 3 * tables
    return Estimate(memory, seconds)
