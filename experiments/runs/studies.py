"""The registry of computing commands: command name -> the study that implements it.

Every study is a subpackage of nnhw.experiments with the same files, each holding one role:
- `config.py`: `COMMAND` and the frozen, validated `Config` dataclass;
- `compute.py`: `compute(config, ctx) -> dict[str, DataFrame]` (contract in runs.context);
- `cells.py`: the module-level sweep-cell functions that worker processes import (sweeps only);
- `findings.py`: the findings and verdicts, from the tables alone;
- `figures.py`: `figures(tables, config) -> dict[str, Figure]`, from the tables alone;
- `report.py`: `report(tables, config)`, `headline(tables)`, and the optional `metrics(tables)`,
  `status(tables)` and `check(tables, config)` hooks;
plus what is a study's own (`theory.py`, `fits.py`, ...).

`load(command)` returns a `Study` that imports each role module on first use, so listing runs or
showing help imports no study, a worker process that runs cells never imports Matplotlib, and the
figures are imported only when drawn.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from nnhw.core.errors import NnhwError

STUDIES: dict[str, str] = {
    "train": "nnhw.experiments.train",
    "compare-activations": "nnhw.experiments.compare_activations",
    "vanishing-gradients": "nnhw.experiments.vanishing_gradients",
    "softmax-stability": "nnhw.experiments.softmax_stability",
    "batch-scaling": "nnhw.experiments.batch_scaling",
    "verify": "nnhw.experiments.verify",
}

# The attribute of a study -> the role module that defines it.
ROLES: dict[str, str] = {
    "COMMAND": "config",
    "Config": "config",
    "compute": "compute",
    "figures": "figures",
    "report": "report",
    "headline": "report",
    "metrics": "report",
    "status": "report",
    "check": "report",
}


class Study:
    """One study, its role modules imported on first use: `study.Config`, `study.compute(...)`,
    `study.figures(...)`, ... (`hasattr(study, "metrics")` says whether an optional hook exists)."""

    def __init__(self, command: str, package: str) -> None:
        self.command = command
        self.package = package

    def module(self, role: str) -> ModuleType:
        """The role module (a study written as one module, as the tests' toy studies are, plays
        every role itself)."""
        base = importlib.import_module(self.package)
        if not hasattr(base, "__path__"):
            return base
        return importlib.import_module(f"{self.package}.{role}")

    def __getattr__(self, name: str) -> Any:
        role = ROLES.get(name)
        if role is None or name.startswith("__"):
            raise AttributeError(name)
        try:
            return getattr(self.module(role), name)
        except AttributeError:
            raise AttributeError(f"{self.package}.{role} has no {name}") from None

    def __repr__(self) -> str:
        return f"Study({self.command!r}, {self.package!r})"


def load(command: str) -> Study:
    """The study for `command`."""
    if command not in STUDIES:
        raise NnhwError(f"unknown command {command!r}; known: {', '.join(STUDIES)}")
    return Study(command, STUDIES[command])
