"""The course's answer to homework 1.4(f) as `nnhw verify` judges it, from the batch-scaling
sub-study's tables (`batch-scaling.<table>`): two claims, kept apart.

Contract: `learning_rate_claims(tables, config) -> [Claim]` (KeyError when the sub-study's tables
are missing):
- "learning-rate" (the question as asked: how should the learning rate change with the batch
  size? the course: "increase proportionally", the linear scaling rule): the verdict of
  experiments.batch_scaling.findings.lr_claim, from SGD with the mean loss at every batch size
  under a fixed, the linear and the square-root rule; its deciding number is the batch size at
  which the linear rule's loss curve leaves the small batch's (per-seed crossings, geometric mean
  and 95% CI), its agreement the seeds whose own curves reach the same verdict, its theory
  McCandlish et al.'s (2018) best rate eps_max / (1 + B_noise / B) with B_noise = B_simple filled
  in.
- "batch-scaling" (the answer read as a statement about the gradient's size, "the gradient grows
  proportionally with B"): experiments.batch_scaling.findings.claim_verdict at initialisation;
  its deciding number is the summed loss's log-log slope of |g_B| in the large-batch range, with
  a 95% CI from the minibatches' spread (`slope_interval`).
`config` is verify's; the sub-study's settings come from verify.substudies.sub_config, and the
command that regenerates the evidence is the batch-scaling run with those settings.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from nnhw.experiments.batch_scaling import findings as bf
from nnhw.experiments.batch_scaling import fits
from nnhw.experiments.reporting.numbers import number
from nnhw.experiments.verify.claims import HOLDS_ONLY, Claim
from nnhw.experiments.verify.substudies import sub_config, substudy_tables

Tables = dict[str, pd.DataFrame]
COMMAND = "batch-scaling"


def _command(cfg: Any) -> str:
    """The `nnhw batch-scaling` command that regenerates the sub-study's tables."""
    sizes = f" --batch-sizes {','.join(map(str, cfg.batch_sizes))}" if cfg.batch_sizes else ""
    warm = f" --warmup-epochs {cfg.warmup_epochs:g}" if cfg.warmup_epochs else ""
    return (
        f"nnhw batch-scaling --task {cfg.task} --samples {cfg.samples}{sizes} "
        f"--minibatches {cfg.minibatches} --pretrain-epochs {cfg.pretrain_epochs} "
        f"--train-epochs {cfg.train_epochs} --lr {cfg.lr:g} --seeds {cfg.seeds}{warm} "
        f"--seed {cfg.seed}"
    )


def _sub(tables: Tables) -> Tables:
    sub = substudy_tables(tables, COMMAND)
    if not sub:
        raise KeyError(COMMAND)
    return sub


def _moved(n: dict[str, Any], factor: float) -> str:
    """What moving the curve tolerance by 25% (on the log scale) does to the verdict."""
    tight, loose = (factor**0.75, factor**1.25)
    cat = n["category"]
    if all(m == cat for m in n["moved"]):
        return f"unchanged at {number(tight)} and {number(loose)}"
    return "; ".join(f"at {number(f)}: {m}" for f, m in zip((tight, loose), n["moved"]))


def learning_rate_claim(tables: Tables, config: Any) -> Claim:
    """1.4(f) as asked: the learning rate (module docstring)."""
    sub = _sub(tables)
    if "close" not in sub.get("training_members", pd.DataFrame()).columns:
        raise KeyError("batch-scaling.training_members")
    cfg = sub_config(COMMAND, config)
    verdict, text, n = bf.lr_claim(sub, cfg)
    lin, b_ref = n["linear"], n["b_ref"]
    pred = n["prediction"].get("init")
    theory = (
        "McCandlish et al. (2018): the best rate is ε_max/(1 + B_noise/B), linear in B for "
        "B << B_noise and flat beyond; from the best rate at b_ref the linear rule overshoots it "
        f"by (B + B_noise)/(b_ref + B_noise), {bf.BREAK_FACTOR:g} at B* = "
        f"{bf.BREAK_FACTOR:g}·b_ref + B_noise"
    )
    if pred is not None:
        bn, br = pred["b_noise"], pred["break"]
        theory += (
            f" = {bf.BREAK_FACTOR:g}·{b_ref} + {bf.approx(*bn)} = {bf.approx(*br)} with "
            "B_noise ≈ B_simple = tr(Σ)/|G|² at initialisation"
        )
    claim = Claim(
        "learning-rate",
        "1.4(f)",
        "Increase the learning rate proportionally with the batch size (linear scaling rule)",
        f"SGD with the mean loss at every batch size under a fixed, a linear and a square-root "
        f"learning-rate rule, {n['seeds']} seeds each: up to which batch size each keeps the "
        f"loss-per-epoch curve of B = {b_ref} (within a typical factor "
        f"{number(n['curve_factor'])})",
        text,
        verdict,
        HOLDS_ONLY,
        "plots/batch-scaling.lr_rules.png",
        theory=theory,
        command=_command(cfg),
        seeds=int(n["seeds"]),
        agree=int(n["agree"]),
        deciding="the batch size where the linear rule's loss curve leaves the small batch's "
        "(each seed's crossing of the tolerance, interpolated on log B; geometric mean)",
        value=float(lin["break_estimate"]) if lin is not None else math.nan,
        ci_low=float(lin["break_low"]) if lin is not None else math.nan,
        ci_high=float(lin["break_high"]) if lin is not None else math.nan,
        cutoff=f"mean |ln(L/L_ref)| over the epochs <= ln {number(n['curve_factor'])}",
        cutoff_moved=_moved(n, float(n["curve_factor"])),
    )
    return claim


def slope_interval(gradients: pd.DataFrame, phase: str, reduction: str, sizes: np.ndarray
                   ) -> tuple[float, float, float]:  # fmt: skip
    """(slope, low, high): the least-squares slope of log mean |g_B| against log B over `sizes`
    (the slopes table's) and its 95% normal interval, from each point's variance: the standard
    error of log mean |g_B| over the M minibatches, (norm_std / norm_mean)^2 / M, propagated
    through the slope's weights (x_i - x_bar) / S_xx (0 at B = N, where every minibatch is the
    whole set)."""
    g = gradients[(gradients["phase"] == phase) & (gradients["reduction"] == reduction)]
    g = g[g["batch_size"].isin(sizes)].sort_values("batch_size")
    if len(g) < 2:
        return math.nan, math.nan, math.nan
    x = np.log(g["batch_size"].to_numpy(float))
    y = np.log(g["norm_mean"].to_numpy(float))
    var = (g["norm_std"].to_numpy(float) / g["norm_mean"].to_numpy(float)) ** 2 / g[
        "minibatches"
    ].to_numpy(float)
    dx = x - x.mean()
    sxx = float(np.sum(dx**2))
    slope = float(np.sum(dx * y) / sxx)
    half = 1.96 * math.sqrt(float(np.sum((dx / sxx) ** 2 * var)))
    return slope, slope - half, slope + half


def gradient_size_claim(tables: Tables, config: Any) -> Claim:
    """1.4(f) read as the gradient's size (module docstring)."""
    sub = _sub(tables)
    cfg = sub_config(COMMAND, config)
    verdict, text = bf.claim_verdict(sub, "init", cfg.regime_factor)
    nums = fits.claim_numbers(sub, "init")
    lo_b, hi_b = nums["range_sum_large"]
    sizes = sub["gradients"]["batch_size"].to_numpy()
    inside = sizes[(sizes >= lo_b) & (sizes <= hi_b)] if lo_b > 0 else sizes[:0]
    slope, low, high = slope_interval(sub["gradients"], "init", "sum", inside)
    tol = bf.TOLERANCE
    moved = []
    for t in (0.75 * tol, 1.25 * tol):
        ok = math.isfinite(slope) and abs(slope - 1) <= t
        moved.append("holds" if ok else "refuted")
    base = "holds" if verdict.startswith(HOLDS_ONLY) else verdict
    cut_moved = (
        f"unchanged at ±{number(0.75 * tol)} and ±{number(1.25 * tol)}"
        if all(m == base for m in moved)
        else f"at ±{number(0.75 * tol)}: {moved[0]}; at ±{number(1.25 * tol)}: {moved[1]}"
    )
    bs = nums["b_simple_direct"]
    nz = sub["noise"][sub["noise"]["phase"] == "init"].iloc[0]
    return Claim(
        "batch-scaling",
        "1.4(f)",
        "Read as the gradient's size: the gradient increases proportionally with the batch size",
        "norm of minibatch gradients against B, summed and mean loss (log-log slopes), at "
        "initialisation",
        text,
        verdict,
        HOLDS_ONLY,
        "tables/batch-scaling.slopes.csv",
        theory="E|g_B|² = |G|² + tr(Σ)/B·(N−B)/(N−1) for the mean loss (|G|² = "
        f"{number(nz['grad_sq_norm'])}, tr(Σ) = {number(nz['trace_sigma'])}, B_simple = "
        f"{number(bs)}); "
        "the summed loss's gradient is B times the mean one, so its norm grows as B only once "
        f"B >> B_simple (here B >= {cfg.regime_factor:g}·B_simple = "
        f"{number(cfg.regime_factor * bs)})",
        command=_command(cfg),
        seeds=1,
        agree=1,
        deciding=f"slope of log |g_B| against log B, summed loss, B = {lo_b}..{hi_b} (one net, "
        f"{int(sub['gradients']['minibatches'].iloc[0])} minibatches per size)",
        value=slope,
        ci_low=low,
        ci_high=high,
        cutoff=f"|slope − 1| <= {number(tol)}",
        cutoff_moved=cut_moved,
    )


def learning_rate_claims(tables: Tables, config: Any) -> list[Claim]:
    """Both 1.4(f) claims whose tables are present (module docstring)."""
    out = []
    for judge in (learning_rate_claim, gradient_size_claim):
        try:
            out.append(judge(tables, config))
        except KeyError:
            continue
    if not out:
        raise KeyError(COMMAND)
    return out
