"""The registry of computing commands: command name -> the study module that implements it.

Modules are imported on demand, so listing runs or showing help never imports a study.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from core.errors import NnhwError

STUDIES: dict[str, str] = {
    "train": "experiments.train",
    "compare-activations": "experiments.compare_activations",
    "vanishing-gradients": "experiments.vanishing_gradients",
    "softmax-stability": "experiments.softmax_stability",
    "batch-scaling": "experiments.batch_scaling",
    "verify": "experiments.verify",
}


def load(command: str) -> ModuleType:
    """The study module for `command`."""
    if command not in STUDIES:
        raise NnhwError(f"unknown command {command!r}; known: {', '.join(STUDIES)}")
    return importlib.import_module(STUDIES[command])
