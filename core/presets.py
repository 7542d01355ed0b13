"""The course's two nets (homework sections 1.2 and 1.3) as presets.

- regression: Linear, ReLU, Linear, identity, MSE, on the 1-D `sine` data.
- classification: Linear, sigmoid, Linear, sigmoid, MSE (the course's choice; BCE selectable),
  on `moons`.

The training settings are chosen so that the defaults learn in about a second: test R^2 >= 0.95
on sine, test accuracy >= 0.95 on moons.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import NnhwError


@dataclass(frozen=True)
class Preset:
    task: str
    dataset: str
    activation: str
    output_activation: str
    loss: str
    hidden: tuple[int, ...]
    init: str
    optimizer: str
    lr: float
    epochs: int
    batch_size: int
    n_samples: int


_TRAINING = {
    "init": "standard", "optimizer": "adam", "lr": 0.01, "epochs": 100, "batch_size": 32,
    "n_samples": 1000,
}  # fmt: skip
PRESETS: dict[str, Preset] = {
    "regression": Preset(
        "regression",
        "sine",
        "relu",
        "identity",
        "mse",
        (64,),
        **_TRAINING,  # type: ignore[arg-type]
    ),
    "classification": Preset(
        "classification",
        "moons",
        "sigmoid",
        "sigmoid",
        "mse",
        (64,),
        **_TRAINING,  # type: ignore[arg-type]
    ),
}


def get_preset(task: str) -> Preset:
    key = task.lower()
    if key not in PRESETS:
        raise NnhwError(f"unknown task {task!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[key]
