"""Findings, report and headline of `nnhw softmax-stability`, computed from its tables alone.

`breaks_evidence(tables)` / `breaks_finding(tables)` (course 1.4(b): softmax breaks on large
inputs) and `argmax_evidence(tables)` / `argmax_finding(tables)` (course 1.4(a): softmax is a
smooth approximation of argmax) are what `nnhw verify` reuses: the evidence is a dict of numbers,
the finding a sentence with them and a verdict.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from nnhw.experiments.reporting.report import Finding
from nnhw.experiments.softmax_stability.measure import DTYPES

CLAIM_BREAKS = "Softmax breaks on large inputs (1.4(b))"
CLAIM_ARGMAX = "Softmax is a smooth approximation of argmax (1.4(a))"
CLAIM_ZEROS = "With outliers, small probabilities are observed as 0 (1.4(b))"
# a formula that fails at the first swept scale: the threshold is only bounded by that point
BOUND = {"overflow": "at most ", "underflow": "at least "}
ARGMAX_FORMULAS = ("max-shifted", "exp-logsumexp", "log-softmax", "naive")
ONEHOT_TOL = 1e-6  # distance to one-hot below which softmax counts as the argmax


def g(value: float, digits: int = 4) -> str:
    """A number for a sentence: 4 significant digits, e-notation when large or small."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    a = abs(value)
    if a != 0 and (a < 1e-3 or a >= 1e6):
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits}g}"


def _dtypes(df: pd.DataFrame) -> list[str]:
    seen = set(df["dtype"])
    return [d for d in DTYPES if d in seen]


def _rows(df: pd.DataFrame, **eq: Any) -> pd.DataFrame:
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
        part = _rows(th, formula="naive", kind=kind)
        if part.empty:
            continue
        part = part[part["case"] == case] if (part["case"] == case).any() else part
        for dtype in _dtypes(part):
            row = _rows(part, dtype=dtype).iloc[0]
            ev[kind][dtype] = {
                "case": row["case"],
                "fails": bool(row["fails_in_range"]),
                "critical": float(row["critical_value"]),
                "from_start": bool(row["fails_in_range"]) and math.isnan(row["scale_last_ok"]),
                "theory": float(row["theory"]),
                "expected": bool(row["expected_to_fail"]),
                "matches": bool(row["matches_theory"]),
            }
    shifted = _rows(sweep, formula="max-shifted", representable=True)
    ev["shifted_points"] = len(shifted)
    ev["shifted_broken"] = int((shifted["broken_fraction"] > 0).sum())
    ev["shifted_nan_inf"] = (
        float((shifted["nan_fraction"] + shifted["inf_fraction"]).max())
        if len(shifted)
        else math.nan
    )
    naive = _rows(th, formula="naive")
    ev["all_naive_match"] = bool(len(naive) and naive["matches_theory"].all())
    ev["shifted_threshold_fails"] = int(_rows(th, formula="max-shifted")["fails_in_range"].sum())
    return ev


def breaks_finding(tables: dict[str, pd.DataFrame]) -> Finding:
    ev = breaks_evidence(tables)
    parts = []
    for kind in ("overflow", "underflow"):
        items = [
            f"{BOUND[kind] if v['from_start'] else ''}{g(v['critical'], 7)} in {d} "
            f"(theory {g(v['theory'], 7)})"
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
        f"(largest NaN+inf fraction {g(ev['shifted_nan_inf'])})"
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
    measured = _rows(tables["sweep"], case="temperature", representable=True)
    present = set(measured["formula"])
    formula = next((f for f in ARGMAX_FORMULAS if f in present), "max-shifted")
    sweep = measured[measured["formula"] == formula]
    exact = _rows(sweep, dtype=_dtypes(sweep)[-1]).sort_values("scale") if len(sweep) else sweep
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
    ev = argmax_evidence(tables)
    ok = ev["monotone"] and not math.isnan(ev["t_onehot"]) and ev["agreement_min"] == 1.0
    text = (
        f"As the temperature falls from {g(ev['t_max'])} to {g(ev['t_min'])}, the exact "
        f"probability of the largest logit rises {'monotonically ' if ev['monotone'] else ''}"
        f"from {g(ev['p_top_t_max'])} (uniform: {g(ev['uniform'])}) to {g(ev['p_top_t_min'])}; "
        f"the distance to the one-hot argmax stays below {g(ONEHOT_TOL)} from T = "
        f"{g(ev['t_onehot'])} down, and the {ev['formula']} softmax picks the argmax in "
        f"{g(100 * ev['agreement_min'])}% of rows at worst over {ev['agreement_points']} points."
    )
    verdict = "supported" if ok else "holds only when the temperature is small enough"
    return Finding(text, verdict, CLAIM_ARGMAX)


def headline(tables: dict[str, pd.DataFrame]) -> str:
    ev = breaks_evidence(tables)
    over = ev["overflow"]
    dtype = "float32" if "float32" in over else next(iter(over), None)
    naive = "naive: no overflow in range"
    if dtype and over[dtype]["fails"]:
        at = "at most " if over[dtype]["from_start"] else ""
        naive = f"naive {dtype} NaN from {at}{g(over[dtype]['critical'], 7)}"
    if not ev["shifted_points"]:
        return f"{naive}; max-shifted not run"
    return f"{naive}; max-shifted broken at {ev['shifted_broken']}/{ev['shifted_points']} points"


def metrics(tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """Naive thresholds per kind and dtype, max-shifted failures; {} for a run without them."""
    if not {"thresholds", "sweep"} <= set(tables):
        return {}
    ev = breaks_evidence(tables)
    out: dict[str, Any] = {}
    for kind in ("overflow", "underflow"):
        for dtype, v in ev[kind].items():
            out[f"naive_{kind}_{dtype}"] = v["critical"]
    out["max_shifted_broken_points"] = ev["shifted_broken"]
    out["naive_thresholds_match_theory"] = ev["all_naive_match"]
    return out
