"""The settings of `nnhw train`: a frozen dataclass that resolves the task preset and validates.

Contract: `Config(**fields)` takes the options of `nnhw train` by their Python names. A field left
at None takes the value of the task's preset (`core.presets`): the course's regression net
(sine; Linear, ReLU, Linear, identity; MSE) or classification net (moons; Linear, sigmoid,
Linear, sigmoid; MSE). After construction every field a run needs is filled in, so
`config_to_dict(config)` is the complete, resolved setting and reloading it reproduces the run.

Resolution rules:
- task: given, else the task of --dataset, else regression (also for --csv).
- output activation: identity (logits) when the loss is softmax-cross-entropy, else the preset's.
- samples: the preset's for generated datasets; noise None means the dataset's own default.

Every bad value raises NnhwError naming the CLI option ("--lr must be > 0, got -3"), including
incompatible choices: bce needs an output activation with values in (0, 1) and a classification
task, softmax-cross-entropy needs one output per class, --momentum is for sgd only,
--negative-slope for leaky-relu only, --elu-alpha (> 0) for elu only.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from nnhw.core.activations import (
    ACTIVATION_NAMES,
    DEFAULT_ELU_ALPHA,
    DEFAULT_NEGATIVE_SLOPE,
    get_activation,
)
from nnhw.core.data import DATASET_NAMES, TASKS, task_of
from nnhw.core.errors import NnhwError
from nnhw.core.init import INIT_NAMES
from nnhw.core.losses import LOSS_NAMES, REDUCTIONS
from nnhw.core.optim import OPTIMIZER_NAMES
from nnhw.core.presets import PRESETS
from nnhw.experiments.data.prepare import data_shape
from nnhw.experiments.runs.validate import (
    FLOAT_BYTES,
    Estimate,
    check_choice,
    check_float,
    check_int,
    check_positive_ints,
    check_text,
    net_pass,
    option_name,
    training,
)

DTYPES: tuple[str, ...] = ("float32", "float64")
COMMAND = "train"
SOFTMAX_CE = "softmax-cross-entropy"
MAX_SAMPLES = 10_000_000


@dataclass(frozen=True)
class Config:
    """One net, one run. None fields are filled in from the task preset (see module docstring)."""

    task: str | None = None
    dataset: str | None = None
    csv: str | None = None
    target: str | None = None
    activation: str | None = None
    output_activation: str | None = None
    hidden: tuple[int, ...] | None = None
    init: str | None = None
    loss: str | None = None
    reduction: str = "mean"
    optimizer: str | None = None
    lr: float | None = None
    momentum: float = 0.0
    epochs: int | None = None
    batch_size: int | None = None
    test_fraction: float = 0.2
    samples: int | None = None
    noise: float | None = None
    negative_slope: float = DEFAULT_NEGATIVE_SLOPE
    elu_alpha: float = DEFAULT_ELU_ALPHA
    seed: int = 0
    dtype: str = "float64"

    def __post_init__(self) -> None:
        for name, value in _resolve(self).items():
            object.__setattr__(self, name, value)

    @property
    def data_name(self) -> str:
        """The dataset's name, or the CSV file's name."""
        return self.dataset if self.dataset is not None else Path(str(self.csv)).name

    @property
    def classification(self) -> bool:
        return self.task == "classification"


def _resolve(c: Config) -> dict[str, Any]:
    """The resolved field values of c, or NnhwError for the first bad one."""
    r: dict[str, Any] = {f.name: getattr(c, f.name) for f in fields(c)}
    for name in ("task", "dataset", "csv", "target"):
        r[name] = check_text(r[name], name)
    if r["dataset"] is not None and r["csv"] is not None:
        raise NnhwError("--dataset and --csv exclude each other: give one of them")
    if r["csv"] is None:
        if r["target"] is not None:
            raise NnhwError("--target names a column of --csv, but no --csv file was given")
    else:
        if r["target"] is None:
            raise NnhwError(f"--csv {r['csv']} needs --target COLUMN (the column to predict)")
        for name in ("samples", "noise"):
            if r[name] is not None:
                raise NnhwError(f"{option_name(name)} applies to generated datasets, not to --csv")

    if r["task"] is not None:
        r["task"] = check_choice(r["task"], "task", TASKS)
    if r["dataset"] is not None:
        r["dataset"] = check_choice(r["dataset"], "dataset", DATASET_NAMES)
        if r["task"] is None:
            r["task"] = task_of(r["dataset"])
        elif task_of(r["dataset"]) != r["task"]:
            raise NnhwError(
                f"--dataset {r['dataset']} is a {task_of(r['dataset'])} dataset, "
                f"but --task is {r['task']}"
            )
    if r["task"] is None:
        r["task"] = "regression"
    preset = PRESETS[r["task"]]
    if r["csv"] is None and r["dataset"] is None:
        r["dataset"] = preset.dataset

    for name in ("activation", "init", "loss", "optimizer"):
        if r[name] is None:
            r[name] = getattr(preset, name)
    r["activation"] = check_choice(r["activation"], "activation", ACTIVATION_NAMES)
    r["init"] = check_choice(r["init"], "init", INIT_NAMES)
    r["loss"] = check_choice(r["loss"], "loss", LOSS_NAMES)
    r["optimizer"] = check_choice(r["optimizer"], "optimizer", OPTIMIZER_NAMES)
    if r["output_activation"] is None:
        r["output_activation"] = "identity" if r["loss"] == SOFTMAX_CE else preset.output_activation
    r["output_activation"] = check_choice(
        r["output_activation"], "output_activation", ACTIVATION_NAMES
    )
    r["reduction"] = check_choice(r["reduction"], "reduction", REDUCTIONS)
    r["dtype"] = check_choice(r["dtype"], "dtype", DTYPES)

    r["hidden"] = _hidden(preset.hidden if r["hidden"] is None else r["hidden"])
    for name in ("lr", "epochs", "batch_size"):
        if r[name] is None:
            r[name] = getattr(preset, name)
    r["lr"] = check_float(r["lr"], "lr", above=0)
    r["epochs"] = check_int(r["epochs"], "epochs", 1)
    r["batch_size"] = check_int(r["batch_size"], "batch_size", 1)
    r["seed"] = check_int(r["seed"], "seed", 0)
    r["test_fraction"] = check_float(r["test_fraction"], "test_fraction", above=0, below=1)
    if r["csv"] is None:
        samples = preset.n_samples if r["samples"] is None else r["samples"]
        r["samples"] = check_int(samples, "samples", 10, MAX_SAMPLES)
        if r["noise"] is not None:
            r["noise"] = check_float(r["noise"], "noise", at_least=0)

    r["momentum"] = check_float(r["momentum"], "momentum", at_least=0, below=1)
    if r["momentum"] != 0 and r["optimizer"] != "sgd":
        raise NnhwError(f"--momentum applies to --optimizer sgd only, not {r['optimizer']}")
    r["negative_slope"] = check_float(r["negative_slope"], "negative_slope")
    leaky = "leaky-relu" in (r["activation"], r["output_activation"])
    if r["negative_slope"] != DEFAULT_NEGATIVE_SLOPE and not leaky:
        raise NnhwError(
            "--negative-slope applies to leaky-relu only; the net uses "
            f"{r['activation']} and {r['output_activation']}"
        )
    r["elu_alpha"] = check_float(r["elu_alpha"], "elu_alpha", above=0)
    if r["elu_alpha"] != DEFAULT_ELU_ALPHA and "elu" not in (
        r["activation"],
        r["output_activation"],
    ):
        raise NnhwError(
            "--elu-alpha applies to elu only (selu's alpha is fixed); the net uses "
            f"{r['activation']} and {r['output_activation']}"
        )
    _check_loss(r)
    return r


def _hidden(value: Any) -> tuple[int, ...]:
    if isinstance(value, int | str):
        value = (value,)
    return check_positive_ints(value, "hidden", "layer width", distinct=False)


def _check_loss(r: dict[str, Any]) -> None:
    """Incompatible loss / output / task choices."""
    loss, out = r["loss"], r["output_activation"]
    if loss == "bce":
        if r["task"] != "classification":
            raise NnhwError("--loss bce needs 0/1 class targets: use it with --task classification")
        lo, hi = get_activation(out).output_range
        if lo < 0 or hi > 1:
            raise NnhwError(
                f"--loss bce needs outputs in (0, 1) (--output-activation sigmoid); "
                f"{out} outputs range over [{lo:g}, {hi:g}]"
            )
    if loss == SOFTMAX_CE:
        if r["task"] != "classification":
            raise NnhwError(
                "--loss softmax-cross-entropy needs one output per class, but the regression net "
                "has a single output: use --task classification or --loss mse"
            )
        if out != "identity":
            raise NnhwError(
                "--loss softmax-cross-entropy takes logits: use --output-activation identity, "
                f"not {out}"
            )


# The settings that make a run big, for runs.validate.check_size (the one whose default shrinks
# the estimate most is the one the error names).
SIZE_FIELDS = ("samples", "hidden", "epochs", "batch_size")
GRID_ROWS = 120 * 120  # the decision grid (train.compute.GRID_POINTS per axis)


def estimate(config: Config, workers: int = 1) -> Estimate:
    """Peak memory and work of a run (runs.validate): one net trained on the training rows and
    measured after every epoch (runs.validate.training), the decision grid through it, and the
    history table (one row per epoch, a dozen columns per layer)."""
    rows, inputs, outputs = data_shape(config.dataset, config.samples, config.csv)
    n_test = round(rows * config.test_fraction)
    sizes = (inputs, *(config.hidden or ()), outputs)
    epochs = int(config.epochs or 1)
    fit = training(sizes, 1, rows - n_test, int(config.batch_size or 1), epochs, n_test)
    grid = net_pass(sizes, 1, GRID_ROWS)
    history = 3 * FLOAT_BYTES * (epochs + 1) * (10 + 12 * len(sizes))
    data = 4 * FLOAT_BYTES * rows * (inputs + outputs)
    return Estimate(data + fit.memory + grid.memory + history, fit.seconds + grid.seconds)
