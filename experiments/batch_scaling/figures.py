"""The figures of `nnhw batch-scaling`, drawn from its tables alone.

- gradient_norm: E|g_B| against B, log-log, one panel per phase: `sum` and `mean` reduction with
  the spread over minibatches (one standard deviation), the corrected noise model with the fitted
  |G|^2 and tr(Sigma) as lines, and B_simple (direct and fitted) marked.
- sq_norm: E|g_B|^2 of the mean reduction against 1/B, one panel per phase, with standard errors,
  the fitted line (the same for both models, see experiments.batch_scaling.fits) and the |G|^2
  each model reads off it, beside |G|^2 from the per-example gradients.
- lr_rules: the homework's question, two panels against B: the learning rate of each rule
  (fixed, linear, square root; mean loss), filled where the cell keeps the small-batch curve,
  open where it does not, a cross where it diverged, beside McCandlish et al.'s best-rate shape
  lr0·(B/b_ref)·(b_ref + B_noise)/(B + B_noise) anchored at the base rate, with B_noise = B_simple
  at initialisation (band: its 95% CI); and the curve gap as a typical factor exp(curve_gap)
  (median over seeds, bars: smallest to largest seed) with the tolerance and the predicted break
  B* = 2 b_ref + B_noise (band).
- training_loss: loss per epoch of the training study (geometric seed mean), a panel per
  reduction x lr rule, a line per batch size; diverged cells end in a cross, cut at 30 times the
  largest initial loss.
- training_final: final loss against B for each reduction x lr rule, diverged cells marked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, MaxNLocator

from nnhw.experiments.batch_scaling import fits
from nnhw.experiments.reporting.plotting import PALETTE, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

REDUCTION_COLORS = {"sum": PALETTE["vermillion"], "mean": PALETTE["blue"]}
RULE_STYLES = {"fixed": "-", "linear": "--", "sqrt": ":"}
RULE_COLORS = {"fixed": PALETTE["black"], "linear": PALETTE["vermillion"], "sqrt": PALETTE["blue"]}
RULE_LABELS = {"fixed": "fixed", "linear": "linear (lr·B/b_ref)", "sqrt": "square root"}


def _arms(summary: pd.DataFrame) -> list[tuple[str, str]]:
    """The (reduction, lr rule) pairs of the training study, mean-loss rules first."""
    present = set(zip(summary["reduction"], summary["lr_rule"]))
    order = [("mean", r) for r in RULE_STYLES] + [("sum", r) for r in RULE_STYLES]
    return [a for a in order if a in present]


PHASE_TITLES = {"init": "At initialisation", "trained": "After training"}


def _phases(tables: dict[str, pd.DataFrame]) -> list[str]:
    return list(dict.fromkeys(tables["noise"]["phase"]))


def _fit_row(tables: dict[str, pd.DataFrame], phase: str, model: str) -> pd.Series:
    f = tables["fits"]
    return f[(f["phase"] == phase) & (f["model"] == model)].iloc[0]


def gradient_norm_figure(tables: dict[str, pd.DataFrame]) -> Figure:
    phases = _phases(tables)
    fig, axes = new_figure(1, len(phases), width=4.8 * len(phases), height=4.0, squeeze=False)
    g = tables["gradients"]
    for ax, phase in zip(axes[0], phases):
        nz = tables["noise"][tables["noise"]["phase"] == phase].iloc[0]
        fit = _fit_row(tables, phase, "corrected")
        n = int(nz["n_samples"])
        for reduction in ("sum", "mean"):
            rows = g[(g["phase"] == phase) & (g["reduction"] == reduction)].sort_values(
                "batch_size"
            )
            B = rows["batch_size"].to_numpy(float)
            y, s = rows["norm_mean"].to_numpy(float), rows["norm_std"].to_numpy(float)
            color = REDUCTION_COLORS[reduction]
            large = fits.slope(tables, phase, reduction, "large-B")
            label = f"{reduction} (large-B slope {large:.2f})" if np.isfinite(large) else reduction
            ax.errorbar(B, y, yerr=s, fmt="o", ms=4, color=color, capsize=2, label=label)
            grid = np.geomspace(B.min(), B.max(), 200)
            model = fits.model_norm(grid, n, fit["grad_sq_norm_fit"], fit["trace_sigma_fit"],
                                    reduction)  # fmt: skip
            if reduction == "sum":  # the loss's constant terms per example, read off the data
                mean_rows = g[(g["phase"] == phase) & (g["reduction"] == "mean")]
                ratio = y / (B * mean_rows.sort_values("batch_size")["norm_mean"].to_numpy(float))
                model = model * float(np.median(ratio))
            ax.plot(grid, model, color=color, linewidth=1.2, alpha=0.8)
        direct, fitted = float(nz["b_simple_direct"]), float(fit["b_simple_fit"])
        for value, style, what in ((direct, "-", "direct"), (fitted, "--", "fit")):
            if np.isfinite(value) and value > 0:
                ax.axvline(value, color=PALETTE["black"], linestyle=style, linewidth=1.0,
                           label=f"B_simple {what} = {value:.3g}")  # fmt: skip
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))  # 1, 2, 4, not 2^k
        ax.set_yscale("log")
        ax.set_xlabel("batch size B (examples)")
        ax.set_ylabel("gradient norm |g_B| (mean over minibatches)")
        ax.set_title(f"{PHASE_TITLES.get(phase, phase)}: |g_B| against B (lines: noise model)")
        # a white box: the B_simple line otherwise runs through the legend's text
        ax.legend(fontsize=8, frameon=True, framealpha=0.9, edgecolor="none")
    return fig


def sq_norm_figure(tables: dict[str, pd.DataFrame]) -> Figure:
    phases = _phases(tables)
    fig, axes = new_figure(1, len(phases), width=4.8 * len(phases), height=4.0, squeeze=False)
    g = tables["gradients"]
    for ax, phase in zip(axes[0], phases):
        nz = tables["noise"][tables["noise"]["phase"] == phase].iloc[0]
        n = int(nz["n_samples"])
        rows = g[(g["phase"] == phase) & (g["reduction"] == "mean")].sort_values("batch_size")
        B = rows["batch_size"].to_numpy(float)
        se = rows["sq_norm_std"].to_numpy(float) / np.sqrt(rows["minibatches"].to_numpy(float))
        ax.errorbar(1 / B, rows["sq_norm_mean"], yerr=se, fmt="o", ms=4, capsize=2,
                    color=PALETTE["blue"], label="measured (± standard error)")  # fmt: skip
        c, u = _fit_row(tables, phase, "corrected"), _fit_row(tables, phase, "uncorrected")
        # x_B = (N - B)/(B (N - 1)) is affine in 1/B: both models draw this same line; they
        # differ in what the intercept means (|G|^2 at B = N, or |G|^2 - tr/(N - 1) at 1/B = 0).
        grid = np.concatenate([np.geomspace(B.min(), B.max(), 200), [np.inf]])
        y = u["grad_sq_norm_fit"] + u["trace_sigma_fit"] * fits.regressor(grid, n, "uncorrected")
        ax.plot(1 / grid, y, color=PALETTE["black"], linewidth=1.2,
                label=f"fit, R² = {c['r2']:.3f}")  # fmt: skip
        ax.plot([1 / n], [c["grad_sq_norm_fit"]], "s", color=PALETTE["bluish green"], ms=7,
                label=f"corrected |G|² = {c['grad_sq_norm_fit']:.3g} (at B = N)")  # fmt: skip
        ax.plot([0], [u["grad_sq_norm_fit"]], "D", color=PALETTE["orange"], ms=6,
                label=f"uncorrected |G|² = {u['grad_sq_norm_fit']:.3g} (at 1/B = 0)")  # fmt: skip
        ax.axhline(nz["grad_sq_norm"], color=PALETTE["reddish purple"], linestyle=":",
                   label=f"|G|² from per-example gradients = {nz['grad_sq_norm']:.3g}")  # fmt: skip
        ax.set_xlabel("1 / B (1 / examples)")
        ax.set_ylabel("E|g_B|² (mean reduction)")
        ax.set_title(f"{PHASE_TITLES.get(phase, phase)}: E|g_B|² = |G|² + tr Σ/B·(N−B)/(N−1)")
        ax.legend(fontsize=7)
    return fig


def _batch_colors(sizes: list[int]) -> dict[int, Any]:
    cmap = mpl.colormaps["viridis"]
    return {b: cmap(i / max(1, len(sizes) - 1)) for i, b in enumerate(sizes)}


def training_loss_figure(tables: dict[str, pd.DataFrame]) -> Figure:
    curves = tables["training_curves"]
    summary = tables["training"]
    sizes = sorted(int(b) for b in curves["batch_size"].unique())
    colors = _batch_colors(sizes)
    mean = fits.seed_curves(curves)
    start = mean[mean.index.get_level_values("epoch") == 0].to_numpy(float)
    top = 30 * float(np.max(start[np.isfinite(start)], initial=1.0))  # diverged runs end here
    arms = _arms(summary)
    rows = (len(arms) + 1) // 2
    fig, axes = new_figure(rows, 2, width=9.5, height=3.5 * rows, sharex=True, squeeze=False)
    for ax in axes.flat[len(arms) :]:
        ax.set_visible(False)
    for k, (reduction, rule) in enumerate(arms):
        i, j = divmod(k, 2)
        ax = axes[i][j]
        diverged = []
        for b in sizes:
            key = (b, reduction, rule)
            if key not in mean.index.droplevel(3):
                continue
            c = mean.loc[key]
            y = c.to_numpy(float)
            over = np.flatnonzero(~np.isfinite(y) | (y >= top))
            end = int(over[0]) + 1 if len(over) else len(y)
            shown = np.minimum(np.where(np.isfinite(y), y, top), top)[:end]
            ax.plot(c.index[:end], shown, color=colors[b], label=f"B = {b}")
            row = summary[(summary["reduction"] == reduction) & (summary["lr_rule"] == rule)
                          & (summary["batch_size"] == b)]  # fmt: skip
            if len(row) and bool(row["diverged"].iloc[0]):
                ax.plot(c.index[end - 1], shown[-1], "x", color=colors[b], ms=8, mew=2)
                diverged.append(str(b))
        if diverged:  # their lines overlap at the top: name them
            ax.text(0.98, 0.97, "diverged: B = " + ", ".join(diverged), ha="right", va="top",
                    transform=ax.transAxes, fontsize=8)  # fmt: skip
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_yscale("log")
        ax.set_ylim(top=top * 1.5)
        rate = {"fixed": "lr fixed", "linear": "lr ∝ B (linear rule)",
                "sqrt": "lr ∝ √B (square-root rule)"}[rule]  # fmt: skip
        ax.set_title(f"{reduction} reduction, {rate}")
        ax.set_ylabel("training loss (per-example mean)")
        if i == rows - 1 or k + 2 >= len(arms):
            ax.set_xlabel("epoch (0 = at initialisation)")
            ax.xaxis.set_tick_params(labelbottom=True)
    axes[0][0].legend(fontsize=7, ncol=2, title="x: diverged (cut at the top)", title_fontsize=7)
    return fig


def training_final_figure(tables: dict[str, pd.DataFrame]) -> Figure:
    summary = tables["training"]
    fig, ax = new_figure(1, 1, width=6.4, height=4.2)
    top = summary["final_loss"].replace([np.inf, -np.inf], np.nan)
    ceiling = float(np.nanmax(top[top < 1e12])) * 3 if np.isfinite(top[top < 1e12]).any() else 1.0
    for reduction, rule in _arms(summary):
        rows = summary[(summary["reduction"] == reduction) & (summary["lr_rule"] == rule)]
        rows = rows.sort_values("batch_size")
        B = rows["batch_size"].to_numpy(float)
        y = rows["final_loss"].to_numpy(float)
        div = rows["diverged"].to_numpy(bool)
        shown = np.where(np.isfinite(y) & (y < ceiling), y, ceiling)
        color = REDUCTION_COLORS[reduction] if reduction == "sum" else RULE_COLORS[rule]
        style = RULE_STYLES[rule] if reduction == "mean" else "-."
        label = f"{reduction}, {rule} lr" + (
            " (= mean, linear rule)" if (reduction, rule) == ("sum", "fixed") else ""
        )
        ax.plot(B, shown, style, color=color, marker="o", ms=4, label=label)
        ax.plot(B[div], shown[div], "x", color=color, ms=9, mew=2)
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_yscale("log")
    ax.set_xlabel("batch size B (examples)")
    ax.set_ylabel("final training loss (per-example mean, seed mean)")
    ax.set_title("Final loss of the training study (x: diverged; not finite: at the top)")
    ax.legend(fontsize=8)
    return fig


def lr_rules_figure(tables: dict[str, pd.DataFrame], config: Any) -> Figure:
    summary = tables["training"]
    mean = summary[summary["reduction"] == "mean"]
    rules = [r for r in RULE_STYLES if r in set(mean["lr_rule"])]
    b_ref = int(summary["batch_size"].min())
    fig, (ax_lr, ax_gap) = new_figure(1, 2, width=9.5, height=4.0)
    sizes = np.sort(mean["batch_size"].unique()).astype(float)
    est = None
    if "b_simple" in tables:
        b = tables["b_simple"]
        init = b[(b["phase"] == "init") & (b["seeds"] > 0)]
        est = init.iloc[0] if len(init) else None
    base = float(mean.loc[mean["lr_rule"] == "fixed", "lr"].iloc[0]) if "fixed" in rules else None
    grid = np.geomspace(sizes.min(), sizes.max(), 200)
    if est is not None and base is not None:

        def best(b_noise: float) -> np.ndarray:
            return base * (grid / b_ref) * (b_ref + b_noise) / (grid + b_noise)

        ax_lr.fill_between(grid, best(float(est["ci_low"])), best(float(est["ci_high"])),
                           color=PALETTE["bluish green"], alpha=0.2, linewidth=0)  # fmt: skip
        label = f"best rate's shape (B_noise {est['estimate']:.2g}, band: CI)"
        ax_lr.plot(grid, best(float(est["estimate"])), color=PALETTE["bluish green"], lw=2,
                   label=label)  # fmt: skip
    tol = float(getattr(config, "curve_factor", 1.5))
    top = 1.0
    for rule in rules:
        rows = mean[mean["lr_rule"] == rule].sort_values("batch_size")
        B, lr = rows["batch_size"].to_numpy(float), rows["lr"].to_numpy(float)
        close, div = rows["close"].to_numpy(bool), rows["diverged"].to_numpy(bool)
        color, style = RULE_COLORS[rule], RULE_STYLES[rule]
        ax_lr.plot(B, lr, style, color=color, label=RULE_LABELS[rule])
        ax_lr.plot(B[close], lr[close], "o", color=color, ms=6)
        keep = ~close & ~div
        ax_lr.plot(B[keep], lr[keep], "o", mfc="white", color=color, ms=6)
        ax_lr.plot(B[div], lr[div], "x", color=color, ms=8, mew=2)
        gap = np.exp(rows["curve_gap"].to_numpy(float))
        lo = np.exp(rows["curve_gap_low"].to_numpy(float))
        hi = np.exp(rows["curve_gap_high"].to_numpy(float))
        finite = np.isfinite(gap)
        top = max(top, float(np.nanmax(np.where(np.isfinite(hi), hi, np.nan), initial=1.0)))
        ax_gap.errorbar(B[finite], gap[finite], yerr=[gap[finite] - lo[finite],
                        np.where(np.isfinite(hi[finite]), hi[finite], gap[finite])
                        - gap[finite]], fmt=style, marker="o", ms=4, capsize=2, color=color,
                        label=RULE_LABELS[rule])  # fmt: skip
    ceiling = top * 1.5
    for rule in rules:
        rows = mean[mean["lr_rule"] == rule].sort_values("batch_size")
        B = rows["batch_size"].to_numpy(float)
        bad = ~np.isfinite(rows["curve_gap"].to_numpy(float))
        ax_gap.plot(B[bad], np.full(bad.sum(), ceiling), "x", color=RULE_COLORS[rule], ms=8,
                    mew=2)  # fmt: skip
    ax_gap.axhline(tol, color=PALETTE["black"], lw=1, ls="--", label=f"tolerance ×{tol:g}")
    if est is not None:
        lo_b, hi_b = (2 * b_ref + float(est[k]) for k in ("ci_low", "ci_high"))
        ax_gap.axvspan(max(lo_b, sizes.min()), min(hi_b, sizes.max()), alpha=0.15,
                       color=PALETTE["bluish green"],
                       label="predicted break B* = 2·b_ref + B_noise")  # fmt: skip
    for ax in (ax_lr, ax_gap):
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_yscale("log")
        ax.set_xlabel("batch size B (examples)")
    ax_lr.set_ylabel("learning rate")
    ax_lr.set_title("Rate per rule (filled: curve kept, open: lost, x: diverged)")
    ax_gap.set_ylabel(f"loss-curve gap to B = {b_ref} (typical factor)")
    ax_gap.set_title("Curve gap: median, bars seed range (x: diverged)")
    ax_lr.legend(fontsize=8)
    ax_gap.legend(fontsize=8)
    return fig


def figures(tables: dict[str, pd.DataFrame], config: Any) -> dict[str, Figure]:
    """Every figure whose tables are present (an interrupted run may lack the training ones)."""
    out: dict[str, Figure] = {}
    if {"gradients", "noise", "fits", "slopes"} <= tables.keys():
        out["gradient_norm"] = gradient_norm_figure(tables)
        out["sq_norm"] = sq_norm_figure(tables)
    if {"training_curves", "training"} <= tables.keys():
        if "close" in tables["training"].columns and "curve_gap_low" in tables["training"]:
            out["lr_rules"] = lr_rules_figure(tables, config)
        out["training_loss"] = training_loss_figure(tables)
        out["training_final"] = training_final_figure(tables)
    return out
