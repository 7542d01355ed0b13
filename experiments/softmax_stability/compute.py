"""`nnhw softmax-stability`: where each softmax formula overflows or underflows, per precision,
measured against an exact (mpmath) reference, in the manner of Blanchard, Higham & Higham (2021),
"Accurately computing the log-sum-exp and softmax functions".

Tables (`compute`; the measurements themselves are in experiments.softmax_measure):
- `sweep`: one row per case x dtype x formula x scale (log-spaced from --scale-min to
  --scale-max): `representable` (all logits finite in the dtype; the metrics are NaN otherwise)
  and the metrics of `softmax_measure.METRICS`.
- `thresholds`: one row per case x dtype x formula: the first failing scale by bisection, the
  quantity the theory bounds at that scale (`critical_value`), the theory from np.finfo, the
  tolerance (bisection width + the dtype's spacing there, since logits are rounded to the dtype)
  and whether measurement and theory agree (`matches_theory`: the naive form fails where the
  theory says when that lies in the range; every other formula is expected never to fail).
- `cross_entropy`: one row per case x dtype x scale x method: the mean cross-entropy of the same
  logits and fixed labels computed as log of the naive softmax, log of the max-shifted softmax,
  and log-softmax, against the exact value (always all three methods, whatever --formulas says):
  abs_error, and rel_error where the exact mean loss is a normal float64 (NaN otherwise; inf when
  the computed loss is not finite).
- `temperature` (when the temperature case runs): the exact softmax of one row of logits z/T
  against T = 1/scale, one row per temperature x class.

The work runs as a sweep (experiments.sweep) over case x dtype cells (`cells`, `cell`), so
--workers, --dask and --resume apply. `thresholds_table(config)`, `temperature_table(config)` and
`compute(config, RunContext())` are what `nnhw verify` reuses; figures live in
experiments.softmax_figures, the course claims' evidence in
experiments.softmax_findings, the report in experiments.softmax_report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from nnhw.core.errors import NnhwError
from nnhw.experiments.runs.configfile import config_to_dict
from nnhw.experiments.runs.context import Interrupted, RunContext
from nnhw.experiments.runs.sweep import combine, grid, run_sweep
from nnhw.experiments.runs.validate import check_int, check_names
from nnhw.experiments.softmax_stability import measure as sm
from nnhw.experiments.softmax_stability import theory as st

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from nnhw.experiments.reporting.report import Report

COMMAND = "softmax-stability"
CE_METHODS = ("log-of-naive", "log-of-max-shifted", "log-softmax")
SCALE_LIMITS = (1e-30, 1e30)  # past every overflow threshold; keeps the plots' log axes sane
TINY64 = float(np.finfo(np.float64).tiny)
QUANTITY = {"overflow": "largest row logsumexp", "underflow": "smallest row maximum"}


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
        for option, value in (("--scale-min", self.scale_min), ("--scale-max", self.scale_max)):
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            if (
                not ok
                or not math.isfinite(value)
                or not SCALE_LIMITS[0] <= value <= SCALE_LIMITS[1]
            ):
                raise NnhwError(f"{option} must be a number from 1e-30 to 1e30, got {value!r}")
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


def thresholds_table(config: Config) -> pd.DataFrame:
    """First failing scale per case x dtype x formula (bisection), beside the theory."""
    return pd.DataFrame(
        [row for c in config.cases for d in config.dtypes for row in threshold_rows(config, c, d)]
    )


def cells(config: Config) -> list[dict[str, Any]]:
    """The sweep's cells: case x dtype (case slowest), each carrying every setting it needs."""
    common = {k: v for k, v in config_to_dict(config).items() if k not in ("cases", "dtypes")}
    return [{**cell, **common} for cell in grid({"case": config.cases, "dtype": config.dtypes})]


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


def temperature_table(config: Config) -> pd.DataFrame:
    """Exact softmax (float64) of the temperature case's first row at T = 1/scale, per class."""
    base = sm.draw_base("temperature", config.rows, config.classes, config.seed)
    z = base.z[:1]
    rows = []
    for scale in config.scales.tolist():
        x = sm.case_logits(
            "temperature", sm.Base(z, base.hot[:1], base.labels[:1]), scale, "float64"
        )
        assert x is not None
        p = sm.exact_reference(x).p_hi[0]
        top = int(np.argmax(z[0]))
        for k in range(config.classes):
            rows.append(
                {
                    "temperature": 1.0 / scale,
                    "class": k,
                    "logit": float(z[0, k]),
                    "probability": float(p[k]),
                    "is_argmax": k == top,
                }
            )
    return pd.DataFrame(rows)


def compute(config: Config, ctx: RunContext) -> dict[str, pd.DataFrame]:
    """All tables of the study (see the module docstring): a sweep over case x dtype cells."""
    try:
        results = run_sweep(cell, cells(config), ctx, config.seed, name="softmax")
    except KeyboardInterrupt:
        raise Interrupted({}) from None  # finished cells are on disk for --resume
    combined = combine(results)
    tables = {
        name: combined[name].drop(columns="cell")
        for name in ("sweep", "thresholds", "cross_entropy")
        if name in combined
    }
    if "temperature" in config.cases:
        tables["temperature"] = temperature_table(config)
    return tables


def figures(tables: dict[str, pd.DataFrame], config: Config) -> dict[str, Figure]:
    from nnhw.experiments.softmax_stability import figures as softmax_figures

    return softmax_figures.figures(tables, config)


def report(tables: dict[str, pd.DataFrame], config: Config) -> Report:
    from nnhw.experiments.softmax_stability import report as softmax_report

    return softmax_report.report(tables, config)


def headline(tables: dict[str, pd.DataFrame]) -> str:
    from nnhw.experiments.softmax_stability import findings as softmax_findings

    return softmax_findings.headline(tables)


def metrics(tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """The numbers of --json and the terminal summary: naive thresholds, max-shifted failures."""
    from nnhw.experiments.softmax_stability import findings as softmax_findings

    return softmax_findings.metrics(tables)
