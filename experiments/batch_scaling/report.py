"""The report, headline and JSON metrics of `nnhw batch-scaling`, computed from its tables alone.

Findings (each a sentence with numbers from the tables):
- the course's claim 1.4(f) for the summed loss, per phase: the slope of |g_B| against B in the
  noise-dominated range (B <= B_simple / f) and the large-batch range (B >= f B_simple), with
  the verdict `claim_verdict` gives;
- the same for the mean loss, whose gradient does not grow;
- the noise model's fit (R^2, chi2/dof, both models) and B_simple estimated two ways;
- the training study: where `sum` with a fixed rate diverges while `mean` does not, and up to
  which batch size the linear scaling rule keeps the loss-per-epoch curves close.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from nnhw.experiments.batch_scaling import fits
from nnhw.experiments.reporting.report import Finding, Report, Section

CLAIM = "1.4(f): the gradient increases proportionally with batch size"
TOLERANCE = 0.15  # |slope - 1| within which the growth counts as proportional

__all__ = ["claim_verdict", "headline", "metrics", "report"]


def _f(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    return f"{value:.3g}" if abs(value) < 1e4 else f"{value:.2e}"


def _loss(value: float) -> str:
    """A final loss as a finding quotes it: a diverged one (inf, NaN) is 'not finite'."""
    return _f(float(value)) if math.isfinite(float(value)) else "not finite"


def _slope_phrase(claim: dict[str, Any], reduction: str, which: str, bound: str) -> str:
    """'B^0.964 for B = 32..256 (B >= 27.3)', or why there is no slope for that range."""
    tag = f"{reduction}_{which.replace('-B', '')}"
    lo, hi = claim[f"range_{tag}"]
    if lo < 0 or lo == hi:
        return f"no slope for {bound} (fewer than two batch sizes tried lie there)"
    return f"B^{_f(claim[f'slope_{tag}'])} for B = {lo}..{hi} ({bound})"


PHASES = {"init": "At initialisation", "trained": "After the short training"}


def _phase(phase: str) -> str:
    """How a finding opens for a phase of the gradient measurements."""
    return PHASES.get(phase, f"In phase {phase}")


def claim_verdict(tables: dict[str, pd.DataFrame], phase: str, factor: float) -> tuple[str, str]:
    """(verdict, sentence) on the course's claim 1.4(f) for `phase`, from the slopes table.

    Verdict: "holds only when the loss is summed and B >= f B_simple" when the summed gradient's
    norm grows with slope within TOLERANCE of 1 over the large-batch range, "refuted" otherwise
    (e.g. when B_simple is so large that no batch size tried reaches that range). The sentence
    also gives the mean loss's slopes, which are <= 0: its gradient does not grow."""
    claim = fits.claim_numbers(tables, phase)
    bs = claim["b_simple_direct"]
    large = f"B >= {factor:g}·B_simple = {_f(factor * bs)}"
    small = f"B <= B_simple/{factor:g} = {_f(bs / factor)}"
    mean_all = claim["slope_mean_all"]
    grows = "grows" if mean_all > TOLERANCE else "does not grow"
    text = (
        f"{_phase(phase)} (B_simple = {_f(bs)}), the summed loss's gradient norm goes as "
        f"{_slope_phrase(claim, 'sum', 'large-B', large)}; "
        f"{_slope_phrase(claim, 'sum', 'small-B', small)}; "
        f"B^{_f(claim['slope_sum_all'])} over all sizes. The mean loss's gradient norm "
        f"{grows}: {_slope_phrase(claim, 'mean', 'large-B', large)}; "
        f"B^{_f(mean_all)} over all sizes."
    )
    sum_large = claim["slope_sum_large"]
    if math.isfinite(sum_large) and abs(sum_large - 1) <= TOLERANCE:
        return f"holds only when the loss is summed and B >= {_f(factor * bs)}", text
    return "refuted", text


def _noise_finding(tables: dict[str, pd.DataFrame], phase: str) -> str:
    f = tables["fits"]
    c = f[(f["phase"] == phase) & (f["model"] == "corrected")].iloc[0]
    u = f[(f["phase"] == phase) & (f["model"] == "uncorrected")].iloc[0]
    nz = tables["noise"][tables["noise"]["phase"] == phase].iloc[0]
    return (
        f"{_phase(phase)}, E|g_B|² = |G|² + tr(Σ)/B·(N−B)/(N−1) fits the mean-reduction "
        "measurements at "
        f"{int(c['points'])} batch sizes with R² = {c['r2']:.4f} (χ²/dof = {_f(c['chi2_dof'])}),"
        f" giving |G|² = {_f(c['grad_sq_norm_fit'])} and tr(Σ) = {_f(c['trace_sigma_fit'])} "
        f"against {_f(nz['grad_sq_norm'])} and {_f(nz['trace_sigma'])} from the per-example "
        f"gradients: B_simple = {_f(c['b_simple_fit'])} from the fit and "
        f"{_f(c['b_simple_direct'])} directly (ratio {_f(c['b_simple_ratio'])}). Read without "
        f"the finite-population correction, the same curve gives |G|² = "
        f"{_f(u['grad_sq_norm_fit'])} and B_simple = {_f(u['b_simple_fit'])} (ratio "
        f"{_f(u['b_simple_ratio'])})."
    )


def _training_findings(tables: dict[str, pd.DataFrame], config: Any) -> list[Finding]:
    s, br = tables["training"], tables["training_breaks"]

    def brk(reduction: str, rule: str) -> pd.Series:
        return br[(br["reduction"] == reduction) & (br["lr_rule"] == rule)].iloc[0]

    largest, b_ref = int(s["batch_size"].max()), int(s["batch_size"].min())
    out = []
    sf, mf = brk("sum", "fixed"), brk("mean", "fixed")
    at = s[(s["batch_size"] == largest) & (s["lr_rule"] == "fixed")].set_index("reduction")
    lr = float(s[s["lr_rule"] == "fixed"]["lr"].iloc[0])

    def diverges(row: pd.Series) -> str:
        d = int(row["diverges_from"])
        return "never diverges" if d < 0 else f"diverges from B = {d} on"

    out.append(Finding(
        f"With a fixed learning rate of {_f(lr)} (plain SGD, {config.train_epochs} epochs, "
        f"{config.seeds} seeds), the sum reduction {diverges(sf)} and the mean reduction "
        f"{diverges(mf)};"
        f" at B = {largest} the final loss is {_loss(at.loc['sum', 'final_loss'])} (sum, "
        f"{int(at.loc['sum', 'diverged_seeds'])}/{int(at.loc['sum', 'seeds'])} seeds diverged) "
        f"against {_loss(at.loc['mean', 'final_loss'])} (mean, "
        f"{int(at.loc['mean', 'diverged_seeds'])} diverged)."
    ))  # fmt: skip
    ml = brk("mean", "linear")
    bs_note = ""
    if "noise" in tables and (tables["noise"]["phase"] == "init").any():
        bs = float(tables["noise"].set_index("phase").loc["init", "b_simple_direct"])
        if int(ml["breaks_at"]) > 0:
            bs_note = f", {_f(int(ml['breaks_at']) / bs)} times B_simple = {_f(bs)} at init"
    ml_rows = s[(s["reduction"] == "mean") & (s["lr_rule"] == "linear")].set_index("batch_size")
    brk_at = int(ml["breaks_at"])
    how = (
        "at every batch size tried"
        if brk_at < 0
        else f"and break at B = {brk_at} (lr {_f(ml_rows.loc[brk_at, 'lr'])}: "
        + ("diverged" if ml_rows.loc[brk_at, "diverged"] else
           f"curve off by a typical factor {_f(math.exp(ml_rows.loc[brk_at, 'curve_gap']))}")
        + ")" + bs_note
    )  # fmt: skip
    out.append(Finding(
        f"With the mean loss and the linear scaling rule (lr = {_f(lr)}·B/{b_ref}),"
        f" the loss-per-epoch curves stay within a factor {_f(config.curve_factor)} of the "
        f"reference (B = {b_ref}) up to B = {int(ml['close_up_to'])} {how}; "
        f"the sum reduction with a fixed rate, which is the same rule in disguise (lr·g_sum = "
        f"lr·B·g_mean), stays close up to B = {int(sf['close_up_to'])}."
    ))  # fmt: skip
    return out


def report(tables: dict[str, pd.DataFrame], config: Any) -> Report:
    findings: list[Finding] = []
    sections: list[Section] = []
    if {"slopes", "fits", "noise"} <= tables.keys():
        phases = list(dict.fromkeys(tables["noise"]["phase"]))
        for phase in phases:
            verdict, text = claim_verdict(tables, phase, config.regime_factor)
            findings.append(Finding(text, verdict=verdict, claim=CLAIM))
        findings += [Finding(_noise_finding(tables, phase)) for phase in phases]
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
        findings += _training_findings(tables, config)
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
    return Report("The gradient against the batch size", summary, findings, sections)


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
    n = fits.claim_numbers(tables, "init")
    which = "large" if math.isfinite(n["slope_sum_large"]) else "all"
    where = "at large B" if which == "large" else "over all B"
    text = (
        f"|g| slope {where}: sum {_f(n[f'slope_sum_{which}'])}, mean "
        f"{_f(n[f'slope_mean_{which}'])}; B_simple {_f(n['b_simple_direct'])} "
        f"(fit {_f(n['b_simple_fit'])})"
    )
    if "training_breaks" in tables:
        br = tables["training_breaks"].set_index(["reduction", "lr_rule"])
        d = int(br.loc[("sum", "fixed"), "diverges_from"])
        text += "; fixed-lr sum " + (f"diverges from B={d}" if d > 0 else "never diverges")
    return text
