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
from nnhw.experiments.reporting.plotting import PALETTE, close_figure, color_for, new_figure
from nnhw.experiments.reporting.report import Finding, Report, Section

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


# captions of the evidence shown in the claims' sections (a bare file name said nothing)
CAPTIONS: dict[str, str] = {
    "gradient_checks": "Worst relative error of each parameter's hand-written gradient against "
    "central finite differences and PyTorch autograd, per net and loss.",
    "training_curves": "Training and test loss per epoch of the two course presets (log scale).",
    "symmetry": "Largest distance between two hidden units' incoming weights, before and after "
    "training, from zero and from random initialisation.",
    "linear_collapse": "Relative distance of the Linear-identity-Linear net from its composed "
    "affine map (algebraic) and from least squares (trained), with test R².",
    "activation_ranges": "Smallest, largest and mean output of sigmoid and tanh, over z in "
    "[-50, 50] and in the trained net's hidden layer.",
    "dead_units": "Fraction of dead hidden units before and after training, every hidden bias "
    "shifted by -3 at initialisation.",
    "activation_cost": "Median forward plus backward time of each activation on the same array.",
    "vanishing-gradients.signal_by_layer": "Back-propagated signal per hidden layer at "
    "initialisation, per activation and initialisation (vanishing-gradients sub-study).",
    "vanishing-gradients.fitted_vs_predicted": "Every fitted per-layer factor against the one "
    "variance propagation predicts (vanishing-gradients sub-study).",
    "vanishing-gradients.summary": "Fitted and predicted per-layer factors, first/last ratios.",
    "softmax-stability.temperature": "Softmax of one row of logits as the temperature falls, and "
    "its distance to the one-hot argmax (softmax-stability sub-study).",
    "softmax-stability.error_vs_scale": "Error against the exact softmax in ulps, per case, "
    "precision and formula; x marks broken outputs (softmax-stability sub-study).",
    "softmax-stability.thresholds": "First failing scale of each formula by bisection, beside "
    "log(finfo.max) and log(smallest subnormal / 2).",
    "batch-scaling.gradient_norm": "Minibatch gradient norm against the batch size, summed and "
    "mean loss, with the noise model and B_simple (batch-scaling sub-study).",
    "batch-scaling.slopes": "Log-log slopes of the gradient norm against B per range.",
}


def _sentence(measured: str, numbers: str) -> str:
    """A finding from a claim's row: its numbers when they are a sentence already, else what
    was measured followed by them ('Worst relative error ...: finite differences 1.2e-10; ...')."""
    numbers = numbers.strip()
    if numbers[:1].isupper() and len(numbers.split()) >= 12:  # "LeakyReLU 153 us vs ..." is not
        return numbers if numbers.endswith(".") else numbers + "."
    text = f"{measured[:1].upper()}{measured[1:]}: {numbers}"
    return text if text.endswith(".") else text + "."


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
    from nnhw.experiments.runs import studies
    from nnhw.experiments.verify.compute import SUBSTUDIES, sub_config, substudy_tables

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
    from nnhw.experiments.verify.compute import claims_table_from

    c = claims_table_from(tables, config)
    findings = [
        Finding(_sentence(r.measured, r.numbers), r.verdict, f"{r.section} {r.claim}")
        for r in c.itertuples()
    ]
    sections = [Section(
        "Claims", "Each claim of the course's homework answers, what nnhw measured, and the "
        "verdict. The expected column is the verdict the theory (as corrected here) predicts; "
        "nnhw verify --strict fails when they differ. The sub-studies' full tables are in "
        "tables/<study>.<table>.csv.",
        tables=[("claims", "One row per claim: section, claim, what was measured, the numbers, "
                 "the verdict and the expected one, and the file that shows it.")],
    )]  # fmt: skip
    for r in c.itertuples():
        figs, tabs = EVIDENCE.get(r.id, ([], []))
        result = r.numbers.strip().rstrip(".")
        sections.append(Section(
            f"{r.section} — {r.claim}",
            f"Measured: {r.measured}. Result: {result}. Verdict: {r.verdict}.",
            tables=[(t, CAPTIONS.get(t, t)) for t in tabs],
            figures=[(f, CAPTIONS.get(f, f)) for f in figs],
        ))  # fmt: skip
    mode = "full-size" if config.thorough else "reduced-size (use --thorough for full size)"
    return Report(
        "The course's theory, claim by claim",
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
