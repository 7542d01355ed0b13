"""Figures, report and headline of `nnhw verify`, from its tables alone.

The report opens with the claims table (claim, homework section, what was measured, the numbers,
the verdict, and the file that shows it), then one section per claim with its figure. The
sub-studies' figures are drawn by the sub-studies themselves from their tables (named
`<command>.<figure>`), so they look the same as in their own runs; verify saves only those its
report shows (`EVIDENCE`): the others are one `nnhw <study>` run away.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from experiments.plotting import PALETTE, close_figure, color_for, new_figure
from experiments.report import Finding, Report, Section

Tables = dict[str, pd.DataFrame]

# claim id -> (figures, tables) shown in its section
EVIDENCE: dict[str, tuple[list[str], list[str]]] = {
    "derivatives-regression": ([], ["gradient_checks"]),
    "derivatives-classification": ([], []),
    "training-loop": (["training_curves"], []),
    "zero-init": ([], ["symmetry"]),
    "linear-collapse": ([], ["linear_collapse"]),
    "sigmoid-range": (["activation_ranges"], ["activation_ranges"]),
    "sigmoid-mean": ([], []),
    "relu-dead": (["dead_units"], ["dead_units"]),
    "leaky-no-dead": ([], []),
    "relu-cheap": (["activation_cost"], ["activation_cost"]),
    "leaky-cost": ([], []),
    "sigmoid-vanishes": (["vanishing-gradients.signal_by_layer"], []),
    "tanh-vanishes": (["vanishing-gradients.fitted_vs_predicted"], ["vanishing-gradients.summary"]),
    "softmax-argmax": (["softmax-stability.temperature"], []),
    "softmax-breaks": (["softmax-stability.error_vs_scale"], ["softmax-stability.thresholds"]),
    "batch-scaling": (["batch-scaling.gradient_norm"], ["batch-scaling.slopes"]),
}


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
    ax.bar(x - 0.2, d["dead_before"], 0.4, label="before training", color=PALETTE["sky blue"])
    ax.bar(x + 0.2, d["dead_after"], 0.4, label="after training", color=PALETTE["vermillion"])
    ax.set_xticks(x, d["activation"])
    ax.set(ylabel="fraction of dead hidden units", ylim=(0, 1.05))
    ax.legend()
    return fig


def _cost_figure(c: pd.DataFrame) -> Figure:
    fig, ax = new_figure(width=5.0, height=3.0)
    ax.bar(c["activation"], c["median_us"], color=[color_for(a) for a in c["activation"]])
    ax.set(ylabel="forward + backward time (µs, median)")
    return fig


def figures(tables: Tables, config: Any) -> dict[str, Figure]:
    from experiments import studies
    from experiments.verify import SUBSTUDIES, sub_config, substudy_tables

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


def report(tables: Tables, config: Any) -> Report:
    from experiments.verify import claims_table_from

    c = claims_table_from(tables, config)
    findings = [Finding(r.numbers, r.verdict, f"{r.section} {r.claim}") for r in c.itertuples()]
    sections = [Section(
        "Claims", "Each claim of the course's homework answers, what nnhw measured, and the "
        "verdict. `expected` is the verdict the theory (as corrected here) predicts; "
        "`nnhw verify --strict` fails when they differ. The sub-studies' full tables are in "
        "tables/<study>.<table>.csv.",
        tables=[("claims", "one row per claim")],
    )]  # fmt: skip
    for r in c.itertuples():
        figs, tabs = EVIDENCE.get(r.id, ([], []))
        sections.append(Section(
            f"{r.section} — {r.claim}",
            f"Measured: {r.measured}. Result: {r.numbers} Verdict: **{r.verdict}**.",
            tables=[(t, t) for t in tabs], figures=[(f, f) for f in figs],
        ))  # fmt: skip
    mode = "full-size" if config.thorough else "reduced-size (use --thorough for full size)"
    return Report(
        "nnhw verify: the course's theory, claim by claim",
        f"{len(c)} claims of the course's answers (sections 1.2 to 1.4) tested with "
        f"{mode} measurements: {headline(tables)}.",
        findings,
        sections,
    )


def headline(tables: Tables) -> str:
    c = tables.get("claims")
    if c is None or c.empty:
        return "no claims judged"
    counts = c["category"].value_counts()
    parts = [f"{int(counts.get(k, 0))} {k}" for k in ("supported", "refuted", "holds only when")]
    return ", ".join(parts)
