"""The softmax claims of the course (1.4(a), 1.4(b)) measured over `seeds` independent draws of
logits, with the softmax-stability study's own measurement functions (its exact mpmath
reference, its cases and its bisection), so that `nnhw verify` and `nnhw softmax-stability`
measure the same things.

- argmax_table (1.4(a)): for each seed, ROWS rows of CLASSES logits z ~ N(0, 1) divided by a
  temperature T (TEMPERATURES, from 100 down to 1e-4). In exact arithmetic (the 50-digit
  reference, compared as double-double pairs): the share of rows whose largest probability is
  at the largest logit (`exact_agreement`: softmax is strictly increasing in each logit, so this
  is 1 at every T), the largest distance to the one-hot argmax, sum |p - onehot| = 2 (1 - p_max),
  whether every row's distance is within 2 (K - 1) exp(-(z_max - z_second) / T) (`bound_ok`: it
  tends to 0 as T falls, at a rate set by the row's top-two gap, `top_gap` the smallest), and
  the gap T logsumexp(z / T) - max z of the smooth max against its bound T log K. Apart
  from it, float rounding: the max-shifted softmax in float16, float32 and float64 on the logits
  rounded to each dtype: rows whose output's argmax is not a largest (rounded) logit, and rows
  where rounding made the top two outputs equal (`tied`).
- wording_table (1.4(b)): per seed and dtype, on the study's "outlier" case (one logit per row
  set to s, the rest N(0, 1)): where the naive softmax first breaks (the row logsumexp at the
  first failing s, by bisection) against log(finfo.max); where the max-shifted softmax first
  returns an exact 0 (the gap s - min x_i there) against -log(smallest subnormal / 2); at a gap
  past that, whether every such 0 is the exact probability rounded to the dtype (correct
  rounding, not an error), and the cross-entropy of a row whose label sits on a 0: from log of
  the probabilities (inf) and from log-softmax (finite, compared with the exact value).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from nnhw.core import softmax as cs
from nnhw.experiments.softmax_stability import measure as sm
from nnhw.experiments.softmax_stability import theory as st
from nnhw.experiments.verify.measure import child

Array = np.ndarray
ROWS, CLASSES = 8, 8
TEMPERATURES = tuple(10.0 ** (2 - 3 * k / 4) for k in range(9))  # 100 ... 1e-4
DTYPES = sm.DTYPES


def study_seed(seed: np.random.SeedSequence, i: int) -> int:
    """The integer seed the softmax-stability study's draws take, for verify's seed i."""
    return int(child(seed, i).generate_state(1)[0])


def _exact_argmax(ref: sm.Reference) -> Array:
    """Row argmax of the exact probabilities (hi + lo compared lexicographically: exact)."""
    order = np.lexsort((ref.p_lo, ref.p_hi), axis=-1)
    return order[..., -1]


def argmax_table(seed: np.random.SeedSequence, seeds: int) -> pd.DataFrame:
    """One row per seed x temperature (module docstring)."""
    rows = []
    for i in range(seeds):
        z = sm.draw_base("temperature", ROWS, CLASSES, study_seed(seed, i)).z
        top = np.argmax(z, axis=-1)
        for t in TEMPERATURES:
            x = z / t
            ref = sm.exact_reference(x)
            p_max = ref.p_hi.max(axis=-1)
            lse_gap = t * cs.logsumexp(x) - z.max(axis=-1)
            two = np.sort(x, axis=-1)[:, -2:]
            # 2 (1 - p_max) <= 2 (K - 1) exp(-(x_max - x_second)): how fast softmax nears the
            # one-hot argmax as T falls, row by row (p_hi + p_lo: the exact value to 1e-32)
            bound = 2 * (CLASSES - 1) * np.exp(-(two[:, 1] - two[:, 0]))
            k = _exact_argmax(ref)[:, None]
            hi, lo = np.take_along_axis(ref.p_hi, k, -1), np.take_along_axis(ref.p_lo, k, -1)
            distance = 2 * ((1 - hi[:, 0]) - lo[:, 0])  # 1 - hi is exact near 1 (Sterbenz)
            row = {
                "seed": i, "temperature": t,
                "exact_agreement": float(np.mean(_exact_argmax(ref) == top)),
                "exact_onehot_distance": float(np.max(2 * (1 - p_max))),
                "bound_ok": bool(np.all(distance <= bound * (1 + 1e-9) + 1e-300)),
                "top_gap": float(np.min(np.diff(np.sort(z, axis=-1)[:, -2:], axis=-1))),
                "lse_gap": float(np.max(lse_gap)), "lse_bound": t * math.log(CLASSES),
            }  # fmt: skip
            for dtype in DTYPES:
                with np.errstate(over="ignore"):
                    xd = x.astype(dtype)
                if not np.isfinite(xd).all():
                    row[f"{dtype}_disagree"] = row[f"{dtype}_tied"] = math.nan
                    continue
                p = sm.apply_formula("max-shifted", xd)
                picked = xd[np.arange(ROWS), np.argmax(p, axis=-1)]
                two = np.sort(p, axis=-1)[:, -2:]
                row[f"{dtype}_disagree"] = float(np.mean(picked != xd.max(axis=-1)))
                row[f"{dtype}_tied"] = float(np.mean(two[:, 0] == two[:, 1]))
            rows.append(row)
    return pd.DataFrame(rows)


ZERO_RTOL = 1e-9  # bisection width of the first-zero search, relative to s


def _first_zero_gap(base: sm.Base, dtype: str) -> float:
    """The largest gap s - x_i between the outlier and another logit of its row at the first
    outlier s where the max-shifted softmax returns an exact 0 (doubling, then bisection to a
    relative ZERO_RTOL)."""

    def zero(s: float) -> bool | None:
        x = sm.case_logits("outlier", base, s, dtype)
        return None if x is None else bool((sm.apply_formula("max-shifted", x) == 0).any())

    lo, hi = 0.0, 1.0
    while True:
        found = zero(hi)
        if found is None:
            return math.nan
        if found:
            break
        lo, hi = hi, 2 * hi
    while hi - lo > ZERO_RTOL * hi:
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if zero(mid) else (mid, hi)
    x = sm.case_logits("outlier", base, hi, dtype)
    assert x is not None
    x64 = x.astype(np.float64)
    others = x64.copy()
    others[np.arange(len(x64)), base.hot] = np.inf
    return float(np.max(x64[np.arange(len(x64)), base.hot] - others.min(axis=-1)))


def wording_table(seed: np.random.SeedSequence, seeds: int) -> pd.DataFrame:
    """One row per seed x dtype (module docstring)."""
    rows = []
    for i in range(seeds):
        s_int = study_seed(seed, i)
        base = sm.draw_base("outlier", ROWS, CLASSES, s_int)
        for dtype in DTYPES:
            info = np.finfo(dtype)
            scales = np.logspace(-1, math.log10(float(info.max)) - 0.01, 40)
            over = st.find_threshold("outlier", "naive", dtype, base, scales)
            spacing = float(abs(np.spacing(np.array(st.theory("overflow", dtype), dtype=dtype))))
            under_theory = -st.theory("underflow", dtype)
            gap = _first_zero_gap(base, dtype)
            # past the underflow gap: zeros, and a label on one of them
            x = sm.case_logits("outlier", base, 1.5 * under_theory + 10, dtype)
            assert x is not None
            ref = sm.exact_reference(x)
            p = sm.apply_formula("max-shifted", x)
            exact = ref.p_hi.astype(dtype)
            zeros = p == 0
            r, c = np.nonzero(zeros)  # a label on the first zero: its cross-entropy, three ways
            ce_log_p = ce_stable = ce_exact = math.nan
            if len(r):
                k = (r[0], c[0])
                with np.errstate(divide="ignore"):
                    ce_log_p = float(-np.log(p[k].astype(np.float64)))
                ce_stable = float(-sm.apply_formula("log-softmax", x)[k])
                ce_exact = float(-(ref.logp_hi[k] + ref.logp_lo[k]))
            rows.append({
                "seed": i, "dtype": dtype, "overflow_critical": over.critical,
                "overflow_theory": st.theory("overflow", dtype),
                "overflow_tolerance": st.BISECT_RTOL * abs(over.critical) + spacing,
                "naive_breaks": over.fails, "zero_gap": gap, "zero_gap_theory": under_theory,
                # the bisection's width plus the rounding of the gap's two logits to the dtype
                "zero_gap_tolerance": ZERO_RTOL * gap
                + 2 * float(np.spacing(np.array(under_theory, dtype=dtype))),
                "zero_fraction": float(zeros.mean()),
                "zeros_correctly_rounded": bool(np.all(exact[zeros] == 0)),
                "ce_log_of_p": ce_log_p, "ce_log_softmax": ce_stable, "ce_exact": ce_exact,
            })  # fmt: skip
    return pd.DataFrame(rows)
