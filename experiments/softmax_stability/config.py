"""The settings of `nnhw softmax-stability`: `COMMAND` and the frozen `Config` dataclass, validated
on construction (errors name the CLI option). `Config.scales` is the swept grid of scales; the
study itself is described in softmax_stability.compute, its dtypes, formulas and cases in
softmax_stability.measure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nnhw.core.errors import NnhwError
from nnhw.experiments.runs.validate import check_int, check_names
from nnhw.experiments.softmax_stability import measure as sm

COMMAND = "softmax-stability"
SCALE_LIMITS = (1e-30, 1e30)  # past every overflow threshold; keeps the plots' log axes sane


@dataclass(frozen=True)
class Config:
    """The sweep: which dtypes, formulas and cases, over which scales, on how many logits."""

    dtypes: tuple[str, ...] = sm.DTYPES
    formulas: tuple[str, ...] = sm.FORMULAS
    cases: tuple[str, ...] = sm.CASES
    scale_min: float = 1e-2
    scale_max: float = 1e5
    points: int = 29
    classes: int = 10
    rows: int = 8
    seed: int = 0

    def __post_init__(self) -> None:
        for name, known, what in (
            ("dtypes", sm.DTYPES, "dtype"),
            ("formulas", sm.FORMULAS, "formula"),
            ("cases", sm.CASES, "case"),
        ):
            object.__setattr__(self, name, check_names(getattr(self, name), name, known, what))
        for option, value in (("--scale-min", self.scale_min), ("--scale-max", self.scale_max)):
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            if (
                not ok
                or not math.isfinite(value)
                or not SCALE_LIMITS[0] <= value <= SCALE_LIMITS[1]
            ):
                raise NnhwError(f"{option} must be a number from 1e-30 to 1e30, got {value!r}")
        if self.scale_min >= self.scale_max:
            raise NnhwError(
                f"--scale-min must be below --scale-max, got {self.scale_min!r} >= "
                f"{self.scale_max!r}"
            )
        check_int(self.points, "points", 2, 10_000)
        check_int(self.classes, "classes", 2, 10_000)
        check_int(self.rows, "rows", 1, 10_000)
        check_int(self.seed, "seed", 0, 2**63 - 1)

    @property
    def scales(self) -> np.ndarray:
        """The swept scales, log-spaced from scale_min to scale_max inclusive."""
        return np.logspace(math.log10(self.scale_min), math.log10(self.scale_max), self.points)
