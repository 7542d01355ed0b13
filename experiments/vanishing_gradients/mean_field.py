"""The findings of `nnhw vanishing-gradients` that rest on the mean-field theory for any activation
(vanishing_gradients.theory): how close the measured per-layer factors come to it where they are
moderate, the critical initialisation of each activation, and SELU's self-normalisation tested
against ELU, ReLU and tanh. Computed from the tables alone; vanishing_gradients.findings lists
them with the others.

- `agreement_finding`: at depth AGREEMENT_DEPTH (8; else the deepest measured), the cases whose
  predicted signal factor lies in [0.5, 2], and how many of them the fitted factor matches within
  AGREEMENT_TOL (10%). No verdict: theory against measurement, the numbers say how well.
- `critical_finding`: the critical n Var(W) of each activation (factor 1 at the fixed point) and
  the initialisers that give it, or why there is none with zero biases; which studied inits are
  near critical (factor at the fixed point within 5% of 1).
- `selfnorm_finding`: the claim of Klambauer et al. 2017 (CLAIM_SELFNORM), "supported" when
  SELU's activations at the deepest layer keep |mean| < MEAN_CUTOFF and a variance within a
  factor VAR_FACTOR of 1 (both 95% intervals over seeds inside: fits.selfnorm_decision),
  "refuted" when either interval lies outside, else "inconclusive"; with ELU, ReLU and tanh's
  drift and every activation's fixed point beside it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from nnhw.experiments.reporting.numbers import number
from nnhw.experiments.reporting.report import Finding
from nnhw.experiments.reporting.uncertainty import describe
from nnhw.experiments.vanishing_gradients.fits import (
    MEAN_CUTOFF,
    VAR_FACTOR,
    selfnorm_decision,
    selfnorm_drift,
)

Tables = dict[str, pd.DataFrame]
AGREEMENT_DEPTH = 8
AGREEMENT_TOL = 0.10
AGREEMENT_RANGE = (0.5, 2.0)
NEAR_CRITICAL = 0.05
TINY_Q = 1e-6  # a fixed point this small is the limit 0
CLAIM_SELFNORM = (
    "SELU with LeCun-normal weights keeps the activations at mean 0 and variance 1 through deep "
    "nets (Klambauer et al. 2017)"
)


def agreement_finding(tables: Tables) -> Finding | None:
    """Fitted against predicted signal factors where the prediction is moderate (docstring)."""
    s = tables.get("summary")
    if s is None or s.empty:
        return None
    s = s[(s["quantity"] == "signal") & np.isfinite(s["predicted_factor"])]
    if s.empty:
        return None
    depths = sorted(int(d) for d in s["depth"].unique())
    depth = AGREEMENT_DEPTH if AGREEMENT_DEPTH in depths else depths[-1]
    lo, hi = AGREEMENT_RANGE
    q = s[(s["depth"] == depth) & s["predicted_factor"].between(lo, hi)]
    if q.empty:
        return None
    dev = (q["fitted_factor"] / q["predicted_factor"] - 1).abs()
    inside = int((dev <= AGREEMENT_TOL).sum())
    worst = q.loc[dev.idxmax()]
    text = (
        f"Mean-field theory against measurement at depth {depth}: of the {len(q)} activation x "
        f"init cases whose predicted signal factor lies between {number(lo)} and {number(hi)}, "
        f"{inside} have a fitted factor within {number(100 * AGREEMENT_TOL)}% of it (median "
        f"deviation {number(100 * float(dev.median()))}%, largest "
        f"{number(100 * float(dev.max()))}% for {worst['activation']}/{worst['init']}: "
        f"{number(worst['fitted_factor'])} against {number(worst['predicted_factor'])})."
    )
    if inside < len(q):
        off = q[dev > AGREEMENT_TOL]
        text += " Outside: " + ", ".join(f"{a}/{i}" for a, i in zip(off["activation"], off["init"]))
        text += " (finite width: the theory is the limit of infinitely wide layers)."
    return Finding(text)


def critical_finding(tables: Tables) -> Finding | None:
    """The critical initialisation of each activation, by quadrature (docstring)."""
    c = tables.get("critical")
    if c is None or c.empty:
        return None
    found = c[np.isfinite(c["critical_sigma_w2"])]
    parts = []
    for r in found.itertuples():
        inits = str(r.inits) if isinstance(r.inits, str) and r.inits else "no core initialiser"
        if r.kind == "diverges":
            where = "q* -> inf"
        elif r.kind == "collapses to 0" or float(r.q_star) < TINY_Q:
            where = "q* -> 0"  # at the critical point itself the fixed point is 0 (tanh, ELU)
        else:
            where = f"q* = {number(r.q_star)}"
        parts.append(f"{r.activation} {number(r.critical_sigma_w2)} ({inits}; {where})")
    text = (
        "Critical initialisation, from the mean-field variance map by quadrature (zero biases, "
        "standardised inputs): the n Var(W) at which the gradient's per-layer variance factor "
        "chi = n Var(W) E[f'(z)^2] is 1 at the fixed point the pre-activations' variance reaches"
    )
    text += ": " + "; ".join(parts) + "." if parts else "."
    missing = c[~np.isfinite(c["critical_sigma_w2"])]["activation"].tolist()
    if missing:
        text += " " + _no_critical(missing, tables.get("factor_curve"))
    fp = tables.get("fixed_points")
    if fp is not None and len(fp):
        near = fp[(fp["chi_star"] - 1).abs() <= 2 * NEAR_CRITICAL]  # chi within ~10%: factor 5%
        near = near[(np.sqrt(near["chi_star"]) - 1).abs() <= NEAR_CRITICAL]
        if len(near):
            text += (
                f" Among the inits studied, the signal's factor at the fixed point is within "
                f"{number(100 * NEAR_CRITICAL)}% of 1 for "
                + ", ".join(
                    f"{a}/{i} ({number(f)})"
                    for a, i, f in zip(near["activation"], near["init"], near["factor_star"])
                )
                + "."
            )
    return Finding(text)


def _no_critical(missing: list[str], curve: pd.DataFrame | None) -> str:
    """Why these activations have no critical n Var(W): their factor at the fixed point stays
    below 1, or jumps over it (read off the factor_curve table)."""
    below, jumps = [], []
    for act in missing:
        g = None if curve is None else curve[curve["activation"] == act]
        if g is not None and len(g) and float(g["factor_star"].max()) < 1:
            top, edge = float(g["factor_star"].max()), float(g["sigma_w2"].max())
            below.append(f"{act} (at most {number(top)} up to n Var(W) = {number(edge)})")
        else:
            jumps.append(act)
    parts = []
    if below:
        parts.append(f"stays below 1 for {', '.join(below)}")
    if jumps:
        parts.append(
            f"jumps over 1 for {', '.join(jumps)}, where the variance switches from collapsing "
            "to 0 to growing without bound (only a non-zero bias variance can make "
            f"{'it' if len(jumps) == 1 else 'them'} critical)"
        )
    return (
        "No critical point with zero biases between n Var(W) = 0.1 and 100: the factor at the "
        "fixed point " + "; it ".join(parts) + "."
    )


def _fixed(row: pd.Series) -> str:
    if row["kind"] == "collapses to 0":
        return "its variance collapses to 0"
    if row["kind"] == "diverges":
        return "its variance grows without bound"
    return f"fixed point mean {number(row['mean_star'])}, variance {number(row['var_star'])}"


def selfnorm_finding(tables: Tables) -> Finding | None:
    """SELU's self-normalisation against ELU, ReLU and tanh (docstring)."""
    sn, summary = tables.get("selfnorm"), tables.get("selfnorm_summary")
    if sn is None or summary is None or "selu" not in set(summary["activation"]):
        return None
    by = summary.set_index("activation")
    selu = by.loc["selu"]
    depth = int(selu["depth"])
    decision = selfnorm_decision(selfnorm_drift(sn), "selu")
    text = (
        f"Self-normalisation with LeCun-normal weights, {int(selu['seeds'])} nets of depth "
        f"{depth} each: at layer {depth} SELU's activations have mean {number(selu['mean'])} "
        f"(95% CI {number(selu['mean_low'])} to {number(selu['mean_high'])}) and variance "
        f"{number(selu['var'])} ({number(selu['var_low'])} to {number(selu['var_high'])}); "
        f"theory {number(selu['predicted_mean'])} and {number(selu['predicted_var'])} "
        f"({_fixed(selu)}). Over every layer and net the largest |mean| was "
        f"{number(selu['worst_abs_mean'])} and the variance stayed within a factor "
        f"{number(selu['worst_var_factor'])} of 1."
    )
    others = [a for a in by.index if a != "selu"]
    if others:
        beside = []
        for a in others:
            r = by.loc[a]
            theory = f"theory {number(r['predicted_var'])}; {_fixed(r)}"
            beside.append(f"{a} variance {number(r['var'])} ({theory})")
        text += " Beside it: " + "; ".join(beside) + "."
    ln_cut = math.log(VAR_FACTOR)
    text += (
        f" Cut-offs at layer {depth}, per net: |mean| < {number(MEAN_CUTOFF)} and |ln variance| < "
        f"ln {number(VAR_FACTOR)} = {number(ln_cut)}; {decision.within} of {decision.seeds} SELU "
        f"nets inside both. |mean|: {describe(decision.mean, number)}. |ln variance|: "
        f"{describe(decision.var, number)}."
    )
    verdicts = {"keeps (0, 1)": "supported", "drifts": "refuted"}
    verdict = verdicts.get(decision.outcome, "inconclusive")
    return Finding(text, verdict, CLAIM_SELFNORM)


def mean_field_findings(tables: Tables) -> list[Finding]:
    """Every finding of this module the tables allow, in reading order."""
    out = [agreement_finding(tables), critical_finding(tables), selfnorm_finding(tables)]
    return [f for f in out if f is not None]
