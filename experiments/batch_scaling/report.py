"""The report, headline and JSON metrics of `nnhw batch-scaling`, computed from its tables alone
(the findings, with the verdict on the course's claim 1.4(f), are in
experiments.batch_scaling.findings).

- `report(tables, config)`: the findings, and the sections "Gradient norm against batch size",
  "Gradient noise model" (when the gradient tables are present), "Training with growing batches"
  (when the training tables are) and "Measurements";
- `headline(tables)`: one line for the run list;
- `metrics(tables)`: the numbers of claim 1.4(f) at initialisation and where training breaks
  (for --json).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from nnhw.experiments.batch_scaling import fits
from nnhw.experiments.batch_scaling.findings import findings
from nnhw.experiments.reporting.numbers import number
from nnhw.experiments.reporting.report import Report, Section


def report(tables: dict[str, pd.DataFrame], config: Any) -> Report:
    """The findings (batch_scaling.findings) and a section per part of the study whose tables are
    present."""
    sections: list[Section] = []
    if {"slopes", "fits", "noise"} <= tables.keys():
        sections += [
            Section(
                "Gradient norm against batch size",
                "Each point is the mean of |g_B| over the sampled minibatches (bars: one standard "
                "deviation). Slopes are least-squares fits of log |g_B| against log B over the "
                f"noise-dominated range (B <= B_simple/{config.regime_factor:g}) and the "
                f"large-batch range (B >= {config.regime_factor:g} B_simple); predicted slopes "
                "apply the same fit to the noise model with the per-example |G|² and tr(Σ).",
                tables=[("slopes", "Measured and predicted log-log slopes of |g_B| against B")],
                figures=[("gradient_norm", "|g_B| against B, sum and mean, with B_simple")],
            ),
            Section(
                "Gradient noise model",
                "Minibatches are drawn without replacement from the N examples, so the noise "
                "term carries the finite-population factor (N−B)/(N−1) and vanishes at B = N. "
                "The fit is weighted least squares on the per-B means (weights: inverse squared "
                "standard errors).",
                tables=[
                    ("fits", "Noise-model fits and B_simple two ways"),
                    ("noise", "Per-example statistics per phase"),
                ],
                figures=[("sq_norm", "E|g_B|² against 1/B with both fitted models")],
            ),
        ]
    if {"training", "training_breaks"} <= tables.keys():
        sections.append(
            Section(
                "Training with growing batches",
                "A seed diverged when its loss became non-finite or ended above its initial "
                "value; a cell diverged when more than half of its seeds did. The reference is "
                "the mean reduction at the smallest batch size. A cell is close when it did not "
                "diverge and its loss curve (geometric mean over seeds) is within a typical factor "
                f"{config.curve_factor:g} of the reference's: the mean over epochs of "
                "|ln(L/L_ref)| (curve_gap) is at most ln "
                f"{config.curve_factor:g}. Plain SGD; every cell starts from the same "
                "initial weights per seed and draws the same data orders.",
                tables=[
                    ("training_breaks", "Where each reduction and lr rule breaks"),
                    ("training", "One row per batch size, reduction and lr rule"),
                ],
                figures=[
                    ("training_loss", "Loss per epoch, one line per batch size"),
                    ("training_final", "Final loss against batch size"),
                ],
            )
        )
    sections.append(Section("Measurements", tables=[("gradients", "Per phase, reduction and B")]))
    summary = (
        f"The {config.task} preset net on {config.samples} examples: gradient norms at "
        f"{len(config.sizes)} batch sizes ({config.sizes[0]} to {config.sizes[-1]}), "
        f"{config.minibatches} minibatches each, with sum and mean reduction, and SGD training "
        f"at each batch size with a fixed and a linearly scaled learning rate."
    )
    return Report(
        "The gradient against the batch size", summary, findings(tables, config), sections
    )


def metrics(tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """The numbers of claim 1.4(f) at initialisation and where training breaks (for --json)."""
    out: dict[str, Any] = {}
    if {"slopes", "fits"} <= tables.keys():
        n = fits.claim_numbers(tables, "init")
        out.update({k: v for k, v in n.items() if isinstance(v, float) and "predicted" not in k})
    if "training_breaks" in tables:
        for _, r in tables["training_breaks"].iterrows():  # -1 in the table: never; None here
            for col in ("diverges_from", "close_up_to"):
                value = int(r[col])
                out[f"{r['reduction']}_{r['lr_rule']}_{col}"] = value if value > 0 else None
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in out.items()}


def headline(tables: dict[str, pd.DataFrame]) -> str:
    """One line: the |g| slopes of both reductions, B_simple two ways, and where the fixed-rate
    sum diverges."""
    n = fits.claim_numbers(tables, "init")
    which = "large" if math.isfinite(n["slope_sum_large"]) else "all"
    where = "at large B" if which == "large" else "over all B"
    text = (
        f"|g| slope {where}: sum {number(n[f'slope_sum_{which}'])}, mean "
        f"{number(n[f'slope_mean_{which}'])}; B_simple {number(n['b_simple_direct'])} "
        f"(fit {number(n['b_simple_fit'])})"
    )
    if "training_breaks" in tables:
        br = tables["training_breaks"].set_index(["reduction", "lr_rule"])
        d = int(br.loc[("sum", "fixed"), "diverges_from"])
        text += "; fixed-lr sum " + (f"diverges from B={d}" if d > 0 else "never diverges")
    return text
