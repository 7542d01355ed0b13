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
from nnhw.experiments.runs.validate import (
    FLOAT_BYTES,
    BadValueError,
    Estimate,
    check_int,
    check_names,
)
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
        for field, value in (("scale_min", self.scale_min), ("scale_max", self.scale_max)):
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            if (
                not ok
                or not math.isfinite(value)
                or not SCALE_LIMITS[0] <= value <= SCALE_LIMITS[1]
            ):
                raise BadValueError(field, f"must be a number from 1e-30 to 1e30, got {value!r}")
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


# The settings that make a run big, for runs.validate.check_size (the one whose default shrinks
# the estimate most is the one the error names).
SIZE_FIELDS = ("rows", "classes", "points", "dtypes", "formulas", "cases")
_SECONDS = 2.0  # start-up of the study (reference precision, tables)
_ELEMENT_SECONDS = 5e-6  # per logit of one evaluation: the exact (mpmath) reference dominates
_BISECTION_STEPS = 50  # evaluations per formula of a threshold search (softmax_stability.cells)
_ARRAYS = 24  # float64 arrays of the logits' shape alive at once (inputs, outputs, errors, ...)


def estimate(config: Config, workers: int = 1) -> Estimate:
    """Peak memory and work of a run (runs.validate), fitted to runs from 3 s to 30 s: every
    case x dtype cell evaluates its rows x classes logits at each of --points scales and in the
    threshold bisection of each formula, each evaluation against the exact reference; the
    temperature table adds --points exact rows. Memory: the cell's arrays of rows x classes
    floats in flight on `workers` processes, and the sweep and cross-entropy tables."""
    cells = len(config.cases) * len(config.dtypes)
    logits = config.rows * config.classes
    evaluations = config.points + _BISECTION_STEPS * len(config.formulas)
    seconds = _SECONDS + _ELEMENT_SECONDS * (
        cells * logits * evaluations + config.points * config.classes
    )
    per_cell = FLOAT_BYTES * _ARRAYS * logits
    tables = 3 * FLOAT_BYTES * 20 * cells * config.points * (len(config.formulas) + 3)
    return Estimate(per_cell * min(max(1, workers), cells) + tables, seconds)
