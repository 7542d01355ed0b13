"""The figures of `nnhw verify`, drawn from its tables alone (so `nnhw report` can rebuild them).

Its own, from its measurements (median over seeds with the interquartile band, as
reporting.plotting.median_band draws it):
- zero_grad (1.2(a)): training loss per epoch with the gradients zeroed and accumulated;
- saturated_output (1.3(a)): accuracy per epoch from a saturated wrong output, MSE against BCE;
- deep_nets (1.3(b)): the deeper net with ReLU and with sigmoid: loss, first/last signal ratio,
  and the fraction of saturated sigmoid units (with its cut-off) per epoch;
- relu_dying (1.4(d)): dead ReLU and LeakyReLU units before and after training, per condition;
- centring (1.4(d)): loss per epoch with sigmoid, sigmoid - 1/2 and tanh units;
- activation_ranges (1.4(d)): sigmoid's and tanh's output range against the course's [-1, 1];
- activation_timing (1.4(d)): each activation's time over ReLU's with its 95% CI, per library;
- argmax_table (1.4(a)): the exact distance to the one-hot argmax and the smooth max's gap
  against the temperature.
The sub-studies' figures are drawn by the sub-studies' own figure functions from their tables
(named `<command>.<figure>`), so they look the same as in their own runs; verify draws only
those its report shows (`report.EVIDENCE`): the others are one `nnhw <study>` run away.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from nnhw.experiments.batch_scaling import figures as bs_figures
from nnhw.experiments.reporting.plotting import PALETTE, color_for, median_band, new_figure
from nnhw.experiments.vanishing_gradients import figures as vg_figures
from nnhw.experiments.verify.findings_training import SATURATED_CUTOFF
from nnhw.experiments.verify.report import EVIDENCE
from nnhw.experiments.verify.substudies import sub_config, substudy_tables

Tables = dict[str, pd.DataFrame]


def _curves(ax: Any, t: pd.DataFrame, by: str, value: str, colors: dict[str, str]) -> None:
    """Median and interquartile band over seeds of `value` per epoch, one line per `by`."""
    for name, color in colors.items():
        g = t[t[by] == name].pivot_table(index="epoch", columns="seed", values=value)
        if len(g):
            median_band(ax, g.index.to_numpy(), g.to_numpy(), color=color, label=str(name))


def _zero_grad_figure(t: pd.DataFrame) -> Figure:
    fig, ax = new_figure(width=5.5, height=3.4)
    _curves(ax, t, "mode", "train_loss",
            {"zeroed": PALETTE["blue"], "accumulated": PALETTE["vermillion"]})  # fmt: skip
    ax.set(xlabel="epoch", ylabel="training loss (MSE)", yscale="log")
    ax.set_title("Gradients zeroed before each backward, or accumulated")
    ax.legend(title="gradients")
    return fig


def _saturated_figure(t: pd.DataFrame) -> Figure:
    fig, ax = new_figure(width=5.5, height=3.4)
    _curves(ax, t, "loss", "train_accuracy", {"mse": PALETTE["vermillion"], "bce": PALETTE["blue"]})
    ax.set(xlabel="epoch", ylabel="training accuracy", ylim=(0, 1.02))
    ax.set_title("From a saturated wrong sigmoid output: MSE against BCE")
    ax.legend(title="loss")
    return fig


def _deep_figure(t: pd.DataFrame, cutoff: float) -> Figure:
    fig, axes = new_figure(1, 3, width=10.5, height=3.4)
    colors = {a: color_for(a) for a in ("relu", "sigmoid")}
    _curves(axes[0], t, "activation", "train_loss", colors)
    axes[0].set(xlabel="epoch", ylabel="training loss (MSE)", title="loss")
    _curves(axes[1], t, "activation", "signal_first_last", colors)
    axes[1].set(xlabel="epoch", ylabel="first / last hidden layer", yscale="log",
                title="back-propagated signal")  # fmt: skip
    _curves(axes[2], t[t["activation"] == "sigmoid"], "activation", "saturated_fraction",
            {"sigmoid": colors["sigmoid"]})  # fmt: skip
    axes[2].axhline(cutoff, color=PALETTE["black"], ls=":", lw=1, label=f"cut-off {cutoff:g}")
    axes[2].set(xlabel="epoch", ylabel="fraction of units", ylim=(-0.02, max(0.25, 2 * cutoff)),
                title="saturated sigmoid units")  # fmt: skip
    axes[0].legend(title="f")
    axes[2].legend(loc="upper right")
    depth = int(t["depth"].iloc[0]) if "depth" in t.columns and len(t) else 0
    fig.suptitle(f"A deeper net ({depth} hidden layers, g = sigmoid): ReLU against sigmoid")
    return fig


def _dying_figure(d: pd.DataFrame) -> Figure:
    fig, ax = new_figure(width=6.5, height=3.4)
    keys = list(dict.fromkeys(zip(d["condition"], d["activation"])))
    x = np.arange(len(keys))
    for dx, col, alpha, label in ((-0.2, "dead_before", 0.45, "before training"),
                                  (0.2, "dead_after", 1.0, "after training")):  # fmt: skip
        med = [float(d[(d["condition"] == c) & (d["activation"] == a)][col].median())
               for c, a in keys]  # fmt: skip
        lo = [float(d[(d["condition"] == c) & (d["activation"] == a)][col].min()) for c, a in keys]
        hi = [float(d[(d["condition"] == c) & (d["activation"] == a)][col].max()) for c, a in keys]
        bars = ax.bar(x + dx, med, 0.4, color=[color_for(a) for _, a in keys], alpha=alpha,
                      edgecolor=PALETTE["black"], linewidth=0.6, label=label,
                      yerr=[np.subtract(med, lo), np.subtract(hi, med)], capsize=2)  # fmt: skip
        ax.bar_label(bars, fmt="%.2f", fontsize=8)  # a bar of height 0 is otherwise invisible
    ax.set_xticks(x, [f"{a}\n{c}" for c, a in keys], fontsize=8)
    ax.set(ylabel="fraction of dead hidden units", ylim=(0, 1.2))
    ax.set_title("Dead units (median over seeds, bars min to max; pale: before)")
    return fig


def _centring_figure(t: pd.DataFrame) -> Figure:
    fig, ax = new_figure(width=5.5, height=3.4)
    _curves(ax, t, "activation", "train_loss",
            {"sigmoid": color_for("sigmoid"), "centred sigmoid": PALETTE["reddish purple"],
             "tanh": color_for("tanh")})  # fmt: skip
    ax.set(xlabel="epoch", ylabel="training loss (MSE)", yscale="log")
    ax.set_title("Zero-centred outputs: sigmoid, sigmoid - 1/2, tanh")
    ax.legend(title="hidden units")
    return fig


def _ranges_figure(r: pd.DataFrame) -> Figure:
    fig, ax = new_figure(width=6.0, height=3.0)
    ax.set_title("Sigmoid and tanh outputs against the course's [-1, 1]")
    rows = (
        r.groupby("activation", sort=False)
        .agg(min=("min", "min"), max=("max", "max"), mean=("mean", "median"))
        .reset_index()
    )  # over seeds: the extremes, the median mean
    for i, row in rows.iterrows():
        act = str(row["activation"]).split()[0]
        ax.plot([row["min"], row["max"]], [i, i], color=color_for(act), lw=6, solid_capstyle="butt")
        ax.plot([row["mean"]], [i], "o", color="black", ms=4)
    ax.axvspan(-1, 1, color=PALETTE["sky blue"], alpha=0.12, label="[-1, 1] (the course's range)")
    ax.set_yticks(range(len(rows)), rows["activation"])
    ax.set(xlabel="output value (bar: min to max over seeds; dot: mean)", xlim=(-1.1, 1.1))
    fig.legend(loc="outside lower center")  # inside, it sat on the sigmoid bar
    return fig


def _timing_figure(t: pd.DataFrame) -> Figure:
    fig, ax = new_figure(width=6.0, height=3.2)
    libs = list(dict.fromkeys(t["library"]))
    acts = [a for a in dict.fromkeys(t["activation"]) if a != "relu"]
    x = np.arange(len(acts))
    width = 0.8 / max(1, len(libs))
    for i, lib in enumerate(libs):
        g = t[t["library"] == lib].set_index("activation").reindex(acts)
        ratio = g["ratio"].to_numpy(float)
        err = [ratio - g["ratio_lo"].to_numpy(float), g["ratio_hi"].to_numpy(float) - ratio]
        ax.bar(x + (i - (len(libs) - 1) / 2) * width, ratio, width, yerr=err, capsize=2,
               color=[color_for(a) for a in acts], alpha=1.0 if i == 0 else 0.55,
               edgecolor=PALETTE["black"], linewidth=0.6, label=lib)  # fmt: skip
    margin = float(t["margin"].iloc[0]) if "margin" in t.columns else 1.1
    ax.axhspan(1 / margin, margin, color=PALETTE["sky blue"], alpha=0.15,
               label=f"within {margin:g}x of ReLU")  # fmt: skip
    ax.set_xticks(x, acts)
    ax.set(ylabel="time / ReLU's (median, 95% CI)")
    ax.set_title("Forward plus backward cost relative to ReLU")
    ax.legend(fontsize="small", title="library (pale: second)")
    return fig


def _argmax_figure(t: pd.DataFrame) -> Figure:
    fig, ax = new_figure(width=5.5, height=3.4)
    g = t.pivot_table(index="temperature", columns="seed", values="exact_onehot_distance")
    x = g.index.to_numpy()
    floor = 1e-20  # a distance that rounds to 0 in float64 is drawn at the floor
    median_band(ax, x, np.maximum(g.to_numpy(), floor), color=PALETTE["blue"],
                label="2 (1 - p_max), exact")  # fmt: skip
    lse = t.groupby("temperature")["lse_gap"].max()
    ax.plot(lse.index, np.maximum(lse.to_numpy(), floor), color=PALETTE["orange"], ls="--",
            label="T logsumexp(z/T) - max z")  # fmt: skip
    bound = t.groupby("temperature")["lse_bound"].first()
    ax.plot(bound.index, bound.to_numpy(), color=PALETTE["black"], ls=":", lw=1,
            label="T log K (its bound)")  # fmt: skip
    ax.set(xscale="log", yscale="log", xlabel="temperature T", ylim=(floor / 10, 10),
           ylabel="distance (log scale)")  # fmt: skip
    ax.invert_xaxis()
    ax.set_title("Softmax tends to the one-hot argmax as T falls (exact arithmetic)")
    ax.legend(fontsize="small")
    return fig


def _substudy_figure(command: str, name: str, tables: Tables, config: Any) -> Figure | None:
    """One figure of a sub-study, drawn by that study's own function from its tables; None
    when its tables are missing (an interrupted run). Only the figures the report shows are
    drawn: a study's `figures` draws all of them (20 for the three), most of which verify
    would throw away."""
    sub = substudy_tables(tables, command)
    cfg = sub_config(command, config)
    draw: dict[str, Callable[[], Figure]] = {
        "vanishing-gradients.signal_by_layer": lambda: vg_figures.by_layer_figure(sub, "signal"),
        "batch-scaling.gradient_norm": lambda: bs_figures.gradient_norm_figure(sub),
        "batch-scaling.lr_rules": lambda: bs_figures.lr_rules_figure(sub, cfg),
    }
    key = f"{command}.{name}"
    if not sub or key not in draw:
        return None
    try:
        return draw[key]()
    except KeyError:  # a table or column the figure needs is not there
        return None


def figures(tables: Tables, config: Any) -> dict[str, Figure]:
    out: dict[str, Figure] = {}
    own = {
        "zero_grad": _zero_grad_figure, "saturated_output": _saturated_figure,
        "deep_nets": lambda t: _deep_figure(t, SATURATED_CUTOFF), "relu_dying": _dying_figure,
        "centring": _centring_figure, "activation_ranges": _ranges_figure,
        "activation_timing": _timing_figure, "argmax_table": _argmax_figure,
    }  # fmt: skip
    shown = [f for figs, _ in EVIDENCE.values() for f in figs]
    for name in shown:
        if name in own and name in tables:
            out[name] = own[name](tables[name])
        elif "." in name:
            command, figure = name.split(".", 1)
            fig = _substudy_figure(command, figure, tables, config)
            if fig is not None:
                out[name] = fig
    return out
