"""The report of `nnhw softmax-stability`: findings computed from the tables, then the sections.

Besides the two course claims of experiments.softmax_findings, the findings measure: the zeros
the course's 1.4(b) describes (correct rounding or not), the accuracy of each stable formula
against the condition 1 + max|x_i - max x|, the naive form's accuracy before it breaks, the
stable formulas that do break in low precision, and the cross-entropy computed three ways.
Every function returns None when its tables lack what it needs (e.g. a case was not run).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from nnhw.experiments.reporting.report import Finding, Report, Section
from nnhw.experiments.softmax_stability import findings as sf
from nnhw.experiments.softmax_stability.measure import CASES, FORMULA_EXPRESSIONS
from nnhw.experiments.softmax_stability.theory import theory

g = sf.g


def _ok(df: pd.DataFrame) -> pd.DataFrame:
    """Representable points whose output did not break."""
    return df[df["representable"].astype(bool) & (df["broken_fraction"] == 0)]


def zeros_finding(tables: dict[str, pd.DataFrame]) -> Finding | None:
    sweep = sf._rows(tables["sweep"], case="outlier", formula="max-shifted", representable=True)
    if sweep.empty:
        return None
    firsts, limits = [], []
    for dtype in sf._dtypes(sweep):
        part = sweep[sweep["dtype"] == dtype].sort_values("scale")
        zero = part[part["zero_fraction"] > 0]
        limits.append(f"{g(-theory('underflow', dtype))} in {dtype}")
        if not zero.empty:
            firsts.append(
                f"s = {g(float(zero['scale'].iloc[0]))} in {dtype} (up to "
                f"{g(100 * float(part['zero_fraction'].max()))}% of outputs)"
            )
    if not firsts:
        return Finding(
            "With one outlier logit, no probability rounded to 0 in the swept range.",
            "refuted",
            sf.CLAIM_ZEROS,
        )
    gap = float((sweep["zero_fraction"] - sweep["exact_zero_fraction"]).abs().max())
    text = (
        f"With one outlier logit of size s among N(0, 1) logits, the max-shifted softmax returns "
        f"exact zeros from {', '.join(firsts)}; the exact probabilities round to 0 at the same "
        f"points (largest difference between the two zero fractions: {g(gap)}), so these zeros "
        "are the correctly rounded answer, not a failure of the formula; they only hurt when a "
        "log is taken of them (see the cross-entropy finding)."
    )
    verdict = (
        "holds only when the gap to the outlier exceeds -log(smallest subnormal / 2): "
        + ", ".join(limits)
    )
    return Finding(text, verdict, sf.CLAIM_ZEROS)


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
            f"{formula} ({FORMULA_EXPRESSIONS[formula]}) stays within {g(float(ratio.max()), 3)} "
            f"x the condition in ulps (worst: {g(float(worst['max_ulp_error']), 3)} ulp, "
            f"{worst['dtype']}, {worst['case']}, s = {g(float(worst['scale']))})"
            + (f" and within {g(float(small.max()), 3)} ulp at scales <= 1" if len(small) else "")
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
    part = _ok(sf._rows(tables["sweep"], formula="naive", case="shifted-down"))
    if part.empty:
        return None
    items = []
    for dtype in sf._dtypes(part):
        rows = part[part["dtype"] == dtype]
        worst = rows.loc[rows["max_ulp_error"].idxmax()]
        items.append(
            f"{g(float(worst['max_ulp_error']), 3)} ulp in {dtype} at s = "
            f"{g(float(worst['scale']))}"
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
            f"to {g(float(ok['checked_up_to'].max()))} in any dtype and case."
        )
    items = []
    for _, row in bad.iterrows():
        spacing = float(abs(np.spacing(np.array(row["critical_value"], dtype=row["dtype"]))))
        items.append(
            f"{row['formula']} in {row['dtype']} from s = "
            f"{g(float(row['scale_first_fail']))} ({row['case']}; the logits there are "
            f"{g(float(row['critical_value']))}, where the {row['dtype']} spacing is "
            f"{g(spacing)})"
        )
    return Finding(
        "Stable formulas that still break (rows no longer summing to 1 within 1/2): "
        + "; ".join(items)
        + ". logsumexp is rounded to that spacing, an error of that size in "
        "every exponent; the max-shifted form never exponentiates a rounded logsumexp."
    )


def log_softmax_finding(tables: dict[str, pd.DataFrame]) -> Finding | None:
    part = _ok(sf._rows(tables["sweep"], formula="log-softmax"))
    if part.empty:
        return None
    items = []
    for dtype in sf._dtypes(part):
        rows = part[part["dtype"] == dtype]
        items.append(
            f"{dtype}: absolute error <= {g(float(rows['max_abs_error'].max()), 3)}, "
            f"relative error up to {g(float(rows['max_rel_error'].max()), 3)} "
            f"({g(float(rows['max_ulp_error'].max()), 3)} ulp)"
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
    for dtype in sf._dtypes(part):
        rows = part[part["dtype"] == dtype]
        shifted = sf._rows(rows, method="log-of-max-shifted")
        naive = sf._rows(rows, method="log-of-naive")
        inf_s = _first(shifted, shifted["inf_fraction"] > 0)
        bad_n = _first(naive, ~np.isfinite(naive["mean_loss"]))
        items.append(
            f"{dtype}: log of the max-shifted softmax gives an infinite loss from s = "
            f"{g(inf_s)}, log of the naive one a non-finite loss from s = {g(bad_n)}"
        )
    stable = sf._rows(ce, method="log-softmax")
    finite = bool(np.isfinite(stable["mean_loss"]).all())
    worst = [
        f"{g(float(stable[stable['dtype'] == d]['rel_error'].max()), 3)} in {d}"
        for d in sf._dtypes(stable)
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


def report(tables: dict[str, pd.DataFrame], config: Any) -> Report:
    findings: list[Finding] = []
    if {"thresholds", "sweep"} <= set(tables):
        findings.append(sf.breaks_finding(tables))
    if "temperature" in tables and "sweep" in tables:
        findings.append(sf.argmax_finding(tables))
    builders = (zeros_finding, accuracy_finding, naive_accuracy_finding, log_softmax_finding)
    if "sweep" in tables:
        findings += [f for f in (b(tables) for b in builders) if f is not None]
    if "thresholds" in tables:
        found = stable_breaks_finding(tables)
        findings += [found] if found else []
    found = cross_entropy_finding(tables)
    findings += [found] if found else []
    cases = [c for c in CASES if c in set(config.cases)]
    method = (
        "Formulas: "
        + "; ".join(f"{k} = {v}" for k, v in FORMULA_EXPRESSIONS.items() if k in config.formulas)
        + ". "
        f"Cases, each over {config.points} log-spaced scales s from {g(config.scale_min)} to "
        f"{g(config.scale_max)} on {config.rows} rows of {config.classes} logits z ~ N(0, 1): "
        "random z*s; outlier (one logit per row set to s); shifted-down (z - max z - s); "
        "temperature (z/T, T = 1/s). Logits are rounded to each dtype; the reference is the "
        "exact softmax of the rounded logits (mpmath, 50 digits). Errors are in ulps of the "
        "exact value rounded to the dtype (np.spacing); a row is broken when it has NaN, an inf "
        "the exact result does not have, or probabilities summing off 1 by more than 1/2."
    )
    sections = [
        Section("Method", method),
        Section(
            "Thresholds: measured against np.finfo",
            "First failing scale by bisection; the "
            "critical value is the quantity the theory bounds at that scale.",
            tables=[
                (
                    "thresholds",
                    "Measured thresholds beside log(finfo.max) and log(smallest subnormal / 2).",
                )
            ],
        ),
        Section(
            "Error against scale",
            figures=[
                (
                    "error_vs_scale",
                    "Max error in ulps against scale, per case and dtype; x marks NaN/inf outputs.",
                )
            ],
        ),
        Section(
            "NaN, inf and zero outputs",
            figures=[
                (f"fractions_{c}", f"Fraction of NaN, inf and zero outputs, case {c}.")
                for c in cases
            ],
        ),
    ]
    if "temperature" in cases:
        sections.append(
            Section(
                "Softmax as the temperature goes to 0",
                figures=[
                    (
                        "temperature",
                        "Exact softmax of one row against T, and distance to the one-hot argmax.",
                    )
                ],
            )
        )
    sections += [
        Section(
            "Cross-entropy three ways",
            tables=[
                (
                    "cross_entropy",
                    "Mean cross-entropy per case, dtype, scale and method against the exact value.",
                )
            ],
            figures=[("cross_entropy", "Relative error of the mean cross-entropy.")],
        ),
        Section("The sweep", tables=[("sweep", "Every point: case x dtype x formula x scale.")]),
    ]
    return Report(
        title="Softmax overflow and underflow across precisions",
        summary=(
            "Where each softmax formula overflows or underflows, per precision, measured against "
            "an exact reference (after Blanchard, Higham & Higham 2021, 'Accurately computing "
            "the log-sum-exp and softmax functions')."
        ),
        findings=findings,
        sections=sections,
    )
