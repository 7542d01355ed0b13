"""Report, findings and headline of `nnhw vanishing-gradients`, computed from its tables alone.

Every number in a finding is read from the tables (summary, vanishing, training, dead_relu);
a finding whose tables or cases are absent from the run (e.g. no sigmoid in --activations, or no
depth >= 2) is left out rather than guessed. Verdicts on the course's claims come from
`gradient_factors.claim_verdict` (vanishing = fitted signal factor < VANISHING_FACTOR at the
deepest depth); the dead-ReLU formula is "supported" when every point lies within
`DEAD_Z_BOUND` binomial standard errors of it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from nnhw.experiments.reporting.report import Finding, Report, Section
from nnhw.experiments.vanishing_gradients.fits import (
    VANISHING_FACTOR,
    claim_verdict,
    training_ratios,
)

Tables = dict[str, pd.DataFrame]
DEAD_Z_BOUND = 4.0
CLAIM_13B = "1.3(b): sigmoid's gradient vanishes in deeper nets, ReLU's does not"
CLAIM_14D = "1.4(d): tanh has a vanishing gradient"
CLAIM_XAVIER_RELU = "ReLU with Xavier init halves the activations' variance per layer (He et al.)"
CLAIM_DEAD = (
    "with zero biases and symmetric weights an input dies with P = 1 - (1 - 2^-width)^depth"
)


def g3(x: float) -> str:
    """A number in a sentence: 3 significant digits."""
    return f"{x:.3g}"


def _cases(tables: Tables) -> pd.DataFrame:
    return tables.get("vanishing", pd.DataFrame(columns=["activation", "init"]))


def _per_init(cases: pd.DataFrame, act: str) -> str:
    rows = cases[cases["activation"] == act]
    return ", ".join(
        f"{r.init} {g3(r.fitted_factor)} (theory {g3(r.predicted_factor)}, layer 1 gets "
        f"{g3(r.first_last_ratio)} of layer {int(r.depth)}'s signal)"
        for r in rows.itertuples()
    )


def _claim(
    tables: Tables, vanishing: tuple[str, ...], flowing: tuple[str, ...], claim: str
) -> Finding | None:
    cases = _cases(tables)
    acts = (*vanishing, *flowing)
    if not set(acts) <= set(cases["activation"]):
        return None
    try:
        verdict, _ = claim_verdict(tables["summary"], vanishing, flowing)
    except KeyError:
        return None
    depth = int(cases[cases["activation"].isin(acts)]["depth"].max())
    parts = [f"{act}: {_per_init(cases, act)}" for act in acts]
    text = (
        f"Fitted per-layer factor of the back-propagated signal towards the input at depth "
        f"{depth} — " + "; ".join(parts) + f". A gradient counts as vanishing when the "
        f"factor is below {VANISHING_FACTOR}."
    )
    return Finding(text, verdict, claim)


def _agreement(tables: Tables) -> list[Finding]:
    s = tables.get("summary")
    if s is None or s.empty:
        return []
    out = []
    for quantity, what in (
        ("signal", "back-propagated signal"),
        ("act_std", "activation std"),
        ("weight_grad", "weight gradient"),
    ):
        q = s[
            (s["quantity"] == quantity)
            & np.isfinite(s["fitted_factor"])
            & np.isfinite(s["predicted_factor"])
        ]
        if q.empty:
            continue
        ratio = q["fitted_factor"] / q["predicted_factor"]
        dev = np.abs(np.log(ratio))
        worst = q.loc[dev.idxmax()]
        text = (
            f"Theory vs measurement, {what}: over {len(q)} activation x init x depth cases the "
            f"fitted factor is within {g3(100 * np.expm1(dev.median()))}% of the predicted one "
            f"at the median and {g3(100 * np.expm1(dev.max()))}% at worst ({worst['activation']}"
            f", {worst['init']}, depth {int(worst['depth'])}: {g3(worst['fitted_factor'])} vs "
            f"{g3(worst['predicted_factor'])})."
        )
        if quantity == "weight_grad":
            text += (
                " The weight-gradient prediction is per example and ignores the "
                "correlations between a batch's examples, which the batch gradient keeps."
            )
        out.append(Finding(text))
    return out


def _xavier_relu(tables: Tables) -> Finding | None:
    s = tables.get("summary")
    if s is None:
        return None
    q = s[(s["activation"] == "relu") & (s["init"] == "xavier-normal")]
    act, sig, wg = (q[q["quantity"] == k] for k in ("act_std", "signal", "weight_grad"))
    if act.empty:
        return None
    a, g, w = (x.loc[x["depth"].idxmax()] for x in (act, sig, wg))
    variance = float(a["fitted_factor"]) ** 2
    text = (
        f"ReLU with Xavier-normal at depth {int(a['depth'])}: the activations' variance is "
        f"multiplied by {g3(variance)} per layer (theory {g3(a['predicted_factor'] ** 2)}), "
        f"the back-propagated signal's norm by {g3(g['fitted_factor'])} per layer towards the "
        f"input, while the weight gradients' norm is multiplied by {g3(w['fitted_factor'])} "
        "per layer"
    )
    if abs(np.log(float(w["fitted_factor"]))) <= np.log(1.25):
        text += " (about constant: the two effects cancel in dW = dz a^T, as Glorot & Bengio saw)"
    text += "."
    verdict = "supported" if abs(variance - 0.5) <= 0.1 else "refuted"
    return Finding(text, verdict, CLAIM_XAVIER_RELU)


def _training(tables: Tables, config: Any) -> Finding | None:
    t = tables.get("training")
    cases = _cases(tables)
    if t is None or t.empty or cases.empty:
        return None
    r = training_ratios(t, "signal_norm")
    if r.empty:
        return None
    deepest = int(r["depth"].max())
    r = r[r["depth"] == deepest]
    first, last = int(r["epoch"].min()), int(r["epoch"].max())
    start = r[r["epoch"] == first].set_index(["activation", "init"])["first_last_ratio"]
    # each case's last epoch with a finite ratio (a diverged ensemble stops early)
    end = r.sort_values("epoch", kind="stable").groupby(["activation", "init"])["first_last_ratio"]
    end = end.last().reindex(start.index)
    lo, hi = start.idxmin(), start.idxmax()
    text = (
        f"During {last} epochs of SGD (lr {g3(config.lr)}) at depth {deepest}, the first/last "
        f"hidden-layer ratio of the back-propagated signal's norm went from {g3(start[lo])} to "
        f"{g3(end[lo])} for {lo[0]}/{lo[1]} (the smallest at initialisation) and from "
        f"{g3(start[hi])} to {g3(end[hi])} for {hi[0]}/{hi[1]} (the largest)."
    )
    nets = t.groupby(["activation", "init", "depth", "seed"])["train_loss"]
    diverged = nets.apply(lambda x: not np.all(np.isfinite(x)))
    if diverged.any():
        worst = diverged.groupby(["activation", "init"]).sum().idxmax()
        text += (
            f" {int(diverged.sum())} of {len(diverged)} nets diverged (a non-finite loss), "
            f"most of them {worst[0]}/{worst[1]}; their later epochs are left out."
        )
    vanished = cases[cases["vanishes"] & (cases["depth"] == deepest)]
    keys = [k for k in zip(vanished["activation"], vanished["init"]) if k in end.index]
    if keys:
        lo_end, hi_end = g3(end[keys].min()), g3(end[keys].max())
        span = lo_end if lo_end == hi_end else f"between {lo_end} and {hi_end}"
        text += (
            f" The {len(keys)} case{'s' if len(keys) > 1 else ''} whose signal vanished at "
            f"initialisation end{'' if len(keys) > 1 else 's'} with a ratio {span}."
        )
    return Finding(text)


def _dead(tables: Tables) -> Finding | None:
    d = tables.get("dead_relu")
    if d is None or d.empty:
        return None
    worst = d.loc[d["z_score"].abs().idxmax()]
    inside = int((d["z_score"].abs() <= DEAD_Z_BOUND).sum())
    narrow = d[d["width"] == d["width"].min()]
    deep = narrow.loc[narrow["depth"].idxmax()]
    text = (
        f"Dead ReLU: {inside} of {len(d)} (width, depth) points lie within {g3(DEAD_Z_BOUND)} "
        f"binomial standard errors of 1 - (1 - 2^-width)^depth (largest |z| "
        f"{g3(abs(worst['z_score']))} at width {int(worst['width'])}, depth "
        f"{int(worst['depth'])}, {int(worst['samples'])} nets); at width "
        f"{int(deep['width'])} and depth {int(deep['depth'])} {g3(100 * deep['dead_fraction'])}"
        f"% of inputs give an output identically 0 (formula {g3(100 * deep['predicted'])}%)."
    )
    return Finding(text, "supported" if inside == len(d) else "refuted", CLAIM_DEAD)


def findings(tables: Tables, config: Any) -> list[Finding]:
    """Every finding the tables allow, in reading order."""
    out: list[Finding | None] = [
        _claim(tables, ("sigmoid",), ("relu",), CLAIM_13B),
        _claim(tables, ("tanh",), (), CLAIM_14D),
        _claim(tables, (), ("leaky-relu",), "LeakyReLU's gradient does not vanish"),
        *_agreement(tables),
        _xavier_relu(tables),
        _training(tables, config),
        _dead(tables),
    ]
    return [f for f in out if f is not None]


THEORY_TEXT = """\
Variance propagation (Glorot & Bengio 2010; He et al. 2015), pre-activations taken as Gaussian
N(0, q_l): forward, q_{l+1} = n Var(W) E[f(z_l)^2] + Var(b); backward, Var(dz_l) =
n Var(W) E[f'(z_l)^2] Var(dz_{l+1}). So the norm of the back-propagated signal changes by
sqrt(n Var(W) E[f'(z)^2]) per layer towards the input: about 1/4 for sigmoid with Xavier
(n Var(W) = 1, f' <= 1/4), exactly 1 for ReLU with He (n Var(W) = 2, E[f'^2] = 1/2), and
sqrt(1/2) for ReLU with Xavier, whose activations also lose half their variance per layer. The
expectations are exact for ReLU-type activations and Gauss-Hermite quadrature for sigmoid and
tanh, evaluated layer by layer at the predicted q_l; the fitted factor is the geometric mean of
consecutive layer ratios over the hidden layers, and the predicted factor the same mean of the
predicted ratios."""

DATA_TEXT = """\
tables/layers.csv: one row per activation x init x depth x layer x seed at initialisation
(weight_grad_norm, signal_norm, preact_std, act_std; RMS over batches). tables/training.csv: the
same gradient norms and the loss per epoch of the short training run. tables/theory.csv: the
predicted per-layer values. Inputs are standardised Gaussian vectors of the net's width with a
linear teacher as target (MSE); every hidden layer is a square map."""


def make_report(tables: Tables, config: Any) -> Report:
    """The report: findings first, then theory, flow at initialisation, training, dead ReLU."""
    sections = [
        Section("Theory", THEORY_TEXT),
        Section(
            "Gradient flow at initialisation",
            "Fitted against predicted per-layer factors; the vanishes column holds the signal's "
            "factor at each case's deepest depth.",
            tables=[
                (
                    "vanishing",
                    "Back-propagated signal per activation and init at the deepest "
                    "depth: fitted and predicted factor, first/last ratio.",
                ),
                ("summary", "Every fitted and predicted factor and first/last ratio."),
            ],
            figures=[
                (
                    "signal_by_layer",
                    "Norm of the back-propagated signal dL/dz against the "
                    "hidden layer; solid measured, dashed theory.",
                ),
                (
                    "weight_grad_by_layer",
                    "Norm of the weight gradient dL/dW against the "
                    "hidden layer; solid measured, dashed theory (per-example approximation).",
                ),
                (
                    "act_std_by_layer",
                    "Std of the activations against the hidden layer; "
                    "solid measured, dashed theory.",
                ),
                ("fitted_vs_predicted", "Every fitted per-layer factor against its prediction."),
            ],
        ),
        Section(
            "During training",
            "Weight-gradient norms per layer over the short SGD run.",
            figures=[
                (
                    "training_heatmap",
                    "log10 weight-gradient norm, layer x epoch, at the deepest depth.",
                )
            ],
        ),
        Section(
            "Dead ReLU in narrow nets",
            tables=[("dead_relu", "Fraction of inputs whose output is identically zero.")],
            figures=[
                (
                    "dead_relu",
                    "Dead fraction against depth (error bars: 2 standard "
                    "errors) with the formula as lines.",
                )
            ],
        ),
        Section("Data", DATA_TEXT),
    ]
    return Report(
        title="Vanishing gradients: depth, activation and initialisation against theory",
        summary=make_headline(tables),
        findings=findings(tables, config),
        sections=sections,
    )


def make_headline(tables: Tables) -> str:
    """One line: the smallest and largest fitted signal factor at the deepest depth."""
    cases = _cases(tables)
    if cases.empty:
        return "no depth >= 2 measured: no per-layer factor"
    lo = cases.loc[cases["fitted_factor"].idxmin()]
    hi = cases.loc[cases["fitted_factor"].idxmax()]
    return (
        f"signal factor per layer at depth {int(cases['depth'].max())}: "
        f"{g3(lo['fitted_factor'])} ({lo['activation']}/{lo['init']}, theory "
        f"{g3(lo['predicted_factor'])}) to {g3(hi['fitted_factor'])} ({hi['activation']}/"
        f"{hi['init']}, theory {g3(hi['predicted_factor'])})"
    )


def metrics(tables: Tables) -> dict[str, Any]:
    """Numbers for --json and the terminal summary: per activation/init the signal's fitted and
    predicted factor at the deepest depth, and the dead-ReLU study's largest |z|."""
    out: dict[str, Any] = {}
    cases = _cases(tables)
    if len(cases):
        out["depth"] = int(cases["depth"].max())
    for r in cases.itertuples():
        out[f"{r.activation}/{r.init} signal factor"] = float(r.fitted_factor)
        out[f"{r.activation}/{r.init} predicted"] = float(r.predicted_factor)
    d = tables.get("dead_relu")
    if d is not None and len(d):
        out["dead-relu max |z|"] = float(d["z_score"].abs().max())
    return out
