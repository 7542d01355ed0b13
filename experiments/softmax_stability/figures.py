"""Figures of `nnhw softmax-stability`, drawn from its tables alone.

- `error_vs_scale`: max error of the probabilities in ulps against scale, log-log; a row of
  panels per case, a column per dtype, a line per formula, the condition 1 + max|x - max x|
  dashed for reference; broken outputs (NaN/inf) marked with x at the top of the panel; scales
  whose logits the dtype cannot hold are shaded. Log-softmax is drawn by the error of exp(log p)
  in ulps of p (`max_prob_ulp_error`), the same quantity as the others': its error in ulps of
  log p (up to 1e16 near log p = 0, where one ulp of log p is ~1e-16) made the most accurate
  formula look the worst.
- `fractions_<case>`: the fraction of NaN, inf and zero outputs against scale (rows), per dtype
  (columns), a line per formula; the zero row also shows the exact results that round to 0.
- `temperature`: the exact softmax of one row of logits against the temperature, and the L1
  distance to the one-hot argmax (exact and max-shifted per dtype).
- `cross_entropy`: relative error of the mean cross-entropy against scale, per case and dtype, a
  line per method; infinite or NaN losses marked as in `error_vs_scale`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.ticker import LogLocator, NullLocator

from nnhw.experiments.reporting.plotting import PALETTE, colors_for, new_figure
from nnhw.experiments.softmax_stability.measure import CASES, DTYPES, FORMULAS

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

FLOOR = 1e-2  # errors below this many ulps are drawn at the floor
CE_FLOOR = 1e-17  # relative errors of the cross-entropy below this are drawn at it
MARKERS = ("o", "s", "^", "D", "v", "P")
LINESTYLES = ("-", "--", "-.", ":")  # overlapping lines stay visible
SCALE_LABEL = "scale s (1/T for temperature)"


def _log_axis(ax: Axes, which: str) -> None:
    """A log scale with at most ~7 labelled decades and no minor ticks: the panels span up to
    300 decades, and thousands of tick artists would dominate the drawing time."""
    lims = ax.dataLim.intervalx if which == "x" else ax.dataLim.intervaly
    empty = not (np.all(np.isfinite(lims)) and lims[0] > 0)  # nothing positive was drawn
    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    if empty:
        (ax.set_xlim if which == "x" else ax.set_ylim)(0.1, 10.0)
    axis = ax.xaxis if which == "x" else ax.yaxis
    axis.set_major_locator(LogLocator(base=10, numticks=7))
    axis.set_minor_locator(NullLocator())


def _present(values: pd.Series, order: tuple[str, ...]) -> list[str]:
    seen = set(values.astype(str))
    return [v for v in order if v in seen] + sorted(seen - set(order))


def _shade_unrepresentable(ax: Axes, part: pd.DataFrame) -> bool:
    bad = part.loc[~part["representable"].astype(bool), "scale"]
    if bad.empty:
        return False
    ax.axvspan(
        float(bad.min()), float(part["scale"].max()), color=PALETTE["black"], alpha=0.08, lw=0
    )
    return True


def _error_lines(
    ax: Axes,
    part: pd.DataFrame,
    by: str,
    names: list[str],
    value: str,
    colors: dict[str, str],
    floor: float,
) -> None:
    """One line per `by` value of `value` against scale (log-log, values below `floor` drawn at
    it; NaN and inf not drawn). Failures -- broken rows (sweep) or non-finite losses
    (cross-entropy) -- are drawn as x at the top of the panel, one height per line."""
    top = ax.get_xaxis_transform()  # x in data, y in axes coordinates
    for i, name in enumerate(names):
        rows = part[part[by] == name].sort_values("scale")
        y = rows[value].to_numpy(dtype=float)
        ok = np.isfinite(y)
        ax.plot(
            rows["scale"][ok],
            np.maximum(y[ok], floor),
            color=colors[name],
            label=name,
            marker=MARKERS[i % len(MARKERS)],
            markersize=3,
            ls=LINESTYLES[i % len(LINESTYLES)],  # equal errors (log-softmax and exp-logsumexp
            lw=max(0.8, 2.2 - 0.4 * i),  # share exp(x - lse)) must not hide one line
        )
        if "broken_fraction" in rows:
            failed = (rows["broken_fraction"] > 0).to_numpy()
        else:  # cross-entropy: a loss that is not finite
            failed = ~np.isfinite(rows["mean_loss"].to_numpy(dtype=float))
        if failed.any():
            ax.plot(
                rows["scale"][failed],
                np.full(int(failed.sum()), 0.96 - 0.05 * i),
                "x",
                color=colors[name],
                transform=top,
                markersize=5,
                clip_on=False,
            )
    _log_axis(ax, "x")
    _log_axis(ax, "y")


def _grid_figure(
    df: pd.DataFrame, by: str, names: list[str], value: str, floor: float, ylabel: str
) -> tuple[Figure, Any]:
    """A panel per case (rows) and dtype (columns) of `value` against scale, a line per `by`."""
    cases, dtypes = _present(df["case"], CASES), _present(df["dtype"], DTYPES)
    colors = colors_for(names)
    # 9.5 inches for three dtypes: shown at 2/3 in a report it fits the column unshrunk, so its
    # 9-10 pt text shows at 12-14 CSS px (11.4 inches was shrunk to 81%)
    fig, axes = new_figure(len(cases), len(dtypes), width=3.0 * len(dtypes) + 0.5,
                           height=2.5 * len(cases) + 1.0, squeeze=False, sharex=True)  # fmt: skip
    for r, case in enumerate(cases):
        for c, dtype in enumerate(dtypes):
            ax = axes[r][c]
            part = df[(df["case"] == case) & (df["dtype"] == dtype)]
            _error_lines(ax, part, by, names, value, colors, floor)
            if "representable" in part:  # the sweep: shading and the condition for reference
                _shade_unrepresentable(ax, part)
                cond = part[part["formula"] == names[0]].sort_values("scale")
                ax.plot(cond["scale"], cond["condition"], ls="--", color="0.5", lw=1,
                        label="condition 1 + max|x - max x|")  # fmt: skip
            ax.set_title(f"{case}, {dtype}")
            ax.set_xlabel(SCALE_LABEL if r == len(cases) - 1 else "")
            ax.set_ylabel(ylabel if c == 0 else "")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center",
               ncols=min(len(labels), 2 * len(dtypes)), title=by)  # fmt: skip
    return fig, axes


def _error_figure(sweep: pd.DataFrame) -> Figure:
    formulas = _present(sweep["formula"], FORMULAS)
    # tables written before max_prob_ulp_error existed: the old column (log-softmax in ulps of
    # log p, not comparable; the caption of such a run says so)
    column = "max_prob_ulp_error" if "max_prob_ulp_error" in sweep else "max_ulp_error"
    fig, _ = _grid_figure(sweep, "formula", formulas, column, FLOOR, "max error of p (ulp)")
    fig.suptitle(
        "Max error of the probabilities against the exact softmax (log-softmax: of exp(log p))\n"
        f"< {FLOOR} ulp drawn at {FLOOR}; x: broken rows; shaded: logits beyond the dtype's range"
    )
    return fig


def _fractions_figure(sweep: pd.DataFrame, case: str) -> Figure:
    data = sweep[sweep["case"] == case]
    dtypes, formulas = _present(data["dtype"], DTYPES), _present(data["formula"], FORMULAS)
    colors = colors_for(formulas)
    metrics = (("nan_fraction", "NaN"), ("inf_fraction", "inf"), ("zero_fraction", "zero"))
    fig, axes = new_figure(
        3,
        len(dtypes),
        width=3.0 * len(dtypes) + 0.5,
        height=7.4,
        squeeze=False,
        sharex=True,
        sharey=True,
    )
    for r, (metric, label) in enumerate(metrics):
        for c, dtype in enumerate(dtypes):
            ax = axes[r][c]
            part = data[data["dtype"] == dtype]
            _shade_unrepresentable(ax, part)
            for i, formula in enumerate(formulas):
                rows = part[part["formula"] == formula].sort_values("scale")
                ax.plot(
                    rows["scale"],
                    rows[metric],
                    color=colors[formula],
                    label=formula,
                    ls=LINESTYLES[i % len(LINESTYLES)],
                    lw=2.4 - 0.4 * i,
                )
            if metric == "zero_fraction":
                rows = part[part["formula"] == formulas[0]].sort_values("scale")
                ax.plot(
                    rows["scale"],
                    rows["exact_zero_fraction"],
                    ls="--",
                    color="0.4",
                    lw=1,
                    label="exact result rounds to 0 (softmax space)",
                )
            _log_axis(ax, "x")
            ax.set_ylim(-0.05, 1.05)
            ax.set_title(f"{dtype}: {label} outputs")
            ax.set_xlabel(SCALE_LABEL if r == 2 else "")
            ax.set_ylabel(f"fraction {label}" if c == 0 else "")
    handles, labels = axes[2][0].get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="outside lower center",
        ncols=min(len(labels), 2 * len(dtypes)),
        title="formula",
    )
    fig.suptitle(f"Case {case}: NaN, inf and zero outputs (log-softmax: zero means p = 1)")
    return fig


def _temperature_figure(temperature: pd.DataFrame, sweep: pd.DataFrame) -> Figure:
    fig, (left, right) = new_figure(1, 2, width=9.5, height=4.2)
    classes = sorted(set(temperature["class"]))
    for k in classes:
        rows = temperature[temperature["class"] == k].sort_values("temperature")
        top = bool(rows["is_argmax"].iloc[0])
        left.plot(
            rows["temperature"],
            rows["probability"],
            color="black" if top else "0.6",
            lw=2.4 if top else 1.0,
            label=f"argmax class (logit {rows['logit'].iloc[0]:.2f})" if top else None,
        )
    _log_axis(left, "x")
    left.set_xlabel("temperature T (softmax of z / T)")
    left.set_ylabel("probability (exact)")
    left.set_title("Softmax of one row of logits against T")
    left.legend(loc="center left")
    data = sweep[(sweep["case"] == "temperature") & (sweep["formula"] == "max-shifted")]
    dtypes = _present(data["dtype"], DTYPES)
    colors = colors_for(dtypes)
    bottom = right.get_xaxis_transform()
    exact = data[data["dtype"] == dtypes[-1]].sort_values("scale") if dtypes else data
    pos = exact["exact_onehot_distance"] > 0
    right.plot(
        1.0 / exact["scale"][pos],
        exact["exact_onehot_distance"][pos],
        color="black",
        lw=2.4,
        label=f"exact ({dtypes[-1] if dtypes else ''} logits)",
    )
    for i, dtype in enumerate(dtypes):
        rows = data[data["dtype"] == dtype].sort_values("scale")
        d = rows["onehot_distance"].to_numpy(dtype=float)
        t = 1.0 / rows["scale"].to_numpy(dtype=float)
        right.plot(
            t[d > 0],
            d[d > 0],
            color=colors[dtype],
            marker=MARKERS[i],
            markersize=3,
            lw=1.2,
            label=f"max-shifted, {dtype}",
        )
        if (d == 0).any():  # an empty unclipped line would collapse the constrained layout
            right.plot(
                t[d == 0],
                np.full(int((d == 0).sum()), 0.03 + 0.04 * i),
                "v",
                color=colors[dtype],
                transform=bottom,
                markersize=4,
                clip_on=False,
            )
    _log_axis(right, "x")
    _log_axis(right, "y")
    positive = data["exact_onehot_distance"].to_numpy(dtype=float)
    positive = positive[positive > 0]
    right.set_ylim(float(positive.min()) / 10 if positive.size else 1e-3, 10.0)
    right.set_xlabel("temperature T")
    right.set_ylabel("max over rows of sum |p - onehot(argmax)|")
    right.set_title("Distance to the one-hot argmax (v: exactly one-hot)")
    right.legend(loc="lower right")
    return fig


def _cross_entropy_figure(ce: pd.DataFrame) -> Figure:
    methods = _present(ce["method"], ("log-of-naive", "log-of-max-shifted", "log-softmax"))
    fig, _ = _grid_figure(ce, "method", methods, "rel_error", CE_FLOOR, "relative error of loss")
    fig.suptitle(
        f"Mean cross-entropy against the exact value\n< {CE_FLOOR} drawn at {CE_FLOOR}; x: inf or "
        "NaN loss"
    )
    return fig


def figures(tables: dict[str, pd.DataFrame], config: Any) -> dict[str, Figure]:
    """Every figure whose table is present (see the module docstring)."""
    out: dict[str, Figure] = {}
    sweep = tables.get("sweep")
    if sweep is not None and not sweep.empty:
        out["error_vs_scale"] = _error_figure(sweep)
        for case in _present(sweep["case"], CASES):
            out[f"fractions_{case}"] = _fractions_figure(sweep, case)
        if "temperature" in tables and not tables["temperature"].empty:
            out["temperature"] = _temperature_figure(tables["temperature"], sweep)
    ce = tables.get("cross_entropy")
    if ce is not None and not ce.empty:
        out["cross_entropy"] = _cross_entropy_figure(ce)
    return out
