"""The report, headline and metrics of `nnhw softmax-stability`, from its tables alone: the
findings (softmax_stability.findings), then a Method section and the sections of the tables and
figures (softmax_stability.figures draws them).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from nnhw.experiments.reporting.numbers import number
from nnhw.experiments.reporting.report import Report, Section
from nnhw.experiments.reporting.tables import TableView, first_per, where, worst_per
from nnhw.experiments.softmax_stability.findings import breaks_evidence, findings
from nnhw.experiments.softmax_stability.measure import CASES, FORMULA_EXPRESSIONS

# How the long tables are shown: the rows that say something, the full CSV linked beside them.
VIEWS = {
    "thresholds": TableView(
        first=("case", "dtype", "formula", "fails_in_range", "scale_first_fail", "critical_value",
               "theory", "matches_theory"),
        sentinels={"scale_first_fail": {None: "never"}},
        rows=where(lambda d: d["fails_in_range"].astype(bool),
                   "the formulas that fail within the scales tried (the others never did)"),
    ),
    "cross_entropy": TableView(
        first=("dtype", "method", "case", "scale", "rel_error"),
        rows=worst_per(["dtype", "method"], "rel_error",
                       "the largest finite relative error of each dtype and method"),
    ),
    "sweep": TableView(
        rows=first_per(["case", "dtype", "formula"], lambda d: d["broken_fraction"] > 0,
                       "the first broken point of each case, dtype and formula that breaks"),
    ),
}  # fmt: skip


def report(tables: dict[str, pd.DataFrame], config: Any) -> Report:
    """The findings, then the sections: Method, thresholds, the figures and the tables."""
    cases = [c for c in CASES if c in set(config.cases)]
    method = (
        "Formulas: "
        + "; ".join(f"{k} = {v}" for k, v in FORMULA_EXPRESSIONS.items() if k in config.formulas)
        + ". "
        f"Cases, each over {config.points} log-spaced scales s from {number(config.scale_min, 4)} "
        "to "
        f"{number(config.scale_max, 4)} on {config.rows} rows of {config.classes} logits z ~ N(0, "
        "1): "
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
            views=VIEWS,
        ),
        Section(
            "Error against scale",
            figures=[
                (
                    "error_vs_scale",
                    "Max error of the probabilities in ulps against scale, per case and dtype "
                    "(log-softmax by exp(log p), the same quantity: its error in ulps of log p "
                    "is not comparable); x marks NaN/inf outputs.",
                )
            ],
        ),
        Section(
            "NaN, inf and zero outputs",
            figures=[
                (f"fractions_{c}", f"Fraction of NaN, inf and zero outputs, case {c}.")
                for c in cases
            ],
            fold=True,
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
            views=VIEWS,
        ),
        Section(
            "The sweep",
            tables=[("sweep", "Every point: case x dtype x formula x scale.")],
            views=VIEWS,
        ),
    ]
    return Report(
        title="Softmax overflow and underflow across precisions",
        summary=(
            "Where each softmax formula overflows or underflows, per precision, measured against "
            "an exact reference (after Blanchard, Higham & Higham 2021, 'Accurately computing "
            "the log-sum-exp and softmax functions')."
        ),
        findings=findings(tables),
        sections=sections,
    )


def headline(tables: dict[str, pd.DataFrame]) -> str:
    """One line: where the naive softmax first returns NaN in float32 (else the first dtype
    measured) and how often the max-shifted form broke."""
    ev = breaks_evidence(tables)
    over = ev["overflow"]
    dtype = "float32" if "float32" in over else next(iter(over), None)
    naive = "naive: no overflow in range"
    if dtype and over[dtype]["fails"]:
        at = "at most " if over[dtype]["from_start"] else ""
        naive = f"naive {dtype} NaN from {at}{number(over[dtype]['critical'], 7)}"
    if not ev["shifted_points"]:
        return f"{naive}; max-shifted not run"
    return f"{naive}; max-shifted broken at {ev['shifted_broken']}/{ev['shifted_points']} points"


def metrics(tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """The numbers of --json and the terminal summary: naive thresholds per kind and dtype,
    max-shifted failures; {} for a run without them."""
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
