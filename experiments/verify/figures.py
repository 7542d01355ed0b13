"""The figures of `nnhw verify`, drawn from its tables alone (so `nnhw report` can rebuild them).

Its own, from the core measurements: training_curves (train and test loss per epoch of both
course presets), activation_ranges (sigmoid's and tanh's output range against the course's
[-1, 1]), dead_units (ReLU and LeakyReLU before and after training, biases shifted) and
activation_cost (forward plus backward time of each activation).
The sub-studies' figures are drawn by the sub-studies themselves from their tables (named
`<command>.<figure>`), so they look the same as in their own runs; verify saves only those its
report shows (`report.EVIDENCE`): the others are one `nnhw <study>` run away.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from nnhw.experiments.reporting.plotting import PALETTE, close_figure, color_for, new_figure
from nnhw.experiments.runs import studies
from nnhw.experiments.verify.report import EVIDENCE
from nnhw.experiments.verify.substudies import SUBSTUDIES, sub_config, substudy_tables

Tables = dict[str, pd.DataFrame]


def _training_figure(t: pd.DataFrame) -> Figure:
    fig, axes = new_figure(1, 2, width=8.0, height=3.2)
    for ax, (net, g) in zip(axes, t.groupby("net", sort=True)):
        ax.plot(g["epoch"], g["train_loss"], color=PALETTE["blue"], label="train")
        ax.plot(g["epoch"], g["test_loss"], color=PALETTE["orange"], label="test", ls="--")
        ax.set(title=f"{net} preset", xlabel="epoch", ylabel="MSE loss", yscale="log")
        ax.legend()
    return fig


def _ranges_figure(r: pd.DataFrame) -> Figure:
    fig, ax = new_figure(width=6.0, height=3.0)
    ax.set_title("Sigmoid and tanh outputs against the course's [-1, 1]")
    rows = r.reset_index(drop=True)
    for i, row in rows.iterrows():
        act = str(row["activation"]).split()[0]
        ax.plot([row["min"], row["max"]], [i, i], color=color_for(act), lw=6, solid_capstyle="butt")
        ax.plot([row["mean"]], [i], "o", color="black", ms=4)
    ax.axvspan(-1, 1, color=PALETTE["sky blue"], alpha=0.12, label="[-1, 1] (the course's range)")
    ax.set_yticks(range(len(rows)), rows["activation"])
    ax.set(xlabel="output value (bar: min to max; dot: mean)", xlim=(-1.1, 1.1))
    ax.legend(loc="lower left", fontsize="small")
    return fig


def _dead_figure(d: pd.DataFrame) -> Figure:
    fig, ax = new_figure(width=5.0, height=3.0)
    x = np.arange(len(d))
    colors = [color_for(a) for a in d["activation"]]  # the activation's colour, pale = before
    for dx, col, alpha, label in ((-0.2, "dead_before", 0.45, "before training"),
                                  (0.2, "dead_after", 1.0, "after training")):  # fmt: skip
        bars = ax.bar(x + dx, d[col], 0.4, color=colors, alpha=alpha, edgecolor=PALETTE["black"],
                      linewidth=0.6, label=label)  # fmt: skip
        ax.bar_label(bars, fmt="%.2f", fontsize=8)  # a bar of height 0 is otherwise invisible
    ax.set_xticks(x, d["activation"])
    ax.set(ylabel="fraction of dead hidden units", ylim=(0, 1.15))
    ax.set_title("Dead units, biases shifted by -3 (pale: before training)")
    return fig


def _cost_figure(c: pd.DataFrame) -> Figure:
    fig, ax = new_figure(width=5.0, height=3.0)
    ax.bar(c["activation"], c["median_us"], color=[color_for(a) for a in c["activation"]])
    ax.set(ylabel="forward + backward time (µs, median)", xlabel="activation")
    ax.set_title("Cost of each activation on the same array")
    return fig


def figures(tables: Tables, config: Any) -> dict[str, Figure]:
    out: dict[str, Figure] = {}
    own = {
        "training_curves": _training_figure, "activation_ranges": _ranges_figure,
        "dead_units": _dead_figure, "activation_cost": _cost_figure,
    }  # fmt: skip
    for name, draw in own.items():
        if name in tables:
            out[name] = draw(tables[name])
    shown = {f for figs, _ in EVIDENCE.values() for f in figs}
    for command in SUBSTUDIES:
        sub = substudy_tables(tables, command)
        if sub:
            figs = studies.load(command).figures(sub, sub_config(command, config))
            for k, fig in figs.items():
                if f"{command}.{k}" in shown:
                    out[f"{command}.{k}"] = fig
                else:  # the study's own run has it; saving costs more than drawing
                    close_figure(fig)
    return out
