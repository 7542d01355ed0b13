"""The depth figure of `nnhw compare-activations --depths` (from the summary table alone).

depth_effect: two panels against the number of hidden layers, one line per activation in its fixed
colour (experiments.plotting): left, the mean epochs to the target training loss over the seeds that
reached it (filled marker: every seed did; open marker: some did; a cross on the dotted line at the
epoch budget, drawn only then: none did); right, the first-to-last layer weight-gradient ratio
||dL/dW_1|| / ||dL/dW_{L+1}|| (geometric mean over seeds and epochs, log scale, 1 = no loss on the
way to the first layer). The legend sits under the panels, never over the data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from experiments.plotting import PALETTE, color_for, linestyle_for, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure


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
