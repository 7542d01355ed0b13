"""How uncertain a verdict is: confidence intervals over seeds, a cut-off test, and what moving
the cut-off would do. Shared by the findings of every study and by `nnhw verify`'s claims.

Contract:
- `interval(values, log=False)`: the estimate and its 95% confidence interval from one value per
  seed (Student's t on the mean; with log=True on the mean of the logs, i.e. a geometric mean
  and a multiplicative interval, for ratios and other positive quantities). Non-finite values are
  left out (and counted in `Estimate.dropped`).
- `decide(values, cutoff, log=False)`: `Decision`: which side of `cutoff` the estimate lies on,
  "above" or "below" when the whole confidence interval lies there, else "inconclusive"; how many
  seeds lie on that side on their own (`agree`); and the outcomes with the cut-off moved by -25%
  and +25% (`moved`), so a finding can say whether its verdict rests on where the line was drawn.
- `share_interval(k, n)`: the Wilson 95% interval of a proportion k / n (a share of seeds, rows,
  units).
- `median_interval(values)`: the median and its distribution-free (sign test) interval, for
  values with heavy tails; `decide(..., median=True)` uses it.
- `welch_interval(a, b, log)` and `compare(a, b, cutoff, log)`: the same for two independent
  groups of seeds (a difference, or a ratio of geometric means, with Welch's t).
- `describe(decision, fmt)`: one sentence with those numbers, for a finding's text.

Why t on so few seeds: a verdict here is usually computed over 5 to 10 seeds; the t quantile
(2.78 at 4 degrees of freedom) makes the interval honest about that, where a normal 1.96 would
claim 40% more certainty than five values give. The quantiles are the standard two-sided 95%
table (`T95`); beyond 30 degrees of freedom the normal 1.96 is used.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

Array = np.ndarray
CUTOFF_MOVE = 0.25  # a verdict is "robust" when moving its cut-off by this fraction keeps it
ABOVE, BELOW, INCONCLUSIVE = "above", "below", "inconclusive"
# Two-sided 95% quantiles of Student's t, t_{0.975, df}, df = 1..30.
T95 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def t95(df: int) -> float:
    """t_{0.975, df}: the half-width of a 95% interval in standard errors."""
    if df < 1:
        return math.inf
    return T95[df - 1] if df <= len(T95) else 1.96


@dataclass(frozen=True)
class Estimate:
    """value: the mean (log=False) or geometric mean (log=True) of the n finite values; low,
    high: its 95% confidence interval (equal to value when n = 1 or every value is the same;
    NaN when n = 0)."""

    value: float
    low: float
    high: float
    n: int
    dropped: int = 0
    log: bool = False


def _finite(values: Iterable[float], log: bool) -> tuple[Array, int]:
    v = np.asarray(list(values), dtype=np.float64)
    ok = np.isfinite(v) & (v > 0 if log else True)
    return v[ok], int(v.size - ok.sum())


def interval(values: Iterable[float], log: bool = False) -> Estimate:
    """Mean (or geometric mean) over seeds and its 95% t interval (module docstring)."""
    v, dropped = _finite(values, log)
    if v.size == 0:
        return Estimate(math.nan, math.nan, math.nan, 0, dropped, log)
    x = np.log(v) if log else v
    mean = float(x.mean())
    half = t95(x.size - 1) * float(x.std(ddof=1)) / math.sqrt(x.size) if x.size > 1 else 0.0
    lo, hi = mean - half, mean + half
    if log:
        return Estimate(math.exp(mean), math.exp(lo), math.exp(hi), int(v.size), dropped, log)
    return Estimate(mean, lo, hi, int(v.size), dropped, log)


def share_interval(k: int, n: int) -> tuple[float, float]:
    """Wilson 95% interval of the proportion k / n ((0, 1) when n = 0)."""
    if n <= 0:
        return 0.0, 1.0
    z = 1.96
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def side(estimate: Estimate, cutoff: float) -> str:
    """ABOVE when the whole interval lies above the cut-off, BELOW when below, else
    INCONCLUSIVE (the interval contains it, or nothing was measured)."""
    if estimate.n == 0 or math.isnan(estimate.low):
        return INCONCLUSIVE
    if estimate.low > cutoff:
        return ABOVE
    if estimate.high < cutoff:
        return BELOW
    return INCONCLUSIVE


@dataclass(frozen=True)
class Decision:
    """A cut-off test on per-seed values (see `decide`).

    outcome: ABOVE, BELOW or INCONCLUSIVE. agree: seeds whose own value lies on the outcome's side
    (for INCONCLUSIVE: on the estimate's side). moved: the outcomes with the cut-off moved by
    -25% and +25% (`moved_cutoffs`: of the cut-off itself, or with excess=True of its excess
    over 1, for a ratio such as "more than 1.1x": 1.075 and 1.125)."""

    estimate: Estimate
    cutoff: float
    outcome: str
    agree: int
    moved: tuple[str, str]
    excess: bool = False

    @property
    def seeds(self) -> int:
        return self.estimate.n

    @property
    def robust(self) -> bool:
        """The outcome stays the same with the cut-off moved by 25% either way."""
        return all(m == self.outcome for m in self.moved)

    @property
    def moved_cutoffs(self) -> tuple[float, float]:
        return moved_cutoffs(self.cutoff, self.excess)


def moved_cutoffs(cutoff: float, excess: bool = False) -> tuple[float, float]:
    """The cut-off moved by -25% and +25%: of itself, or (excess=True) of its excess over 1."""
    if excess:
        return 1 + (cutoff - 1) * (1 - CUTOFF_MOVE), 1 + (cutoff - 1) * (1 + CUTOFF_MOVE)
    return cutoff * (1 - CUTOFF_MOVE), cutoff * (1 + CUTOFF_MOVE)


def median_interval(values: Iterable[float]) -> Estimate:
    """The median of the non-NaN values (+-inf allowed: a diverged seed counts as beyond every
    finite one) and its distribution-free interval [x_(k), x_(n-k+1)] (sign test; no
    distribution assumed, so one wild seed cannot widen it): k = `sign_test_rank(n)`. For n <= 5
    no 95% interval of this kind exists and it is [min, max], whose coverage `median_coverage`
    gives (93.75% for n = 5)."""
    v = np.sort(np.asarray([x for x in values if not math.isnan(x)], dtype=np.float64))
    n = int(v.size)
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, 0)
    k = sign_test_rank(n)
    return Estimate(float(np.median(v)), float(v[k - 1]), float(v[n - k]), n)


def sign_test_rank(n: int) -> int:
    """The largest k >= 1 with P(Bin(n, 1/2) < k) <= 0.025 (1 when there is none)."""
    k, below = 1, 0.0
    while k <= n:
        below += math.comb(n, k - 1) / 2**n  # now P(X < k)
        if below > 0.025:
            break
        k += 1
    return max(1, k - 1)


def median_coverage(n: int) -> float:
    """Coverage of median_interval for n values: 1 - 2 P(Bin(n, 1/2) < k)."""
    k = sign_test_rank(n)
    return 1 - 2 * sum(math.comb(n, i) for i in range(k)) / 2**n


def decide(
    values: Iterable[float],
    cutoff: float,
    log: bool = False,
    excess: bool = False,
    median: bool = False,
) -> Decision:
    """Test per-seed `values` against `cutoff` (module docstring). cutoff must be non-zero (a
    cut-off at 0 cannot be moved by a fraction of itself: test a margin instead), and positive
    with log=True; with excess=True (a ratio cut-off) it must not be 1. median=True: the median
    and its sign-test interval (`median_interval`) instead of the t interval, for heavy-tailed
    values (a seed that nearly diverges); +inf values then count (beyond the cut-off)."""
    if (
        cutoff == 0
        or (log and cutoff <= 0)
        or not math.isfinite(cutoff)
        or (excess and cutoff == 1)
    ):
        raise ValueError(f"cut-off must be finite and non-zero (positive on a log scale): {cutoff}")
    if median:
        vals = np.asarray([x for x in values if not math.isnan(x)], dtype=np.float64)
        est = median_interval(vals)
    else:
        vals, _ = _finite(values, log)
        est = interval(vals, log)
    outcome = side(est, cutoff)
    ref = outcome if outcome != INCONCLUSIVE else (ABOVE if est.value > cutoff else BELOW)
    agree = int(np.sum(vals > cutoff)) if ref == ABOVE else int(np.sum(vals < cutoff))
    moved = tuple(side(est, c) for c in moved_cutoffs(cutoff, excess))
    return Decision(est, cutoff, outcome, agree, (moved[0], moved[1]), excess)


def describe(decision: Decision, fmt: Callable[[float], str]) -> str:
    """'5 of 5 seeds above 0.1; 95% CI [0.52, 0.61]; the same with the cut-off at 0.075 or
    0.125' (numbers formatted by fmt)."""
    e = decision.estimate
    if decision.outcome == INCONCLUSIVE:
        text = (
            f"the 95% CI [{fmt(e.low)}, {fmt(e.high)}] contains the cut-off "
            f"{fmt(decision.cutoff)} ({decision.agree} of {e.n} seeds on the estimate's side)"
        )
    else:
        text = (
            f"{decision.agree} of {e.n} seeds {decision.outcome} the cut-off "
            f"{fmt(decision.cutoff)}; 95% CI [{fmt(e.low)}, {fmt(e.high)}]"
        )
    lo, hi = decision.moved_cutoffs
    if decision.robust:
        return text + f"; the same with the cut-off at {fmt(lo)} or {fmt(hi)}"
    return (
        text
        + "; with the cut-off at "
        + " or ".join(f"{fmt(c)}: {m}" for c, m in zip((lo, hi), decision.moved))
    )


def welch_interval(a: Iterable[float], b: Iterable[float], log: bool = False) -> Estimate:
    """mean(a) - mean(b) (log=True: the ratio of geometric means, from the logs) and its 95%
    Welch interval (t with the Welch-Satterthwaite degrees of freedom), for two independent
    groups of seeds (e.g. two activations trained from their own streams). n is the smaller
    group's size; NaN when either group has fewer than two finite values."""
    x, dx = _finite(a, log)
    y, dy = _finite(b, log)
    if log:
        x, y = np.log(x), np.log(y)
    n = int(min(x.size, y.size))
    if n < 2:
        return Estimate(math.nan, math.nan, math.nan, n, dx + dy, log)
    va, vb = float(x.var(ddof=1)) / x.size, float(y.var(ddof=1)) / y.size
    diff = float(x.mean() - y.mean())
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (x.size - 1) + vb**2 / (y.size - 1)) if se > 0 else 1e9
    half = t95(max(1, int(df))) * se
    lo, hi = diff - half, diff + half
    if log:
        return Estimate(math.exp(diff), math.exp(lo), math.exp(hi), n, dx + dy, log)
    return Estimate(diff, lo, hi, n, dx + dy, log)


def compare(
    a: Iterable[float], b: Iterable[float], cutoff: float, log: bool = False, excess: bool = False
) -> Decision:
    """A cut-off test on the difference (log=True: ratio) of two independent groups, with
    `welch_interval`; `agree` counts the seeds of `a` whose own value, against b's mean (or
    geometric mean), lies on the outcome's side (module docstring for the rest)."""
    est = welch_interval(a, b, log)
    outcome = side(est, cutoff)
    moved = tuple(side(est, c) for c in moved_cutoffs(cutoff, excess))
    x, _ = _finite(a, log)
    y, _ = _finite(b, log)
    if y.size == 0:
        return Decision(est, cutoff, outcome, 0, (moved[0], moved[1]), excess)
    each = x / math.exp(float(np.log(y).mean())) if log else x - float(y.mean())
    ref = outcome if outcome != INCONCLUSIVE else (ABOVE if est.value > cutoff else BELOW)
    agree = int(np.sum(each > cutoff)) if ref == ABOVE else int(np.sum(each < cutoff))
    return Decision(est, cutoff, outcome, agree, (moved[0], moved[1]), excess)
