"""The findings of `nnhw batch-scaling`, computed from its tables alone (so `nnhw verify` and
`nnhw report` can reuse them on saved CSVs).

Findings (each a sentence with numbers from the tables; `findings(tables, config)` gives them in
the report's order, each group only when its tables are present):
- `claim_verdict(tables, phase, factor)`: the course's claim 1.4(f) (CLAIM) for the summed loss,
  per phase: the slope of |g_B| against B in the noise-dominated range (B <= B_simple / f) and
  the large-batch range (B >= f B_simple), with its verdict; the same for the mean loss, whose
  gradient does not grow. `nnhw verify` judges the claim with it.
- `noise_finding(tables, phase)`: the noise model's fit (R^2, chi2/dof, both models) and
  B_simple estimated two ways;
- `training_findings(tables, config)`: the training study: where `sum` with a fixed rate
  diverges while `mean` does not, and up to which batch size the linear scaling rule keeps the
  loss-per-epoch curves close.
Numbers are quoted with `fmt` (3 significant digits).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from nnhw.experiments.batch_scaling import fits
from nnhw.experiments.reporting.numbers import number
from nnhw.experiments.reporting.report import Finding

CLAIM = "1.4(f): the gradient increases proportionally with batch size"
TOLERANCE = 0.15  # |slope - 1| within which the growth counts as proportional


def _loss(value: float) -> str:
    """A final loss as a finding quotes it: a diverged one (inf, NaN) is 'not finite'."""
    return number(float(value)) if math.isfinite(float(value)) else "not finite"


def _slope_phrase(claim: dict[str, Any], reduction: str, which: str, bound: str) -> str:
    """'B^0.964 for B = 32..256 (B >= 27.3)', or why there is no slope for that range."""
    tag = f"{reduction}_{which.replace('-B', '')}"
    lo, hi = claim[f"range_{tag}"]
    if lo < 0 or lo == hi:
        return f"no slope for {bound} (fewer than two batch sizes tried lie there)"
    return f"B^{number(claim[f'slope_{tag}'])} for B = {lo}..{hi} ({bound})"


PHASE_OPENINGS = {"init": "At initialisation", "trained": "After the short training"}


def _phase(phase: str) -> str:
    """How a finding opens for a phase of the gradient measurements."""
    return PHASE_OPENINGS.get(phase, f"In phase {phase}")


def claim_verdict(tables: dict[str, pd.DataFrame], phase: str, factor: float) -> tuple[str, str]:
    """(verdict, sentence) on the course's claim 1.4(f) for `phase`, from the slopes table.

    Verdict: "holds only when the loss is summed and B >= f B_simple" when the summed gradient's
    norm grows with slope within TOLERANCE of 1 over the large-batch range, "refuted" otherwise
    (e.g. when B_simple is so large that no batch size tried reaches that range). The sentence
    also gives the mean loss's slopes, which are <= 0: its gradient does not grow."""
    claim = fits.claim_numbers(tables, phase)
    bs = claim["b_simple_direct"]
    large = f"B >= {factor:g}·B_simple = {number(factor * bs)}"
    small = f"B <= B_simple/{factor:g} = {number(bs / factor)}"
    mean_all = claim["slope_mean_all"]
    grows = "grows" if mean_all > TOLERANCE else "does not grow"
    text = (
        f"{_phase(phase)} (B_simple = {number(bs)}), the summed loss's gradient norm goes as "
        f"{_slope_phrase(claim, 'sum', 'large-B', large)}; "
        f"{_slope_phrase(claim, 'sum', 'small-B', small)}; "
        f"B^{number(claim['slope_sum_all'])} over all sizes. The mean loss's gradient norm "
        f"{grows}: {_slope_phrase(claim, 'mean', 'large-B', large)}; "
        f"B^{number(mean_all)} over all sizes."
    )
    sum_large = claim["slope_sum_large"]
    if math.isfinite(sum_large) and abs(sum_large - 1) <= TOLERANCE:
        return f"holds only when the loss is summed and B >= {number(factor * bs)}", text
    return "refuted", text


def noise_finding(tables: dict[str, pd.DataFrame], phase: str) -> str:
    """The noise model's fit for `phase` (R^2, chi2/dof, both models) and B_simple two ways."""
    f = tables["fits"]
    c = f[(f["phase"] == phase) & (f["model"] == "corrected")].iloc[0]
    u = f[(f["phase"] == phase) & (f["model"] == "uncorrected")].iloc[0]
    nz = tables["noise"][tables["noise"]["phase"] == phase].iloc[0]
    return (
        f"{_phase(phase)}, E|g_B|² = |G|² + tr(Σ)/B·(N−B)/(N−1) fits the mean-reduction "
        "measurements at "
        f"{int(c['points'])} batch sizes with R² = {c['r2']:.4f} (χ²/dof = "
        f"{number(c['chi2_dof'])}),"
        f" giving |G|² = {number(c['grad_sq_norm_fit'])} and tr(Σ) = "
        f"{number(c['trace_sigma_fit'])} "
        f"against {number(nz['grad_sq_norm'])} and {number(nz['trace_sigma'])} from the "
        "per-example "
        f"gradients: B_simple = {number(c['b_simple_fit'])} from the fit and "
        f"{number(c['b_simple_direct'])} directly (ratio {number(c['b_simple_ratio'])}). Read "
        "without "
        f"the finite-population correction, the same curve gives |G|² = "
        f"{number(u['grad_sq_norm_fit'])} and B_simple = {number(u['b_simple_fit'])} (ratio "
        f"{number(u['b_simple_ratio'])})."
    )


def training_findings(tables: dict[str, pd.DataFrame], config: Any) -> list[Finding]:
    """Where `sum` with a fixed rate diverges while `mean` does not, and up to which batch size
    the linear scaling rule keeps the loss-per-epoch curves close."""
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
        f"With a fixed learning rate of {number(lr)} (plain SGD, {config.train_epochs} epochs, "
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
            bs_note = f", {number(int(ml['breaks_at']) / bs)} times B_simple = {number(bs)} at init"
    ml_rows = s[(s["reduction"] == "mean") & (s["lr_rule"] == "linear")].set_index("batch_size")
    brk_at = int(ml["breaks_at"])
    how = (
        "at every batch size tried"
        if brk_at < 0
        else f"and break at B = {brk_at} (lr {number(ml_rows.loc[brk_at, 'lr'])}: "
        + ("diverged" if ml_rows.loc[brk_at, "diverged"] else
           f"curve off by a typical factor {number(math.exp(ml_rows.loc[brk_at, 'curve_gap']))}")
        + ")" + bs_note
    )  # fmt: skip
    out.append(Finding(
        f"With the mean loss and the linear scaling rule (lr = {number(lr)}·B/{b_ref}),"
        f" the loss-per-epoch curves stay within a factor {number(config.curve_factor)} of the "
        f"reference (B = {b_ref}) up to B = {int(ml['close_up_to'])} {how}; "
        f"the sum reduction with a fixed rate, which is the same rule in disguise (lr·g_sum = "
        f"lr·B·g_mean), stays close up to B = {int(sf['close_up_to'])}."
    ))  # fmt: skip
    return out


def findings(tables: dict[str, pd.DataFrame], config: Any) -> list[Finding]:
    """Every finding whose tables are present: the claim per phase, the noise fit per phase,
    then the training study's (an interrupted run may lack the training tables)."""
    out: list[Finding] = []
    if {"slopes", "fits", "noise"} <= tables.keys():
        phases = list(dict.fromkeys(tables["noise"]["phase"]))
        for phase in phases:
            verdict, text = claim_verdict(tables, phase, config.regime_factor)
            out.append(Finding(text, verdict=verdict, claim=CLAIM))
        out += [Finding(noise_finding(tables, phase)) for phase in phases]
    if {"training", "training_breaks"} <= tables.keys():
        out += training_findings(tables, config)
    return out
