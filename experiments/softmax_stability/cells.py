"""One cell of `nnhw softmax-stability`: one case x dtype, measured at every swept scale.

Contract: `cell(params, seed) -> dict[str, DataFrame]` (a module-level function, so the sweep's
process and Dask executors can pickle it). `params` holds the case, the dtype and the other
settings of the Config (softmax_stability.compute.cells); the tables are that case and dtype's
rows of `sweep` and `cross_entropy` (`point_rows`) and of `thresholds` (`threshold_rows`), as
described in softmax_stability.compute. The logits come from `measure.draw_base(case, ...,
config seed)`, not from the cell's stream `seed`, so that every dtype of a case rounds the same
logits.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from nnhw.experiments.softmax_stability import measure as sm
from nnhw.experiments.softmax_stability import theory as st
from nnhw.experiments.softmax_stability.config import Config

CE_METHODS = ("log-of-naive", "log-of-max-shifted", "log-softmax")
TINY64 = float(np.finfo(np.float64).tiny)
QUANTITY = {"overflow": "largest row logsumexp", "underflow": "smallest row maximum"}


def _cross_entropy(x: np.ndarray, labels: np.ndarray, ref: sm.Reference) -> list[dict[str, Any]]:
    """Mean cross-entropy of logits x (rows, classes) with `labels` (rows,), three ways."""
    pick = (np.arange(len(x)), labels)
    exact = -(ref.logp_hi[pick] + ref.logp_lo[pick])
    exact_mean = float(exact.mean())
    out = []
    for method in CE_METHODS:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if method == "log-softmax":
                loss = -sm.apply_formula("log-softmax", x)[pick]
            else:
                p = sm.apply_formula(method.removeprefix("log-of-"), x)
                loss = -np.log(p[pick])
            loss = loss.astype(np.float64)
            mean = float(loss.mean())
            error = abs(mean - exact_mean) if math.isfinite(mean) else math.inf
        # relative error only where the exact loss is a normal float64 (it can be ~1e-400)
        rel = error / exact_mean if exact_mean >= TINY64 else math.nan
        out.append(
            {
                "method": method,
                "mean_loss": mean,
                "exact_mean_loss": exact_mean,
                "abs_error": error,
                "rel_error": rel,
                "nan_fraction": float(np.isnan(loss).mean()),
                "inf_fraction": float(np.isinf(loss).mean()),
            }
        )
    return out


def point_rows(config: Config, case: str, dtype: str) -> tuple[list[dict], list[dict]]:
    """Rows of the `sweep` and `cross_entropy` tables for one case and dtype."""
    base = sm.draw_base(case, config.rows, config.classes, config.seed)
    sweep: list[dict[str, Any]] = []
    ce: list[dict[str, Any]] = []
    for scale in config.scales.tolist():
        key = {"case": case, "dtype": dtype}
        x = sm.case_logits(case, base, scale, dtype)
        if x is None:
            nan = dict.fromkeys(sm.METRICS, math.nan)
            sweep += [
                {**key, "formula": f, "scale": scale, "representable": False, **nan}
                for f in config.formulas
            ]
            continue
        ref = sm.exact_reference(x)
        sweep += [
            {**key, "formula": f, "scale": scale, "representable": True, **sm.measure(f, x, ref)}
            for f in config.formulas
        ]
        ce += [{**key, "scale": scale, **row} for row in _cross_entropy(x, base.labels, ref)]
    return sweep, ce


def threshold_rows(config: Config, case: str, dtype: str) -> list[dict[str, Any]]:
    """Rows of the `thresholds` table for one case and dtype: one per formula."""
    kind = sm.CASE_KIND[case]
    base = sm.draw_base(case, config.rows, config.classes, config.seed)
    theory = st.theory(kind, dtype)
    spacing = float(abs(np.spacing(np.array(theory, dtype=dtype))))
    rows = []
    for formula in config.formulas:
        th = st.find_threshold(case, formula, dtype, base, config.scales)
        x_end = sm.case_logits(case, base, th.checked, dtype)
        reach = math.nan if x_end is None else st.critical_value(case, x_end)
        # the naive form should fail exactly when the theory's threshold lies in the range
        expected = formula == "naive" and (reach > theory if kind == "overflow" else reach < theory)
        tolerance = st.BISECT_RTOL * abs(th.critical) + spacing if th.fails else math.nan
        diff = th.critical - theory
        rows.append(
            {
                "case": case,
                "kind": kind,
                "dtype": dtype,
                "formula": formula,
                "fails_in_range": th.fails,
                "scale_last_ok": th.last_ok,
                "scale_first_fail": th.first_fail,
                "quantity": QUANTITY[kind],
                "critical_value": th.critical,
                "theory": theory,
                "theory_expression": st.THEORY_EXPRESSION[kind],
                "difference": diff,
                "tolerance": tolerance,
                "expected_to_fail": expected,
                "matches_theory": (th.fails and abs(diff) <= tolerance)
                if expected
                else not th.fails,
                "checked_up_to": th.checked,
            }
        )
    return rows


def cell(params: dict[str, Any], seed: np.random.SeedSequence) -> dict[str, pd.DataFrame]:
    """One case x dtype: its sweep, cross-entropy and threshold rows. The logits come from
    `draw_base(case, ..., config seed)`, not from the cell's stream, so that every dtype of a
    case rounds the same logits (and the result still depends only on the settings)."""
    case, dtype = params["case"], params["dtype"]
    rest = {k: v for k, v in params.items() if k not in ("case", "dtype")}
    config = Config(cases=(case,), dtypes=(dtype,), **rest)
    sweep, ce = point_rows(config, case, dtype)
    return {
        "sweep": pd.DataFrame(sweep),
        "cross_entropy": pd.DataFrame(ce),
        "thresholds": pd.DataFrame(threshold_rows(config, case, dtype)),
    }
