"""The figures of `nnhw vanishing-gradients`, drawn from its tables alone (so `nnhw report` can
rebuild them from the saved CSVs); `figures(tables, config)` draws every one whose tables are
present.

- signal_by_layer / weight_grad_by_layer / act_std_by_layer: the measured quantity against the
  hidden layer, one line per depth, a panel per activation x init (rows x columns); log y where a
  panel spans 1.5 decades or more, linear below. The theory dashed in the same colour (gradients
  anchored at the measured last hidden layer, since theory gives their shape, not the loss's
  scale; stds absolute).
- fitted_vs_predicted: every fitted factor against its prediction, log-log, with y = x.
- training_heatmap: log10 of the weight-gradient norm (geometric mean over seeds), layer x epoch,
  a panel per activation x init at the deepest depth, one shared colour scale.
- dead_relu: the measured dead fraction against depth with +-2 standard errors, a colour per width,
  and the formula 1 - (1 - 2^-width)^depth as a line.
- factor_curve: the mean-field theory for every activation studied: the signal's per-layer factor
  at the fixed point against n Var(W) (zero biases), one line per activation, 1 marked (the
  critical point, where a line crosses it continuously), the studied inits as vertical lines and
  the measured factors at the deepest depth as points on them, beside the theory's at that depth
  (the deep-net limit and a finite depth differ where the variance is still moving).
- selfnorm: the self-normalisation check: mean and variance of each hidden layer's activations
  (median over seeds and interquartile band) for SELU, ELU, ReLU and tanh with LeCun-normal
  weights, the theory dashed, the targets 0 and 1 dotted.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter

from nnhw.experiments.reporting.plotting import (
    color_for,
    linestyle_for,
    median_band,
    new_figure,
    ordered_styles,
    sequential_colors,
)
from nnhw.experiments.vanishing_gradients.fits import KEYS, hidden_layers
from nnhw.experiments.vanishing_gradients.theory import dead_relu_probability

Tables = dict[str, pd.DataFrame]
_LABELS = {
    "signal": ("signal_norm", "predicted_signal", "||dL/dz_l|| (RMS over seeds)"),
    "weight_grad": ("weight_grad_norm", "predicted_weight_grad", "||dL/dW_l||_F (RMS over seeds)"),
    "act_std": ("act_std", "predicted_act_std", "std of a_l (RMS over seeds)"),
}
_TITLES = {
    "signal": "Back-propagated signal per hidden layer at initialisation",
    "weight_grad": "Weight-gradient norm per hidden layer at initialisation",
    "act_std": "Activation std per hidden layer at initialisation",
}
_MARKERS = {"signal": "o", "weight_grad": "s", "act_std": "^"}


def _order(values: pd.Series) -> list[Any]:
    return list(dict.fromkeys(values))


def _panel_grid(df: pd.DataFrame) -> tuple[list[str], list[str]]:
    return _order(df["activation"]), _order(df["init"])


def _depth_styles(depths: list[int]) -> dict[int, dict[str, Any]]:
    # shades of one colour map (the palette's colours would read as activations: blue = relu),
    # and a marker each: neighbouring shades (depths 8 and 16) are hard to tell apart alone
    return ordered_styles(int(d) for d in depths)


def _y_scale(ax: Any, values: np.ndarray) -> None:
    """Log y with plain 1e-05 labels when the data spans 1.5 decades or more (the default mathtext
    labels cost seconds on a 12-panel grid); linear otherwise."""
    v = values[np.isfinite(values) & (values > 0)]
    if v.size < 2 or np.log10(v.max() / v.min()) < 1.5:
        return
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, numticks=8))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:.0e}"))
    ax.yaxis.set_minor_formatter(NullFormatter())


def _outer_labels(ax: Any, i: int, j: int, rows: int, xlabel: str, ylabel: str) -> None:
    """Axis labels on the bottom row and left column of a grid of panels sharing them."""
    if i == rows - 1:
        ax.set_xlabel(xlabel)
    if j == 0:
        ax.set_ylabel(ylabel)


def by_layer_figure(tables: Tables, quantity: str) -> Figure:
    """Measured `quantity` against hidden layer with the theory dashed (module docstring)."""
    column, predicted, ylabel = _LABELS[quantity]
    h = hidden_layers(tables["layers"])
    rms = np.sqrt((h[column] ** 2).groupby([h[k] for k in [*KEYS, "layer"]], sort=False).mean())
    measured = rms.rename("value").reset_index()
    theory = tables["theory"]
    acts, inits = _panel_grid(measured)
    styles = _depth_styles(sorted(measured["depth"].unique()))
    fig, axes = new_figure(
        len(acts),
        len(inits),
        width=3.0 * len(inits) + 0.6,
        height=2.4 * len(acts) + 0.6,
        squeeze=False,
        sharex=True,
    )
    for i, act in enumerate(acts):
        for j, init in enumerate(inits):
            ax = axes[i][j]
            case = measured[(measured["activation"] == act) & (measured["init"] == init)]
            for depth, g in case.groupby("depth", sort=True):
                g = g.sort_values("layer")
                c, marker = styles[int(depth)]["color"], styles[int(depth)]["marker"]
                ax.plot(g["layer"], g["value"], marker=marker, ms=3.5, color=c,
                        label=f"depth {depth}")  # fmt: skip
                t = theory[
                    (theory["activation"] == act)
                    & (theory["init"] == init)
                    & (theory["depth"] == depth)
                ].sort_values("layer")
                if len(t) == len(g):
                    scale = 1.0 if quantity == "act_std" else g["value"].to_numpy()[-1]
                    ax.plot(t["layer"], t[predicted] * scale, ls="--", lw=1.0, color=c)
            _y_scale(ax, case["value"].to_numpy())
            ax.set_title(f"{act}, {init}")
            _outer_labels(ax, i, j, len(acts), "hidden layer l (1 = input side)", ylabel)
    # one legend below the grid: inside a panel it covered the lines it names
    handles, labels = axes[0][0].get_legend_handles_labels()
    handles.append(Line2D([], [], color="black", ls="--", lw=1.0))
    labels.append("theory (dashed, same colour)")
    fig.legend(handles, labels, loc="outside lower center", ncols=min(6, len(labels)))
    fig.suptitle(f"{_TITLES[quantity]}: measured (solid) and variance propagation (dashed)")
    return fig


def fitted_vs_predicted_figure(tables: Tables) -> Figure:
    """Every fitted factor against its prediction (log-log) with the identity line."""
    s = tables["summary"]
    s = s[np.isfinite(s["fitted_factor"]) & np.isfinite(s["predicted_factor"])]
    fig, ax = new_figure(width=7.4, height=4.6)
    for act in _order(s["activation"]):
        for quantity, marker in _MARKERS.items():
            g = s[(s["activation"] == act) & (s["quantity"] == quantity)]
            if len(g):
                ax.scatter(
                    g["predicted_factor"],
                    g["fitted_factor"],
                    marker=marker,
                    s=18,
                    color=color_for(act),
                    alpha=0.8,
                )
    values = np.concatenate([s["fitted_factor"], s["predicted_factor"]]) if len(s) else [1.0]
    lo, hi = float(np.min(values)) / 1.2, float(np.max(values)) * 1.2
    ax.plot([lo, hi], [lo, hi], color="black", lw=0.8, ls=":", label="fitted = predicted")
    ax.set_xscale("log")
    ax.set_yscale("log")
    # the factors span about one decade: label 0.1, 0.2, 0.5, 1, 2 so points can be read off
    ticks = [t for t in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10) if lo <= t <= hi]
    if len(ticks) >= 2:
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_locator(FixedLocator(ticks))
            axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            axis.set_minor_formatter(NullFormatter())
    ax.set_title("Per-layer factor, fitted against predicted (every case and depth)")
    ax.set_xlabel("predicted per-layer factor (variance propagation)")
    ax.set_ylabel("fitted per-layer factor (geometric mean of ratios)")
    # Two keys beside the axes, colour = activation and marker = quantity: one entry per pair
    # (12 at 6 pt, more with more activations) sat on the points it named.
    acts = list(_order(s["activation"]))
    by_act = [Line2D([], [], ls="none", marker="o", color=color_for(a), label=a) for a in acts]
    by_qty = [Line2D([], [], ls="none", marker=m, color="0.35", label=q)
              for q, m in _MARKERS.items() if q in set(s["quantity"])]  # fmt: skip
    by_qty.append(Line2D([], [], color="black", lw=0.8, ls=":", label="fitted = predicted"))
    fig.legend(handles=by_act, loc="outside right upper", title="activation (colour)")
    fig.legend(handles=by_qty, loc="outside right lower", title="quantity (marker)")
    return fig


def training_heatmap_figure(tables: Tables) -> Figure:
    """log10 weight-gradient norm, layer x epoch, at the deepest depth of each case."""
    t = tables["training"]
    deepest = int(t["depth"].max())
    t = t[t["depth"] == deepest]
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log10(t["weight_grad_norm"].where(t["weight_grad_norm"] > 0))
    t = t.assign(log_norm=logs)
    mean = t.groupby(["activation", "init", "layer", "epoch"], sort=False)["log_norm"].mean()
    finite = mean[np.isfinite(mean)]
    norm = Normalize(float(finite.min()), float(finite.max())) if len(finite) else Normalize(0, 1)
    acts, inits = _panel_grid(t)
    fig, axes = new_figure(
        len(acts),
        len(inits),
        width=3.0 * len(inits) + 1.2,
        height=2.3 * len(acts) + 0.6,
        squeeze=False,
    )
    image = None
    for i, act in enumerate(acts):
        for j, init in enumerate(inits):
            ax = axes[i][j]
            grid = mean.loc[act, init].unstack("epoch").sort_index()
            epochs = grid.columns.to_numpy()
            extent = (epochs.min() - 0.5, epochs.max() + 0.5, grid.index.max() + 0.5, 0.5)
            image = ax.imshow(
                grid.to_numpy(dtype=float),
                aspect="auto",
                norm=norm,
                extent=extent,
                interpolation="nearest",
            )
            ax.grid(False)
            ax.set_title(f"{act}, {init}")
            ylabel = f"layer (depth {deepest}; {deepest + 1} = output)"
            _outer_labels(ax, i, j, len(acts), "epoch (0 = initialisation)", ylabel)
    if image is not None:
        fig.colorbar(image, ax=axes, label="log10 ||dL/dW_l||_F (mean over seeds)", shrink=0.6)
    fig.suptitle(f"Weight-gradient norm per layer during SGD training, depth {deepest}")
    return fig


def dead_relu_figure(tables: Tables) -> Figure:
    """Measured dead fraction (+-2 SE) and the formula, against depth, a colour per width."""
    d = tables["dead_relu"]
    fig, ax = new_figure(width=7.2, height=4.0)
    widths = sorted(d["width"].unique())
    colors = {f"width {w}": c for w, c in sequential_colors(widths).items()}
    dense = np.geomspace(max(1.0, float(d["depth"].min())), float(d["depth"].max()), 200)
    for w in widths:
        g = d[d["width"] == w].sort_values("depth")
        c = colors[f"width {w}"]
        ax.errorbar(
            g["depth"],
            g["dead_fraction"],
            yerr=2 * g["std_error"],
            fmt="o",
            ms=4,
            color=c,
            capsize=2,
            label=f"width {w}",
        )
        ax.plot(dense, dead_relu_probability(int(w), dense), color=c, lw=1.0, ls="--")
    ax.plot([], [], color="black", lw=1.0, ls="--", label="1 - (1 - 2^-width)^depth")
    if len(d) and d["depth"].max() > 1:
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
    ax.set_xlabel("depth (hidden layers)")
    ax.set_ylabel("fraction of inputs with output identically 0")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), title="measured ± 2 SE")
    return fig


def factor_curve_figure(tables: Tables) -> Figure:
    """The signal's factor at the fixed point against n Var(W), measured factors on top."""
    curve = tables["factor_curve"]
    fig, ax = new_figure(width=7.8, height=4.6)
    acts = _order(curve["activation"])
    for act in acts:
        g = curve[curve["activation"] == act].sort_values("sigma_w2")
        # a gap where the iterates switch from collapsing to diverging: the factor jumps there
        y = g["factor_star"].to_numpy(dtype=float).copy()
        kinds = g["kind"].to_numpy()
        jump = np.nonzero((kinds[1:] != kinds[:-1]) & (kinds[1:] != "fixed point")
                          & (kinds[:-1] != "fixed point"))[0]  # fmt: skip
        x = g["sigma_w2"].to_numpy(dtype=float)
        x, y = np.insert(x, jump + 1, np.nan), np.insert(y, jump + 1, np.nan)
        ax.plot(x, y, color=color_for(act), ls=linestyle_for(act), lw=1.4, label=act)
    ax.axhline(1.0, color="black", lw=0.8, ls=":")
    fixed, cases = tables.get("fixed_points"), tables.get("vanishing")
    if fixed is not None and len(fixed):
        names = fixed.groupby("init", sort=False)["sigma_w2"].first()
        for s_w2, inits in names.groupby(names.round(12), sort=False):  # one label per position
            ax.axvline(s_w2, color="0.6", lw=0.8, ls="--")
            ax.annotate(" / ".join(map(str, inits.index)), (s_w2, 0.02), rotation=90,
                        va="bottom", ha="right", fontsize=8, color="0.35",
                        xycoords=ax.get_xaxis_transform())  # fmt: skip
        if cases is not None and len(cases):
            at = cases.merge(fixed[["activation", "init", "sigma_w2"]], on=["activation", "init"])
            for r in at.itertuples():
                color = color_for(str(r.activation))
                ax.scatter([r.sigma_w2], [r.fitted_factor], color=color, marker="o", s=28,
                           edgecolors="black", linewidths=0.5, zorder=3)  # fmt: skip
                ax.scatter([r.sigma_w2], [r.predicted_factor], facecolors="none", marker="D",
                           s=30, edgecolors=color, linewidths=1.0, zorder=3)  # fmt: skip
            depth = int(cases["depth"].max())
            ax.scatter([], [], color="0.5", marker="o", edgecolors="black", linewidths=0.5,
                       label=f"measured, depth {depth}")  # fmt: skip
            ax.scatter([], [], facecolors="none", marker="D", edgecolors="0.3",
                       label=f"theory, depth {depth}")  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ticks = [0.1, 0.2, 0.5, 1, 2, 5, 10]
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(FixedLocator(ticks))
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        axis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("n Var(W): the weight variance times the fan-in (zero biases)")
    ax.set_ylabel("signal factor per layer at the fixed point, sqrt(chi*)")
    ax.set_title("Mean-field theory: the gradient's factor per layer deep in the net (1: critical)")
    fig.legend(loc="outside right upper", title="activation")
    return fig


def selfnorm_figure(tables: Tables) -> Figure:
    """Mean and variance of the activations per layer: SELU against ELU, ReLU and tanh."""
    sn, theory = tables["selfnorm"], tables.get("selfnorm_theory")
    fig, (ax_m, ax_v) = new_figure(1, 2, width=10.0, height=4.2)
    for act in _order(sn["activation"]):
        g = sn[sn["activation"] == act]
        layers = np.sort(g["layer"].unique())
        for ax, column in ((ax_m, "act_mean"), (ax_v, "act_var")):
            values = g.pivot_table(index="layer", columns="seed", values=column).reindex(layers)
            # solid for every activation here: dashed is the theory's
            median_band(ax, layers, values.to_numpy(), color=color_for(act), label=act, lw=1.4)
            if theory is not None:
                t = theory[theory["activation"] == act].sort_values("layer")
                column_t = "predicted_mean" if column == "act_mean" else "predicted_var"
                ax.plot(t["layer"], t[column_t], color=color_for(act), lw=1.0, ls="--")
    ax_m.axhline(0.0, color="black", lw=0.8, ls=":")
    ax_v.axhline(1.0, color="black", lw=0.8, ls=":")
    ax_v.set_yscale("log")
    ax_v.yaxis.set_major_locator(LogLocator(base=10, numticks=8))
    ax_v.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:.0e}"))
    ax_v.yaxis.set_minor_formatter(NullFormatter())
    init = str(sn["init"].iloc[0]) if len(sn) else ""
    ax_m.set_title("mean of a_l (target 0)")
    ax_v.set_title("variance of a_l (target 1)")
    for ax in (ax_m, ax_v):
        ax.set_xlabel("hidden layer l")
    ax_m.set_ylabel("over inputs and units")
    handles, labels = ax_m.get_legend_handles_labels()
    handles.append(Line2D([], [], color="black", ls="--", lw=1.0))
    labels.append("theory (dashed, same colour)")
    fig.legend(handles, labels, loc="outside lower center", ncols=min(5, len(labels)))
    fig.suptitle(f"Self-normalisation with {init} weights: median over seeds, interquartile band")
    return fig


def figures(tables: Tables, config: Any) -> dict[str, Figure]:
    """Every figure whose tables are present."""
    out: dict[str, Figure] = {}
    if "layers" in tables and "theory" in tables and len(tables["layers"]):
        for quantity in ("signal", "weight_grad", "act_std"):
            out[f"{quantity}_by_layer"] = by_layer_figure(tables, quantity)
    if "summary" in tables and len(tables["summary"]):
        out["fitted_vs_predicted"] = fitted_vs_predicted_figure(tables)
    if "training" in tables and len(tables["training"]):
        out["training_heatmap"] = training_heatmap_figure(tables)
    if "dead_relu" in tables and len(tables["dead_relu"]):
        out["dead_relu"] = dead_relu_figure(tables)
    if "factor_curve" in tables and len(tables["factor_curve"]):
        out["factor_curve"] = factor_curve_figure(tables)
    if "selfnorm" in tables and len(tables["selfnorm"]):
        out["selfnorm"] = selfnorm_figure(tables)
    return out
