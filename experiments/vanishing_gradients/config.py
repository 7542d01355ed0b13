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
from nnhw.experiments.runs.validate import check_float, check_int, check_names, check_positive_ints

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
            check_names(
                expand_all(self.activations), "activations", ACTIVATION_NAMES, "activation"
            ),
    selfnorm_depth: int = 32
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
