"""The findings of `nnhw softmax-stability`, computed from its tables alone.

The two course claims: `breaks_evidence(tables)` / `breaks_finding(tables)` (course 1.4(b):
softmax breaks on large inputs) and `argmax_evidence(tables)` / `argmax_finding(tables)` (course
1.4(a): softmax is a smooth approximation of argmax) are what `nnhw verify` reuses: the evidence
is a dict of numbers, the finding a sentence with them and a verdict.

Besides them, the findings measure: the zeros the course's 1.4(b) describes (correct rounding or
not), the accuracy of each stable formula against the condition 1 + max|x_i - max x|, the naive
form's accuracy before it breaks, the stable formulas that do break in low precision, and the
cross-entropy computed three ways. Each of these returns None when its tables lack what it needs
(e.g. a case was not run); `findings(tables)` collects them all, in the report's order.

Helpers shared with the report and the tests: `g` (a number for a sentence), `select` (rows by
column values), `dtypes_of` (the dtypes present, in DTYPES order).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from nnhw.experiments.reporting.numbers import number
from nnhw.experiments.reporting.report import Finding
from nnhw.experiments.softmax_stability.measure import DTYPES, FORMULA_EXPRESSIONS
from nnhw.experiments.softmax_stability.theory import theory

CLAIM_BREAKS = "Softmax breaks on large inputs (1.4(b))"
CLAIM_ARGMAX = "Softmax is a smooth approximation of argmax (1.4(a))"
CLAIM_ZEROS = "With outliers, small probabilities are observed as 0 (1.4(b))"
# a formula that fails at the first swept scale: the threshold is only bounded by that point
BOUND = {"overflow": "at most ", "underflow": "at least "}
ARGMAX_FORMULAS = ("max-shifted", "exp-logsumexp", "log-softmax", "naive")
ONEHOT_TOL = 1e-6  # distance to one-hot below which softmax counts as the argmax


def dtypes_of(df: pd.DataFrame) -> list[str]:
    """The dtypes present in df's `dtype` column, in DTYPES order."""
    seen = set(df["dtype"])
    return [d for d in DTYPES if d in seen]


def select(df: pd.DataFrame, **eq: Any) -> pd.DataFrame:
    """The rows of df whose columns equal the given values (select(df, dtype="float32"))."""
    mask = np.ones(len(df), dtype=bool)
    for key, value in eq.items():
        mask &= (df[key] == value).to_numpy()
    return df[mask]


def breaks_evidence(tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """Naive thresholds per kind and dtype (critical value, theory, agreement) and how often the
    max-shifted form broke. Keys: overflow/underflow -> {dtype: {...}}, shifted_points,
    shifted_broken, shifted_nan_inf, all_naive_match."""
    th, sweep = tables["thresholds"], tables["sweep"]
    ev: dict[str, Any] = {"overflow": {}, "underflow": {}}
    for kind, case in (("overflow", "outlier"), ("underflow", "shifted-down")):
        part = select(th, formula="naive", kind=kind)
        if part.empty:
            continue
        part = part[part["case"] == case] if (part["case"] == case).any() else part
        for dtype in dtypes_of(part):
            row = select(part, dtype=dtype).iloc[0]
            ev[kind][dtype] = {
                "case": row["case"],
                "fails": bool(row["fails_in_range"]),
                "critical": float(row["critical_value"]),
                "from_start": bool(row["fails_in_range"]) and math.isnan(row["scale_last_ok"]),
                "theory": float(row["theory"]),
                "expected": bool(row["expected_to_fail"]),
                "matches": bool(row["matches_theory"]),
            }
    shifted = select(sweep, formula="max-shifted", representable=True)
    ev["shifted_points"] = len(shifted)
    ev["shifted_broken"] = int((shifted["broken_fraction"] > 0).sum())
    ev["shifted_nan_inf"] = (
        float((shifted["nan_fraction"] + shifted["inf_fraction"]).max())
        if len(shifted)
        else math.nan
    )
    naive = select(th, formula="naive")
    ev["all_naive_match"] = bool(len(naive) and naive["matches_theory"].all())
    ev["shifted_threshold_fails"] = int(select(th, formula="max-shifted")["fails_in_range"].sum())
    return ev


def breaks_finding(tables: dict[str, pd.DataFrame]) -> Finding:
    ev = breaks_evidence(tables)
    parts = []
    for kind in ("overflow", "underflow"):
        items = [
            f"{BOUND[kind] if v['from_start'] else ''}{number(v['critical'], 7)} in {d} "
            f"(theory {number(v['theory'], 7)})"
            for d, v in ev[kind].items()
            if v["fails"]
        ]
        if not items:
            continue
        case = next(iter(ev[kind].values()))["case"]
        if kind == "overflow":
            what = (
                "returns NaN once the outlier logit"
                if case == "outlier"
                else "breaks (NaN or all-zero rows) once a row's logsumexp"
            )
            parts.append(f"the naive softmax {what} reaches " + ", ".join(items))
        else:
            parts.append(
                "it returns NaN (0/0) once every logit of a row is below " + ", ".join(items)
            )
    if not parts:
        parts.append("the naive softmax did not break in the swept range")
    shifted = (
        f"the max-shifted form broke at {ev['shifted_broken']} of {ev['shifted_points']} points "
        f"(largest NaN+inf fraction {number(ev['shifted_nan_inf'], 4)})"
        if ev["shifted_points"]
        else "the max-shifted form was not measured"
    )
    ok = ev["all_naive_match"] and ev["shifted_broken"] == 0 and ev["shifted_points"] > 0
    agree = (
        "every naive threshold agrees"
        if ev["all_naive_match"]
        else "not every naive threshold agrees"
    )
    text = (
        f"{'; '.join(parts)}; {agree} with the theory within the bisection tolerance plus "
        f"one spacing of the dtype; {shifted}."
    )
    verdict = (
        "supported"
        if ok
        else "holds only when the formula is the naive one and the "
        "thresholds are within the swept range"
    )
    return Finding(text[0].upper() + text[1:], verdict, CLAIM_BREAKS)


def argmax_evidence(tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """From the temperature table and sweep: p(argmax) at the largest and smallest T, 1/K, the
    largest T from which the exact distance to one-hot stays below ONEHOT_TOL, whether that
    distance shrinks monotonically as T falls, and the worst argmax agreement of the max-shifted
    softmax (or, when it did not run, the first of ARGMAX_FORMULAS that did)."""
    temp = tables["temperature"]
    top = temp[temp["is_argmax"].astype(bool)].sort_values("temperature")
    classes = int(temp["class"].nunique())
    dist = top.assign(d=1.0 - top["probability"])
    measured = select(tables["sweep"], case="temperature", representable=True)
    present = set(measured["formula"])
    formula = next((f for f in ARGMAX_FORMULAS if f in present), "max-shifted")
    sweep = measured[measured["formula"] == formula]
    exact = select(sweep, dtype=dtypes_of(sweep)[-1]).sort_values("scale") if len(sweep) else sweep
    d = exact["exact_onehot_distance"].to_numpy(dtype=float)  # T decreasing along the rows
    below = np.flatnonzero(d < ONEHOT_TOL)
    t_onehot = math.nan
    if below.size and np.all(d[below[0] :] < ONEHOT_TOL):
        t_onehot = 1.0 / float(exact["scale"].iloc[below[0]])
    return {
        "t_max": float(top["temperature"].max()),
        "t_min": float(top["temperature"].min()),
        "p_top_t_max": float(top["probability"].iloc[-1]),
        "p_top_t_min": float(top["probability"].iloc[0]),
        "uniform": 1.0 / classes,
        "monotone": bool(np.all(np.diff(dist["d"].to_numpy()) >= -1e-15)),
        "t_onehot": t_onehot,
        "agreement_min": float(sweep["argmax_agreement"].min()) if len(sweep) else math.nan,
        "agreement_points": len(sweep),
        "formula": formula,
    }


def argmax_finding(tables: dict[str, pd.DataFrame]) -> Finding:
    """The verdict rests on exact arithmetic only: the exact probability of the largest logit
    rises monotonically as T falls (softmax is strictly increasing in each logit, so it keeps the
    argmax at every T). How close it gets within the swept temperatures, and the argmax agreement
    of the rounded float outputs (where rounding can tie the top probabilities), are reported
    but do not decide: neither is a property of softmax, and both move with the draw."""
    ev = argmax_evidence(tables)
    ok = ev["monotone"]
    text = (
        f"As the temperature falls from {number(ev['t_max'], 4)} to {number(ev['t_min'], 4)}, the "
        "exact "
        f"probability of the largest logit rises {'monotonically ' if ev['monotone'] else ''}"
        f"from {number(ev['p_top_t_max'], 4)} (uniform: {number(ev['uniform'], 4)}) to "
        f"{number(ev['p_top_t_min'], 4)}; "
        f"the distance to the one-hot argmax stays below {number(ONEHOT_TOL, 4)} from T = "
        f"{number(ev['t_onehot'], 4)} down, and the {ev['formula']} softmax picks the argmax in "
        f"{number(100 * ev['agreement_min'], 4)}% of rows at worst over {ev['agreement_points']} "
        "points (float rounding, apart: a rounded output can tie the top probabilities; the "
        "exact softmax keeps the argmax at every temperature)."
    )
    verdict = "supported" if ok else "refuted"
    return Finding(text, verdict, CLAIM_ARGMAX)


def _ok(df: pd.DataFrame) -> pd.DataFrame:
    """Representable points whose output did not break."""
    return df[df["representable"].astype(bool) & (df["broken_fraction"] == 0)]


def zeros_finding(tables: dict[str, pd.DataFrame]) -> Finding | None:
    sweep = select(tables["sweep"], case="outlier", formula="max-shifted", representable=True)
    if sweep.empty:
        return None
    firsts, limits = [], []
    for dtype in dtypes_of(sweep):
        part = sweep[sweep["dtype"] == dtype].sort_values("scale")
        zero = part[part["zero_fraction"] > 0]
        limits.append(f"{number(-theory('underflow', dtype), 4)} in {dtype}")
        if not zero.empty:
            firsts.append(
                f"s = {number(float(zero['scale'].iloc[0]), 4)} in {dtype} (up to "
                f"{number(100 * float(part['zero_fraction'].max()), 4)}% of outputs)"
            )
    if not firsts:
        return Finding(
            "With one outlier logit, no probability rounded to 0 in the swept range.",
            "refuted",
            CLAIM_ZEROS,
        )
    gap = float((sweep["zero_fraction"] - sweep["exact_zero_fraction"]).abs().max())
    text = (
        f"With one outlier logit of size s among N(0, 1) logits, the max-shifted softmax returns "
        f"exact zeros from {', '.join(firsts)}; the exact probabilities round to 0 at the same "
        f"points (largest difference between the two zero fractions: {number(gap, 4)}), so these "
        "zeros "
        "are the correctly rounded answer, not a failure of the formula; they only hurt when a "
        "log is taken of them (see the cross-entropy finding)."
    )
    verdict = (
        "holds only when the gap to the outlier exceeds -log(smallest subnormal / 2): "
        + ", ".join(limits)
    )
    return Finding(text, verdict, CLAIM_ZEROS)


def accuracy_finding(tables: dict[str, pd.DataFrame]) -> Finding | None:
    sweep = _ok(tables["sweep"])
    parts = []
    for formula in ("max-shifted", "exp-logsumexp"):
        part = sweep[sweep["formula"] == formula]
        if part.empty:
            continue
        ratio = part["max_ulp_error"] / part["condition"]
        worst = part.loc[ratio.idxmax()]
        small = part[part["scale"] <= 1.0]["max_ulp_error"]
        parts.append(
            f"{formula} ({FORMULA_EXPRESSIONS[formula]}) stays within "
            f"{number(float(ratio.max()), 3)} "
            f"x the condition in ulps (worst: {number(float(worst['max_ulp_error']), 3)} ulp, "
            f"{worst['dtype']}, {worst['case']}, s = {number(float(worst['scale']), 4)})"
            + (
                f" and within {number(float(small.max()), 3)} ulp at scales <= 1"
                if len(small)
                else ""
            )
        )
    if not parts:
        return None
    return Finding(
        "Against the exact reference, measured in ulps of each dtype: "
        + "; ".join(parts)
        + ". The condition 1 + max|x_i - max x| is the error any formula inherits from rounding "
        "x_i - max x; the max-shifted form stays at that level, exp(x - logsumexp) exceeds it "
        "because its exponent carries the rounding error of logsumexp."
    )


def naive_accuracy_finding(tables: dict[str, pd.DataFrame]) -> Finding | None:
    part = _ok(select(tables["sweep"], formula="naive", case="shifted-down"))
    if part.empty:
        return None
    items = []
    for dtype in dtypes_of(part):
        rows = part[part["dtype"] == dtype]
        worst = rows.loc[rows["max_ulp_error"].idxmax()]
        items.append(
            f"{number(float(worst['max_ulp_error']), 3)} ulp in {dtype} at s = "
            f"{number(float(worst['scale']), 4)}"
        )
    return Finding(
        "Before it returns NaN on logits shifted down by s, the naive form loses accuracy once "
        "exp(x) falls into the subnormal range (below log(finfo.tiny)); its worst error at a "
        "point where it has not yet broken: " + ", ".join(items) + "."
    )


def stable_breaks_finding(tables: dict[str, pd.DataFrame]) -> Finding | None:
    th = tables["thresholds"]
    bad = th[(th["formula"] != "naive") & th["fails_in_range"].astype(bool)]
    if bad.empty:
        ok = th[th["formula"] != "naive"]
        if ok.empty:
            return None
        return Finding(
            f"No stable formula ({', '.join(sorted(set(ok['formula'])))}) broke at any scale up "
            f"to {number(float(ok['checked_up_to'].max()), 4)} in any dtype and case."
        )
    items = []
    for _, row in bad.iterrows():
        spacing = float(abs(np.spacing(np.array(row["critical_value"], dtype=row["dtype"]))))
        items.append(
            f"{row['formula']} in {row['dtype']} from s = "
            f"{number(float(row['scale_first_fail']), 4)} ({row['case']}; the logits there are "
            f"{number(float(row['critical_value']), 4)}, where the {row['dtype']} spacing is "
            f"{number(spacing, 4)})"
        )
    return Finding(
        "Stable formulas that still break (rows no longer summing to 1 within 1/2): "
        + "; ".join(items)
        + ". logsumexp is rounded to that spacing, an error of that size in "
        "every exponent; the max-shifted form never exponentiates a rounded logsumexp."
    )


def log_softmax_finding(tables: dict[str, pd.DataFrame]) -> Finding | None:
    part = _ok(select(tables["sweep"], formula="log-softmax"))
    if part.empty:
        return None
    items = []
    for dtype in dtypes_of(part):
        rows = part[part["dtype"] == dtype]
        items.append(
            f"{dtype}: absolute error <= {number(float(rows['max_abs_error'].max()), 3)}, "
            f"relative error up to {number(float(rows['max_rel_error'].max()), 3)} "
            f"({number(float(rows['max_ulp_error'].max()), 3)} ulp)"
        )
    return Finding(
        "log-softmax, compared in log space with the exact log-softmax, loses relative accuracy "
        "where log p is close to 0 (the dominant class, once the other logits are far below), "
        "because x - logsumexp(x) cancels there; over the points where it does not break: "
        + "; ".join(items)
        + "."
    )


def _first(rows: pd.DataFrame, mask: pd.Series) -> float:
    hit = rows[mask.to_numpy()]
    return float(hit["scale"].min()) if len(hit) else math.nan


def cross_entropy_finding(tables: dict[str, pd.DataFrame]) -> Finding | None:
    ce = tables.get("cross_entropy")
    if ce is None or ce.empty:
        return None
    case = "outlier" if (ce["case"] == "outlier").any() else str(ce["case"].iloc[0])
    part = ce[ce["case"] == case]
    items = []
    for dtype in dtypes_of(part):
        rows = part[part["dtype"] == dtype]
        shifted = select(rows, method="log-of-max-shifted")
        naive = select(rows, method="log-of-naive")
        inf_s = _first(shifted, shifted["inf_fraction"] > 0)
        bad_n = _first(naive, ~np.isfinite(naive["mean_loss"]))
        items.append(
            f"{dtype}: log of the max-shifted softmax gives an infinite loss from s = "
            f"{number(inf_s, 4)}, log of the naive one a non-finite loss from s = "
            f"{number(bad_n, 4)}"
        )
    stable = select(ce, method="log-softmax")
    finite = bool(np.isfinite(stable["mean_loss"]).all())
    worst = [
        f"{number(float(stable[stable['dtype'] == d]['rel_error'].max()), 3)} in {d}"
        for d in dtypes_of(stable)
    ]
    return Finding(
        f"Cross-entropy on the same logits and labels ({case} case): "
        + "; ".join(items)
        + f". Over all {len(stable)} points of every case, log-softmax "
        + ("stays finite" if finite else "is not always finite")
        + ", with relative error at most "
        + ", ".join(worst)
        + "."
    )


def findings(tables: dict[str, pd.DataFrame]) -> list[Finding]:
    """Every finding the tables support, in the report's order: the two course claims, then the
    measured ones (each builder is skipped when its tables are missing or it returns None)."""
    out: list[Finding] = []
    if {"thresholds", "sweep"} <= set(tables):
        out.append(breaks_finding(tables))
    if "temperature" in tables and "sweep" in tables:
        out.append(argmax_finding(tables))
    builders = (zeros_finding, accuracy_finding, naive_accuracy_finding, log_softmax_finding)
    if "sweep" in tables:
        out += [f for f in (b(tables) for b in builders) if f is not None]
    if "thresholds" in tables:
        found = stable_breaks_finding(tables)
        out += [found] if found else []
    found = cross_entropy_finding(tables)
    out += [found] if found else []
    return out
