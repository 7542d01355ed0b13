"""The course's two nets (homework sections 1.2 and 1.3) as presets.

- regression: Linear, ReLU, Linear, identity, MSE, on the 1-D `sine` data.
- classification: Linear, sigmoid, Linear, sigmoid, MSE (the course's choice; BCE selectable),
  on `moons`.

The training settings are chosen so that the defaults learn in about a second: test R^2 >= 0.95
on sine (plain SGD), test accuracy >= 0.95 on moons (Adam).
"""

from __future__ import annotations

from dataclasses import dataclass

from nnhw.core.errors import NnhwError


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


PRESETS: dict[str, Preset] = {
    # Plain SGD, the course's update rule: lr 0.05 fits the sine in 100 epochs, and a too-large
    # rate (e.g. 1e3) diverges at once, which is what the divergence diagnostics are for.
    "regression": Preset(
        task="regression", dataset="sine", activation="relu", output_activation="identity",
        loss="mse", hidden=(64,), init="standard", optimizer="sgd", lr=0.05, epochs=100,
        batch_size=32, n_samples=1000,
    ),
    # Sigmoid units with MSE learn slowly under plain SGD (the gradient is damped twice by
    # sigma' <= 1/4); Adam reaches the moons' boundary in 100 epochs.
    "classification": Preset(
        task="classification", dataset="moons", activation="sigmoid", output_activation="sigmoid",
        loss="mse", hidden=(64,), init="standard", optimizer="adam", lr=0.01, epochs=100,
        batch_size=32, n_samples=1000,
    ),
}  # fmt: skip


def get_preset(task: str) -> Preset:
    key = task.lower()
    if key not in PRESETS:
        raise NnhwError(f"unknown task {task!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[key]
