"""Failure thresholds of the softmax formulas, found by bisection, and the theory from np.finfo.

Contract:
- `find_threshold(case, formula, dtype, base, scales)`: the first scale at which the formula's
  output is broken (`measure.broken_rows`), by a scan of the increasing `scales` (which
  stops where the logits leave the dtype's range) and bisection to relative width `BISECT_RTOL`.
- `critical_value(case, x)`: the quantity the theory bounds -- overflow: the largest row
  logsumexp (the naive sum overflows when it passes log(max)); underflow: the smallest row
  maximum (0/0 once every exp of a row rounds to 0).
- `theory(kind, dtype)`: overflow log(finfo.max); underflow log(smallest_subnormal / 2) -- with
  round-to-nearest exp(x) rounds to 0 below half the smallest subnormal, ln 2 below
  log(smallest_subnormal).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nnhw.core import softmax as cs
from nnhw.experiments.softmax_stability.measure import (
    CASE_KIND,
    Base,
    apply_formula,
    broken_rows,
    case_logits,
)

BISECT_RTOL = 1e-12  # bisection stops when (hi - lo) <= BISECT_RTOL * hi


@dataclass(frozen=True)
class Threshold:
    """Bisection result: the last scale that works and the first that fails (NaN when it never
    fails up to `checked`, the largest representable scale of the scan); `critical` is the
    quantity the theory predicts at the first failing scale (see `critical_value`)."""

    last_ok: float
    first_fail: float
    critical: float
    checked: float

    @property
    def fails(self) -> bool:
        return not math.isnan(self.first_fail)


def theory(kind: str, dtype: str) -> float:
    """Where exp leaves the dtype's range: overflow log(max), underflow log(min_subnormal / 2)."""
    info = np.finfo(dtype)
    if kind == "overflow":
        return math.log(float(info.max))
    return math.log(float(info.smallest_subnormal)) - math.log(2.0)


THEORY_EXPRESSION = {"overflow": "log(finfo.max)", "underflow": "log(finfo.smallest_subnormal / 2)"}


def critical_value(case: str, x: np.ndarray) -> float:
    """What the theory bounds: overflow -- the largest row logsumexp (the naive sum overflows
    when it passes log(max)); underflow -- the smallest row maximum (0/0 once every exp of a row
    rounds to 0). Computed in float64 from the rounded logits x."""
    x64 = x.astype(np.float64)
    if CASE_KIND[case] == "overflow":
        return float(cs.logsumexp(x64).max())
    return float(x64.max(axis=-1).min())


def _fails(case: str, formula: str, dtype: str, base: Base, scale: float) -> bool | None:
    x = case_logits(case, base, scale, dtype)
    if x is None:
        return None
    log_space = formula == "log-softmax"
    out = apply_formula(formula, x)
    # float64 stable value rounded to the dtype: accurate enough to tell finite from overflow
    x64 = x.astype(np.float64)
    expected = _rounded(cs.log_softmax(x64) if log_space else cs.softmax(x64), dtype)
    return bool(broken_rows(out, expected, log_space).any())


def find_threshold(
    case: str, formula: str, dtype: str, base: Base, scales: np.ndarray, rtol: float = BISECT_RTOL
) -> Threshold:
    """First failing scale of `formula` on `case` in `dtype`: scan the increasing `scales`
    (stopping where logits leave the dtype's range), then bisect the bracketing interval."""
    last_ok = checked = float("nan")
    first_fail = float("nan")
    for s in (float(v) for v in scales):
        verdict = _fails(case, formula, dtype, base, s)
        if verdict is None:
            break
        checked = s
        if verdict:
            first_fail = s
            break
        last_ok = s
    if math.isnan(first_fail):
        return Threshold(last_ok, first_fail, float("nan"), checked)
    if not math.isnan(last_ok):
        lo, hi = last_ok, first_fail
        while hi - lo > rtol * hi:
            mid = 0.5 * (lo + hi)
            if _fails(case, formula, dtype, base, mid):
                hi = mid
            else:
                lo = mid
        last_ok, first_fail = lo, hi
    x = case_logits(case, base, first_fail, dtype)
    assert x is not None  # representability only shrinks as the scale grows
    return Threshold(last_ok, first_fail, critical_value(case, x), checked)


def _rounded(values: np.ndarray, dtype: str) -> np.ndarray:
    with np.errstate(over="ignore", under="ignore"):
        return values.astype(dtype)
