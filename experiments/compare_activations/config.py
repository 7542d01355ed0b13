"""The settings of `nnhw compare-activations`: a frozen dataclass that resolves the task preset
and validates (the study itself is described in compare_activations.compute)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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
from nnhw.experiments.runs.validate import (
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_names,
    check_positive_ints,
)

if TYPE_CHECKING:
    pass

COMMAND = "compare-activations"
DEFAULT_ACTIVATIONS = ("relu", "leaky-relu", "tanh", "sigmoid")
# Target training loss per task (on the training scale: standardised targets for regression).
DEFAULT_TARGET_LOSS = {"regression": 0.05, "classification": 0.05}


@dataclass(frozen=True)
class Config:
    """Settings of `nnhw compare-activations` (field = CLI option with - for _). None fields take
    the task preset's value; after construction every field is resolved."""

    task: str | None = None
    dataset: str | None = None
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
    elu_alpha: float = DEFAULT_ELU_ALPHA
        """The depths swept, ascending: --depths, else the one depth of --hidden."""
        assert self.hidden is not None
        return self.depths if self.depths is not None else (len(self.hidden),)

    def hidden_at(self, depth: int) -> tuple[int, ...]:
        """The hidden widths of the net of `depth` hidden layers."""
        assert self.hidden is not None
        return self.hidden if self.depths is None else (self.hidden[0],) * depth


def _resolve(c: Config) -> dict[str, Any]:
    r: dict[str, Any] = dict(c.__dict__)
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
    for name, default in (
        ("dataset", p.dataset),
        ("hidden", p.hidden),
        ("epochs", p.epochs),
        ("lr", p.lr),
        ("optimizer", p.optimizer),
        ("batch_size", p.batch_size),
        ("init", p.init),
        ("samples", p.n_samples),
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
        ("samples", 10),
        ("timing_repeats", 1),
        ("seed", 0),
    ):
        r[name] = check_int(r[name], name, low)
    for name in ("lr", "target_loss"):
        r[name] = check_float(r[name], name, above=0)
    r["negative_slope"] = check_float(r["negative_slope"], "negative_slope", at_least=0, below=1)
    r["bias_shift"] = check_float(r["bias_shift"], "bias_shift")
    return r
    r["elu_alpha"] = check_float(r["elu_alpha"], "elu_alpha", above=0)
    if r["elu_alpha"] != DEFAULT_ELU_ALPHA and "elu" not in acts:
        raise NnhwError(
            f"--elu-alpha applies to elu only (selu's alpha is fixed), which --activations "
            f"({','.join(acts)}) does not include"
        )
