"""The measurements behind `nnhw softmax-stability`: formulas, input cases, an exact reference,
per-point metrics and failure thresholds (Blanchard, Higham & Higham 2021).

Contract:
- `FORMULAS`: "naive" exp(x)/sum exp(x); "max-shifted" exp(x-m)/sum exp(x-m), m = max x;
  "exp-logsumexp" exp(x - logsumexp(x)); "log-softmax" x - logsumexp(x), which is measured in log
  space against the exact log-softmax. `apply_formula(formula, x)` keeps the dtype of `x` and
  never warns (overflow is deliberate, so it runs inside `np.errstate`).
- `CASES`, each a function of a scale s > 0 and a fixed draw `Base` (`draw_base`):
  "random" z*s; "outlier" z with one entry per row set to s; "shifted-down" z - max(z) - s (every
  row's largest logit is exactly -s); "temperature" z/T with T = 1/s (z drawn separately).
  z ~ N(0, 1), shape (rows, classes); the draw of a case depends only on (seed, case), never on
  which other cases run. `case_logits(case, base, s, dtype)` rounds to `dtype`; it returns None
  when a logit is not representable there (|x| > finfo.max, e.g. s > 65504 in float16).
- `exact_reference(x)`: softmax and log-softmax of the (rounded) logits at 50 significant digits
  with mpmath, returned as double-double pairs (hi + lo), so errors of float64 results are exact
  enough to count in ulps. Rows are cached by value.
- `measure(formula, x, ref)`: a dict of the point's metrics (see `METRICS`).
- `broken_rows(out, expected, log_space)`: rows with NaN, an inf where the exact result is
  finite, or probabilities summing off 1 by more than BROKEN_SUM (as when a naive sum overflows
  and every output becomes 0). Thresholds are in softmax_stability.theory.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import mpmath
import numpy as np

from nnhw.core import softmax as sm

FORMULAS = ("naive", "max-shifted", "exp-logsumexp", "log-softmax")
FORMULA_EXPRESSIONS = {
    "naive": "exp(x) / sum(exp(x))",
    "max-shifted": "exp(x - max x) / sum(exp(x - max x))",
    "exp-logsumexp": "exp(x - logsumexp(x))",
    "log-softmax": "x - logsumexp(x) (log space)",
}
DTYPES = ("float16", "float32", "float64")
CASES = ("random", "outlier", "shifted-down", "temperature")
CASE_KIND = {
    "random": "overflow",
    "outlier": "overflow",
    "shifted-down": "underflow",
    "temperature": "overflow",
}
DPS = 50  # decimal digits of the mpmath reference
BROKEN_SUM = 0.5  # a row whose probabilities sum off 1 by more than this has lost its meaning
METRICS = (
    "nan_fraction",  # outputs that are NaN
    "inf_fraction",  # outputs that are +-inf
    "zero_fraction",  # outputs exactly 0 (for log-softmax: log p == 0)
    "exact_zero_fraction",  # exact results that round to 0 in the dtype (unavoidable zeros)
    "broken_fraction",  # rows with NaN, spurious inf, or a sum off 1 by > BROKEN_SUM
    "sums_to_one",  # rows whose probabilities sum to 1 within classes * u
    "max_sum_error_ulps",  # max |sum p - 1| in units of eps of the dtype
    "argmax_agreement",  # rows whose output's argmax is a largest logit (NaN rows disagree)
    "max_abs_error",
    "max_rel_error",  # over entries whose exact value is a normal number of the dtype
    "max_ulp_error",  # |out - exact| / spacing(exact rounded to dtype); inf for NaN/inf output
    "max_prob_ulp_error",  # max_ulp_error of the probabilities: for log-softmax, of exp(out)
    "onehot_distance",  # max over rows of sum |p - onehot(argmax x)|
    "exact_onehot_distance",
    "condition",  # 1 + max |x_i - max x| over entries whose exact p is normal (see below)
)


@dataclass(frozen=True)
class Base:
    """One case's fixed draw: z (rows, classes) ~ N(0, 1), the outlier's column per row (rows,)
    and a class label per row (rows,) for the cross-entropy."""

    z: np.ndarray
    hot: np.ndarray
    labels: np.ndarray


@dataclass(frozen=True)
class Reference:
    """Exact softmax (p) and log-softmax (logp) as double-double pairs, each (rows, classes)."""

    p_hi: np.ndarray
    p_lo: np.ndarray
    logp_hi: np.ndarray
    logp_lo: np.ndarray


def apply_formula(formula: str, x: np.ndarray) -> np.ndarray:
    """`formula` applied to logits x (rows, classes), in x's dtype, without warnings."""
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        if formula == "naive":
            return sm.softmax_naive(x)
        if formula == "max-shifted":
            return sm.softmax(x)
        if formula == "exp-logsumexp":
            return np.exp(x - sm.logsumexp(x, keepdims=True))
        if formula == "log-softmax":
            return sm.log_softmax(x)
    raise ValueError(f"unknown formula {formula!r}")


def draw_base(case: str, rows: int, classes: int, seed: int) -> Base:
    """The fixed draw of `case`: a Generator on SeedSequence(seed, spawn_key=(case index,))."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(CASES.index(case),)))
    z = rng.standard_normal((rows, classes))
    return Base(z, rng.integers(classes, size=rows), rng.integers(classes, size=rows))


def logits64(case: str, base: Base, scale: float) -> np.ndarray:
    """The case's logits at `scale`, in float64 before rounding to a dtype."""
    z = base.z
    if case in ("random", "temperature"):
        return z * scale
    if case == "outlier":
        x = z.copy()
        x[np.arange(len(z)), base.hot] = scale
        return x
    if case == "shifted-down":
        return z - z.max(axis=-1, keepdims=True) - scale
    raise ValueError(f"unknown case {case!r}")


def case_logits(case: str, base: Base, scale: float, dtype: str) -> np.ndarray | None:
    """The logits rounded to `dtype`, or None when one is beyond the dtype's range."""
    with np.errstate(over="ignore"):
        x = logits64(case, base, scale).astype(dtype)
    return x if np.isfinite(x).all() else None


@functools.cache
def _exp(v: float) -> mpmath.mpf:
    return mpmath.exp(mpmath.mpf(v))


@functools.cache
def _row_reference(row: tuple[float, ...]) -> tuple[tuple[float, float, float, float], ...]:
    """(p_hi, p_lo, logp_hi, logp_lo) per entry of one row of exactly represented logits."""
    with mpmath.workdps(DPS):
        e = [_exp(v) for v in row]
        total = mpmath.fsum(e)
        lse = mpmath.log(total)
        out = []
        for v, ev in zip(row, e):
            p, logp = ev / total, mpmath.mpf(v) - lse
            p_hi, logp_hi = float(p), float(logp)
            out.append((p_hi, float(p - p_hi), logp_hi, float(logp - logp_hi)))
    return tuple(out)


def exact_reference(x: np.ndarray) -> Reference:
    """Exact softmax and log-softmax of x (rows, classes), any float dtype (read exactly)."""
    x64 = x.astype(np.float64)
    parts = np.array([_row_reference(tuple(row.tolist())) for row in x64])  # (rows, classes, 4)
    return Reference(parts[..., 0], parts[..., 1], parts[..., 2], parts[..., 3])


def _round(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    with np.errstate(over="ignore", under="ignore"):
        return values.astype(dtype)


def broken_rows(out: np.ndarray, expected: np.ndarray, log_space: bool) -> np.ndarray:
    """Rows with NaN, an inf where the expected (exact, rounded) result is finite, or a sum of
    probabilities off 1 by more than BROKEN_SUM. out, expected: (rows, classes) in the dtype."""
    o = out.astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        p = np.exp(o) if log_space else o
        total = p.sum(axis=-1)
    spurious_inf = np.isinf(o) & np.isfinite(expected)
    return (
        np.isnan(o).any(axis=-1) | spurious_inf.any(axis=-1) | ~(np.abs(total - 1.0) <= BROKEN_SUM)
    )


def errors(out: np.ndarray, hi: np.ndarray, lo: np.ndarray) -> tuple[np.ndarray, ...]:
    """Errors of `out` (any float dtype) against the exact hi + lo (float64 pairs), all shaped as
    `out`: absolute, in ulps (|out - exact| / spacing(exact rounded to out's dtype); a NaN or a
    wrong inf counts as inf, an inf equal to the rounded exact value as 0), and relative (NaN
    where the exact value is not a normal number of the dtype)."""
    o = out.astype(np.float64)
    exact = _round(hi, out.dtype)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        diff = np.abs((o - hi) - lo)  # o - hi is exact when o is near hi (Sterbenz)
        diff[np.isnan(diff)] = np.inf
        same_inf = np.isinf(o) & (o == exact)
        diff[same_inf] = 0.0
        ulp = diff / np.abs(np.spacing(exact).astype(np.float64))
        ulp[same_inf] = 0.0
        ulp[np.isnan(ulp)] = np.inf
        normal = (np.abs(hi) >= float(np.finfo(out.dtype).tiny)) & np.isfinite(exact)
        rel = np.where(normal, diff / np.where(normal, np.abs(hi), 1.0), np.nan)
    return diff, ulp, rel


def measure(formula: str, x: np.ndarray, ref: Reference) -> dict[str, float]:
    """The METRICS of `formula` on logits x (rows, classes) against the exact `ref`."""
    dtype = x.dtype
    info = np.finfo(dtype)
    log_space = formula == "log-softmax"
    hi, lo = (ref.logp_hi, ref.logp_lo) if log_space else (ref.p_hi, ref.p_lo)
    out = apply_formula(formula, x)
    o = out.astype(np.float64)
    exact = _round(hi, dtype)  # the exact result rounded to the dtype
    diff, ulp, rel = errors(out, hi, lo)
    prob_ulp = ulp if not log_space else _prob_ulps(o, ref, dtype)
    with np.errstate(over="ignore", invalid="ignore"):
        p = np.exp(o) if log_space else o
        sum_error = np.abs(p.sum(axis=-1) - 1.0) / float(info.eps)
    sum_error[np.isnan(sum_error)] = np.inf
    classes = x.shape[-1]
    top = x.max(axis=-1)
    has_nan = np.isnan(o).any(axis=-1)
    picked = x[np.arange(len(x)), np.argmax(np.where(np.isnan(o), -np.inf, o), axis=-1)]
    onehot = np.zeros_like(o)
    onehot[np.arange(len(x)), np.argmax(x, axis=-1)] = 1.0
    with np.errstate(invalid="ignore"):
        distance = np.abs(p - onehot).sum(axis=-1)
    distance[np.isnan(distance)] = np.inf
    return {
        "nan_fraction": float(np.isnan(o).mean()),
        "inf_fraction": float(np.isinf(o).mean()),
        "zero_fraction": float((o == 0).mean()),
        "exact_zero_fraction": float((exact == 0).mean()),
        "broken_fraction": float(broken_rows(out, exact, log_space).mean()),
        "sums_to_one": float((sum_error <= classes / 2).mean()),  # classes * u, u = eps / 2
        "max_sum_error_ulps": float(sum_error.max()),
        "argmax_agreement": float(((picked == top) & ~has_nan).mean()),
        "max_abs_error": float(diff.max()),
        "max_rel_error": float(rel[~np.isnan(rel)].max()) if (~np.isnan(rel)).any() else math.nan,
        "max_ulp_error": float(ulp.max()),
        "max_prob_ulp_error": float(prob_ulp.max()),
        "onehot_distance": float(distance.max()),
        "exact_onehot_distance": float((2.0 * (ref.p_hi * (1.0 - onehot)).sum(axis=-1)).max()),
        "condition": condition(x, ref),
    }


def _prob_ulps(logp: np.ndarray, ref: Reference, dtype: np.dtype) -> np.ndarray:
    """Errors in ulps of the dtype's p of the probabilities exp(logp), exp taken in float64 from
    the dtype's log p: what log-softmax's answer means for p, comparable with the other
    formulas' ulp errors. Its own ulps (of log p) are not: near log p = 0 one ulp of log p is
    ~1e-16 of a unit, so an error of 1e-16 in log p counted 1e16 ulps there."""
    with np.errstate(over="ignore", invalid="ignore"):
        p = np.exp(logp)
        ulp = np.abs((p - ref.p_hi) - ref.p_lo) / np.abs(
            np.spacing(_round(ref.p_hi, dtype)).astype(np.float64)
        )
    ulp[np.isnan(ulp)] = np.inf
    return ulp


def condition(x: np.ndarray, ref: Reference) -> float:
    """1 + max |x_i - max x| over the entries whose exact probability is a normal number of x's
    dtype: rounding x_i - max x perturbs it by a relative u, so exp of it, and p_i, by about
    |x_i - max x| u. Every formula that forms x_i - max x (or x_i - logsumexp) in the working
    precision inherits this error (Blanchard, Higham & Higham 2021), so the ulp errors of the
    stable formulas are read against it."""
    x64 = x.astype(np.float64)
    gap = np.abs(x64 - x64.max(axis=-1, keepdims=True))
    seen = ref.p_hi >= float(np.finfo(x.dtype).tiny)
    return 1.0 + float(gap[seen].max()) if seen.any() else 1.0
