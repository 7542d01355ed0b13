"""The report, headline and JSON metrics of `nnhw batch-scaling`, computed from its tables alone
(the findings, with the verdict on the course's claim 1.4(f), are in
experiments.batch_scaling.findings).

- `report(tables, config)`: the findings, and the sections "Gradient norm against batch size",
  "Gradient noise model" (when the gradient tables are present), "Training with growing batches:
  the learning-rate rules" (when the training tables are) and "Measurements";
- `headline(tables)`: one line for the run list;
- `metrics(tables)`: the numbers of the gradient-size reading of 1.4(f) at initialisation, where
  each reduction and lr rule breaks and diverges, and B_simple with its CI (for --json).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from nnhw.experiments.batch_scaling import fits
from nnhw.experiments.batch_scaling.findings import approx, b_simple_estimate, findings
from nnhw.experiments.reporting.numbers import number
from nnhw.experiments.reporting.report import Report, Section
from nnhw.experiments.reporting.tables import TableView

# What a reader sees for the tables' -1 (no such batch size) and which columns come first.
_NONE = {-1: "none"}
VIEWS = {
    "training_breaks": TableView(
        first=("reduction", "lr_rule"),
        sentinels={"diverges_from": {-1: "never"}, "breaks_at": {-1: "never"},
                   "close_up_to": _NONE, "close_up_to_tight": _NONE, "close_up_to_loose": _NONE},
    ),
    "training": TableView(
        first=("reduction", "lr_rule", "batch_size"),
        sentinels={"first_nonfinite_epoch": {-1: "never"}},
        max_rows=40,  # every cell of the default sweep (9 sizes x 4 rules)
    ),
    "slopes": TableView(sentinels={"b_min": {-1: "n/a"}, "b_max": {-1: "n/a"}}),
}  # fmt: skip


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
                views=VIEWS,
                figures=[("gradient_norm", "|g_B| against B, sum and mean, with B_simple")],
            ),
            Section(
                "Gradient noise model",
                "Minibatches are drawn without replacement from the N examples, so the noise "
                "term carries the finite-population factor (N−B)/(N−1) and vanishes at B = N. "
                "The fit is weighted least squares on the per-B means (weights: inverse squared "
                "standard errors), on seed 0's net. B_simple over the seeds: the geometric mean "
                "of each seed's net's B_simple, with a 95% CI that adds the spread over the "
                "seeds (t) and over bootstrap resamples of the examples.",
                tables=[
                    ("b_simple", "B_simple over the seeds, with its 95% CI"),
                    ("fits", "Noise-model fits and B_simple two ways"),
                    ("noise", "Per-example statistics per phase"),
                    ("noise_seeds", "Per-example statistics per phase and seed"),
                ],
                figures=[("sq_norm", "E|g_B|² against 1/B with both fitted models")],
            ),
        ]
    if {"training", "training_breaks"} <= tables.keys():
        warm = (
            f" The linear and square-root rules warm up over {config.warmup_epochs:g} "
            f"epoch{'' if config.warmup_epochs == 1 else 's'} "
            "(their rate rises linearly from the base rate, Goyal et al. 2017)."
            if getattr(config, "warmup_epochs", 0)
            else ""
        )
        sections.insert(  # the homework's question first
            0,
            Section(
                "Training with growing batches: the learning-rate rules",
                "Plain SGD with the mean loss under three rules for the rate at batch size B "
                f"(base rate {config.lr:g} at the smallest batch b_ref): fixed, linear "
                "(lr·B/b_ref, the course's 'increase proportionally') and square root "
                "(lr·√(B/b_ref)); and the summed loss at a fixed rate, the linear rule in "
                "disguise. Every cell starts from the same initial weights per seed and draws "
                "the same data orders, so a seed's curve is compared with its own reference "
                "curve (mean loss, smallest batch): its curve_gap is the mean over epochs of "
                "|ln(L/L_ref)|, and it is close when it did not diverge and curve_gap <= ln "
                f"{config.curve_factor:g} (a typical factor {config.curve_factor:g}). A cell is "
                "close when more than half of its seeds are (curve_gap in the table: the median "
                "over seeds, with the smallest and largest); a seed diverged when its loss "
                "became non-finite or ended above its initial value. close_up_to is the largest B "
                "up to which every cell is close; seeds_agree counts the seeds whose own curves "
                "give the same; close_up_to_tight/loose move the tolerance by ∓25%; the break "
                "estimate interpolates where each seed's gap crosses the tolerance (geometric "
                "mean over seeds, 95% CI)." + warm,
                tables=[
                    ("training_breaks", "Where each reduction and lr rule breaks"),
                    ("training", "One row per batch size, reduction and lr rule"),
                ],
                views=VIEWS,
                figures=[
                    ("lr_rules", "Rates and curve gaps of the three rules against B"),
                    ("training_loss", "Loss per epoch, one line per batch size"),
                    ("training_final", "Final loss against batch size"),
                ],
            ),
        )
    sections.append(Section("Measurements", tables=[("gradients", "Per phase, reduction and B")],
                            fold=True))  # fmt: skip
    summary = (
        f"The {config.task} preset net on {config.samples} examples of "
        f"{getattr(config, 'data_name', 'its data set')}: SGD training at "
        f"{len(config.sizes)} batch sizes ({config.sizes[0]} to {config.sizes[-1]}) with the "
        "mean loss and a fixed, a linearly scaled and a square-root scaled learning rate, "
        f"{config.seeds} seeds each (the homework's question 1.4(f): how the learning rate should "
        f"change with B); gradient norms at every batch size, {config.minibatches} minibatches "
        "each, with sum and mean reduction, and the gradient noise scale B_simple per seed."
    )
    return Report(
        "The learning rate and the gradient against the batch size",
        summary,
        findings(tables, config),
        sections,
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
    if "b_simple" in tables:
        for r in tables["b_simple"].itertuples():
            for col in ("estimate", "ci_low", "ci_high"):
                out[f"b_simple_{r.phase}_{col}"] = float(getattr(r, col))
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in out.items()}


def headline(tables: dict[str, pd.DataFrame]) -> str:
    """One line: up to which B each mean-loss lr rule keeps the small-batch curve, B_simple (over
    the seeds with its CI when measured, else seed 0's), and the |g| slopes of both reductions."""
    parts = []
    if "training_breaks" in tables:
        br = tables["training_breaks"]
        mean = br[br["reduction"] == "mean"].set_index("lr_rule")
        keep = [
            f"{rule} {int(mean.loc[rule, 'close_up_to'])}"
            for rule in ("linear", "sqrt", "fixed")
            if rule in mean.index
        ]
        parts.append("curve kept up to B: " + ", ".join(keep))
    if {"slopes", "fits"} <= tables.keys():
        n = fits.claim_numbers(tables, "init")
        est = b_simple_estimate(tables, "init")
        bs = (
            approx(est["estimate"], est["ci_low"], est["ci_high"])
            if est is not None
            else number(n["b_simple_direct"])
        )
        which = "large" if math.isfinite(n["slope_sum_large"]) else "all"
        where = "at large B" if which == "large" else "over all B"
        parts.append(f"B_simple {bs}")
        parts.append(
            f"|g| slope {where}: sum {number(n[f'slope_sum_{which}'])}, mean "
            f"{number(n[f'slope_mean_{which}'])}"
        )
    return "; ".join(parts)
