"""The figures of `nnhw compare-activations`, drawn from its tables alone (so `nnhw report` can
rebuild them). One colour per activation (experiments.plotting.ACTIVATION_COLORS).

- loss_curves: training and test loss over epochs, median over seeds with the interquartile
  band, the target loss dashed; log scale where the losses span decades, its bottom at most two
  decades below the lowest median (a seed that reaches 1e-30 does not flatten the others).
- gradient_norms: one panel per activation, ||dL/dW_l|| over epochs (median over seeds,
  interquartile band), log scale; at most five weight layers (W1, the last and three evenly
  between; the legend says which), each with its own marker.
- unit_health: dead-unit fraction (relu, leaky-relu, and any other activation with dead units)
  and saturated-unit fraction of the hidden layers over epochs (mean over seeds and layers).
- activation_ranges: min-max range (over epochs, seeds, layers) and final mean of the hidden
  outputs per activation, lines at 0 and +-1 (sigmoid stays inside (0, 1)); symlog y axis
  (plotting.symlog_ticks: uncrowded ticks however many decades).
- timing: forward-plus-backward time relative to the baseline (median of the paired per-round
  ratio, interquartile bars), for the activation alone (NumPy, and PyTorch hatched when
  measured) and for the whole net.
- decision_boundaries (2-D classification): member 0's output over the plane per activation, the
  0.5 contour and the test points; fit_curves (1-D regression): member 0's fitted curves.
- depth_effect (several depths only): experiments.compare_activations_depth_figure.

With several depths (--depths) every figure but depth_effect shows the deepest depth (the report's
captions say so), so the number of figures does not grow with the number of cells.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import matplotlib
import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from nnhw.experiments.compare_activations.depth import at_depth, depths_of, ensure_depth
from nnhw.experiments.reporting.plotting import (
    PALETTE,
    color_for,
    floor_log_axis,
    linestyle_for,
    median_band,
    new_figure,
    ordered_styles,
    pick_evenly,
    spans_decades,
    symlog_ticks,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

Tables = dict[str, pd.DataFrame]
DYING = ("relu", "leaky-relu")  # the activations whose dead units the course talks about


def activations(df: pd.DataFrame) -> list[str]:
    """The activations of a table, in the order they first appear (the configured order)."""
    return list(dict.fromkeys(df["activation"].astype(str)))


def _finite(values: Any) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    return v[np.isfinite(v)]


def _log_scale(ax: Any, values: Any) -> None:
    if spans_decades(_finite(values)):
        ax.set_yscale("log", nonpositive="mask")


def _band(ax: Any, df: pd.DataFrame, column: str, color: Any, label: str, **line: Any) -> float:
    """Median over seeds of `column` against epoch with its interquartile band; returns the
    lowest positive median (where a log axis may stop)."""
    by_seed = df.pivot_table(index="epoch", columns="seed", values=column, aggfunc="first",
                             dropna=False)  # fmt: skip
    med = median_band(ax, by_seed.index.to_numpy(), by_seed.to_numpy(), color=color, label=label,
                      **line)  # fmt: skip
    positive = med[np.isfinite(med) & (med > 0)]
    return float(positive.min()) if positive.size else math.inf


def loss_figure(tables: Tables, config: Any) -> Figure:
    history = tables["history"]
    fig, axes = new_figure(1, 2, width=9.5, height=3.8, sharey=True)
    lowest = math.inf
    for ax, part in zip(axes, ("train", "test")):
        for act in activations(history):
            h = history[history["activation"] == act]
            low = _band(ax, h, f"{part}_loss", color_for(act), act, ls=linestyle_for(act))
            lowest = min(lowest, low)
        if config is not None and config.target_loss is not None:
            ax.axhline(
                config.target_loss,
                color=PALETTE["black"],
                linestyle="--",
                linewidth=1,
                label=f"target {config.target_loss:g}",
            )
        ax.set_xlabel("epoch")
        ax.set_title(f"{part} loss")
    _log_scale(axes[0], history[["train_loss", "test_loss"]].to_numpy().ravel())
    floor_log_axis(axes[0], lowest, decades=2.0)
    axes[0].set_ylabel("loss (median over seeds;\nband: interquartile range)")
    handles, labels = axes[1].get_legend_handles_labels()  # below the panels: inside, it hid curves
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 6))
    return fig


def _panels(n: int) -> tuple[int, int]:
    """(rows, cols) of a panel grid for n panels: 2 x 2 for four, at most 3 columns."""
    cols = n if n <= 3 else (2 if n == 4 else 3)
    return (n + cols - 1) // cols, cols


def _bottom_of_column(i: int, n: int, cols: int) -> bool:
    """Whether panel i has no panel below it (its x axis is the one to label)."""
    return i + cols >= n


def gradient_figure(tables: Tables) -> Figure:
    layers = tables["layers"]
    acts = activations(layers)
    rows, cols = _panels(len(acts))
    fig, axes = new_figure(
        rows, cols, width=3.4 * cols, height=2.9 * rows, squeeze=False, sharey=True
    )
    n_layers = int(layers["layer"].max())
    # Layers dark (input side) to light (output side), a marker each: nine viridis shades were
    # one blur, so deep nets show W1, the last and three layers evenly between.
    shown = pick_evenly(list(range(1, n_layers + 1)), 5)
    styles = ordered_styles(shown)
    n_epochs = int(layers["epoch"].max()) + 1
    lowest = math.inf
    for i, ax in enumerate(axes.ravel()):
        if i >= len(acts):
            ax.set_visible(False)
            continue
        act = acts[i]
        df = layers[layers["activation"] == act]
        for l in shown:
            low = _band(ax, df[df["layer"] == l], "grad_norm", styles[l]["color"], f"W{l}",
                        marker=styles[l]["marker"], markevery=max(1, n_epochs // 8),
                        markersize=4)  # fmt: skip
            lowest = min(lowest, low)
        ax.set_title(act, color=color_for(act))
        if np.any(_finite(df["grad_norm"]) > 0):
            ax.set_yscale("log", nonpositive="mask")
        if i % cols == 0:
            ax.set_ylabel("||dL/dW_l|| (full batch)")
        if _bottom_of_column(i, len(acts), cols):
            ax.set_xlabel("epoch")
    for ax in axes.ravel():  # shared y: one floor, two decades under the lowest median
        floor_log_axis(ax, lowest, decades=2.0)
    handles, labels = axes.ravel()[0].get_legend_handles_labels()  # below: inside, it hid lines
    which = "" if len(shown) == n_layers else f"; {len(shown)} of {n_layers} layers shown"
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels),
               title=f"weight layer (W1: input side, W{n_layers}: output){which}")  # fmt: skip
    fig.suptitle("Weight-gradient norm per layer (median over seeds, band: interquartile range)")
    return fig


def unit_health_figure(tables: Tables) -> Figure:
    layers = tables["layers"].dropna(subset=["act_mean"])  # hidden layers only
    fig, (ax_dead, ax_sat) = new_figure(1, 2, width=9.5, height=3.6, sharex=True, sharey=True)
    for ax, column in ((ax_dead, "dead_fraction"), (ax_sat, "saturated_fraction")):
        for act in activations(layers):
            df = layers[layers["activation"] == act]
            if df[column].isna().all():
                continue  # cannot saturate: no line rather than a line at 0
            if column == "dead_fraction" and act not in DYING and not (df[column] > 0).any():
                continue  # units of smooth activations do not die; keep the panel readable
            per_epoch = df.groupby("epoch")[column].mean()
            style = {"color": color_for(act), "ls": linestyle_for(act)}
            ax.plot(per_epoch.index, per_epoch.to_numpy(), label=act, **style)
        ax.set_xlabel("epoch")
        ax.set_ylim(-0.02, 1.02)
        if not ax.get_legend_handles_labels()[0]:  # e.g. only relu and leaky-relu
            kind = "dies" if column == "dead_fraction" else "saturates"
            ax.text(0.5, 0.5, f"no activation here {kind}", ha="center", transform=ax.transAxes)
    ax_dead.set_title("dead units (zero derivative on every point)")
    ax_sat.set_title("saturated units (derivative < 5% of its max)")
    ax_dead.set_ylabel("fraction of hidden units")
    _legend_below(fig, [ax_dead, ax_sat])
    return fig


def _legend_below(fig: Figure, axes: list[Any], **kw: Any) -> None:
    """One legend under the panels for every labelled line of `axes` (inside a panel, a legend
    sat on the lines it names)."""
    seen: dict[str, Any] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(label, handle)
    if seen:
        fig.legend(list(seen.values()), list(seen), loc="outside lower center",
                   ncols=min(len(seen), 6), **kw)  # fmt: skip


def range_figure(tables: Tables) -> Figure:
    summary = tables["summary"]
    fig, ax = new_figure(width=6.4, height=3.6)
    acts = activations(summary)
    for i, act in enumerate(acts):
        row = summary[summary["activation"] == act].iloc[0]
        ax.vlines(i, row["act_min"], row["act_max"], color=color_for(act), linewidth=6)
        label = "mean (final epoch)" if i == 0 else None  # white edge: visible on a black bar
        ax.plot([i], [row["act_mean"]], "o", color="black", ms=6, mec="white", label=label)
    for y in (-1.0, 0.0, 1.0):
        ax.axhline(y, color=PALETTE["black"], linewidth=0.8, linestyle=":" if y else "-")
    ax.set_xticks(range(len(acts)), acts)
    ax.set_xlabel("hidden activation")
    # linear inside [-1, 1], where sigmoid and tanh live; logarithmic beyond (ReLU's outputs)
    ax.set_yscale("symlog", linthresh=1.0)
    # 1, 2, 5 per decade over two decades (ReLU's max of 5.5 needs a tick between 1 and 10);
    # powers of ten beyond, or 2000, 1000, 500, ... crowd into one smear
    ax.set_yticks(symlog_ticks(ax.get_ylim()))
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_ylabel("hidden-layer output (min to max)")
    ax.set_title("Output range of the hidden units")
    _legend_below(fig, [ax])
    return fig


def timing_figure(tables: Tables) -> Figure:
    timing = tables["timing"]
    fig, ax = new_figure(width=6.8, height=3.6)
    acts = activations(timing)
    library = timing["library"] if "library" in timing.columns else pd.Series("numpy", timing.index)
    groups = [
        (scope, lib, label)
        for scope, lib, label in (
            ("activation", "numpy", "activation alone, NumPy"),
            ("activation", "torch", "activation alone, PyTorch"),
            ("net", "numpy", "whole net (forward + backward)"),
        )
        if ((timing["scope"] == scope) & (library == lib)).any()
    ]
    width = 0.8 / len(groups)
    for j, (scope, lib, label) in enumerate(groups):
        rows = timing[(timing["scope"] == scope) & (library == lib)]
        df = rows.set_index("activation").reindex(acts)
        x = np.arange(len(acts)) + (j - (len(groups) - 1) / 2) * width
        if "ratio_q1" in df.columns:  # the spread of the paired per-round ratio
            err = np.vstack([df["ratio"] - df["ratio_q1"], df["ratio_q3"] - df["ratio"]])
        else:  # older runs: the time quartiles, relative to the baseline's median
            base = df["median_s"] / df["ratio"]
            err = np.vstack(
                [(df["median_s"] - df["q1_s"]) / base, (df["q3_s"] - df["median_s"]) / base]
            )
        ax.bar(x, df["ratio"].to_numpy(), width, yerr=err, capsize=3, label=label,
               color=[color_for(a) for a in acts], alpha=0.5 if scope == "net" else 1.0,
               hatch="//" if lib == "torch" else None,
               edgecolor=PALETTE["black"], linewidth=0.6)  # fmt: skip
    baseline = str(timing["baseline"].iloc[0])
    ax.axhline(1.0, color=PALETTE["black"], linewidth=0.8)
    ax.set_xticks(range(len(acts)), acts)
    ax.set_xlabel("hidden activation")
    ax.set_ylabel(f"time / {baseline}'s time (median)")
    ax.set_title("Forward + backward cost (hatched: PyTorch; pale: whole net)")
    ax.legend(fontsize=8)
    return fig


def boundary_figure(tables: Tables) -> Figure:
    grid, points = tables["decision_grid"], tables["points"]
    acts = activations(grid)
    rows, cols = _panels(len(acts))
    fig, axes = new_figure(
        rows, cols, width=3.3 * cols, height=3.0 * rows, squeeze=False, sharex=True, sharey=True
    )
    n = round(np.sqrt(len(grid[grid["activation"] == acts[0]])))
    classes = sorted(int(c) for c in points["label"].unique())
    for i, ax in enumerate(axes.ravel()):
        if i >= len(acts):
            ax.set_visible(False)
            continue
        g = grid[grid["activation"] == acts[i]]
        x1, x2 = (g[c].to_numpy().reshape(n, n) for c in ("x1", "x2"))
        if len(classes) <= 2:  # the net's output for class 1 and its 0.5 contour
            p = np.clip(np.nan_to_num(g["p"].to_numpy().reshape(n, n), nan=0.5), 0, 1)
            ax.contourf(x1, x2, p, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.55)
            ax.contour(x1, x2, p, levels=[0.5], colors=PALETTE["black"], linewidths=1)
        else:  # the predicted class
            pred = g["predicted"].to_numpy().reshape(n, n)
            levels = np.arange(len(classes) + 1) - 0.5
            ax.contourf(x1, x2, pred, levels=levels, cmap="Pastel1", alpha=0.8)
        for c, marker, face in zip(classes, "o^sDv", ("black", "white", "0.55", "0.3", "0.8")):
            pts = points[points["label"] == c]
            ax.scatter(
                pts["x1"],
                pts["x2"],
                s=10,
                marker=marker,
                facecolor=face,
                edgecolors=PALETTE["black"],
                linewidths=0.4,
                label=f"class {c}",
            )
        ax.set_title(acts[i], color=color_for(acts[i]))
        if i % cols == 0:
            ax.set_ylabel("x2")
        if _bottom_of_column(i, len(acts), cols):
            ax.set_xlabel("x1")
            ax.xaxis.set_tick_params(labelbottom=True)
        ax.grid(False)
    _legend_below(fig, [axes.ravel()[0]], markerscale=2)
    return fig


def fit_figure(tables: Tables) -> Figure:
    curve, points = tables["fit_curve"], tables["points"]
    fig, ax = new_figure(width=6.4, height=3.8)
    ax.scatter(
        points["x1"],
        points["y"],
        s=6,
        color=PALETTE["black"],
        alpha=0.4,
        edgecolors="none",
        label="test points",
    )
    for act in activations(curve):
        c = curve[curve["activation"] == act]
        ax.plot(c["x1"], c["y_hat"], color=color_for(act), ls=linestyle_for(act), label=act)
    ax.set_xlabel("x1")
    ax.set_ylabel("y (seed 0's prediction)")
    _legend_below(fig, [ax])
    return fig


def figures(tables: Tables, config: Any) -> dict[str, Figure]:
    """Every figure whose tables exist (a partial run draws what it can)."""

    tables = ensure_depth(tables)
    depths = depths_of(tables)
    out: dict[str, Figure] = {}
    if len(depths) > 1 and "summary" in tables:
        out["depth_effect"] = depth_figure(tables["summary"], getattr(config, "epochs", None))
    if depths:
        tables = at_depth(tables, depths[-1])
    one_net = set(out)
    if "history" in tables:
        out["loss_curves"] = loss_figure(tables, config)
    if "layers" in tables:
        out["gradient_norms"] = gradient_figure(tables)
        out["unit_health"] = unit_health_figure(tables)
    if "summary" in tables:
        out["activation_ranges"] = range_figure(tables)
    if "timing" in tables:
        out["timing"] = timing_figure(tables)
    if "decision_grid" in tables and "points" in tables and "label" in tables["points"]:
        out["decision_boundaries"] = boundary_figure(tables)
    if "fit_curve" in tables and "points" in tables and "y" in tables["points"]:
        out["fit_curves"] = fit_figure(tables)
    if len(depths) > 1:  # the one-net figures say which net they show
        listed = ", ".join(map(str, depths))
        which = f"Net with {depths[-1]} hidden layers (the deepest of {listed})"
        for name in [n for n in out if n not in one_net]:
            _say_depth(out[name], which)
    return out


def _say_depth(fig: Figure, text: str) -> None:
    """Add `text` to a figure's title (a line of its own), or make it the title."""
    title = fig._suptitle.get_text() if fig._suptitle is not None else ""
    fig.suptitle(f"{title}\n{text}" if title else text)


def _depth_axis(ax: Any, depths: list[int]) -> None:
    if depths[-1] >= 4 * depths[0]:  # 1, 2, 4, 8: evenly spaced on a log2 axis
        ax.set_xscale("log", base=2)
    ax.set_xticks(depths, [str(d) for d in depths])
    ax.minorticks_off()
    ax.set_xlabel("depth (hidden layers)")


def depth_figure(summary: pd.DataFrame, epochs: int | None) -> Figure:
    """The depth_effect figure (module docstring); `epochs` is the epoch budget (None: the
    largest epoch count among the rows)."""
    depths = sorted(int(d) for d in summary["depth"].unique())
    acts = list(dict.fromkeys(summary["activation"].astype(str)))
    budget = float(epochs) if epochs else float(np.nanmax(summary["epochs_to_target"]))
    fig, (ax_e, ax_g) = new_figure(1, 2, width=9.5, height=3.9)
    for act in acts:
        rows = summary[summary["activation"] == act].sort_values("depth")
        d = rows["depth"].to_numpy(int)
        style = {"color": color_for(act), "ls": linestyle_for(act)}
        reached, seeds = rows["reached"].to_numpy(int), rows["seeds"].to_numpy(int)
        e = np.where(reached > 0, rows["epochs_to_target"].to_numpy(float), budget)
        ax_e.plot(d, e, label=act, **style)
        for mask, kw in (
            (reached == seeds, {"marker": "o"}),
            ((reached > 0) & (reached < seeds), {"marker": "o", "mfc": "white"}),
            (reached == 0, {"marker": "x", "ms": 8, "mew": 2}),
        ):
            ax_e.plot(d[mask], e[mask], ls="none", color=color_for(act), **kw)
        ratio = rows["grad_ratio"].to_numpy(float)
        ok = np.isfinite(ratio) & (ratio > 0)
        ax_g.plot(d[ok], ratio[ok], marker="o", label=act, **style)
    if (summary["reached"] == 0).any():  # a cross sits on the budget: draw it
        ax_e.axhline(budget, color=PALETTE["black"], linestyle=":", linewidth=1)
        ax_e.set_ylim(bottom=0, top=budget * 1.08)
    else:
        ax_e.set_ylim(bottom=0)
    ax_e.set_ylabel(f"epochs to target loss (of {budget:g})")
    ax_e.set_title("Training speed")
    ax_g.axhline(1.0, color=PALETTE["black"], linewidth=0.8)
    ax_g.set_yscale("log")
    lo, hi = ax_g.get_ylim()
    if hi / lo < 100:  # under two decades: ticks at 1, 2, 5 per decade, written plainly
        ax_g.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        ax_g.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax_g.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax_g.set_ylabel("||dL/dW_1|| / ||dL/dW_last|| (ratio)")
    ax_g.set_title("Gradient reaching the first layer")
    for ax in (ax_e, ax_g):
        _depth_axis(ax, depths)
    handles = [Line2D([], [], color=color_for(a), ls=linestyle_for(a), label=a) for a in acts]
    handles += [
        Line2D([], [], color="0.3", marker="o", ls="none", label="every seed reached it"),
        Line2D([], [], color="0.3", marker="o", mfc="white", ls="none", label="some seeds did"),
        Line2D([], [], color="0.3", marker="x", mew=2, ls="none", label=f"none (at {budget:g})"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=4)
    fig.suptitle("ReLU against sigmoid as the net gets deeper")
    return fig
