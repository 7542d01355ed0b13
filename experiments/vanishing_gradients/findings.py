"""The findings of `nnhw vanishing-gradients`, computed from its tables alone.

Every number in a finding is read from the tables (summary, vanishing, training, dead_relu);
a finding whose tables or cases are absent from the run (e.g. no sigmoid in --activations, or no
depth >= 2) is left out rather than guessed. In reading order (`findings`):
- the course's claims on vanishing gradients, CLAIM_13B (sigmoid's vanishes, ReLU's does not),
  CLAIM_14D (tanh's vanishes) and LeakyReLU's not vanishing, with verdicts from
  `fits.claim_verdict` (vanishing = fitted signal factor < VANISHING_FACTOR at the deepest depth);
- theory against measurement: how far the fitted factors lie from the predicted ones;
- ReLU with Xavier (CLAIM_XAVIER_RELU): "supported" when the 95% CI over seeds of the
  activations' variance factor per layer lies within XAVIER_RELU_TOL (0.1) of 1/2, refuted when
  it lies outside, inconclusive otherwise;
- the first/last ratio of the back-propagated signal during the short SGD run;
- dead ReLU (CLAIM_DEAD): the formula is "supported" when every point lies within
  `DEAD_Z_BOUND` binomial standard errors of it.
`nnhw verify` reuses `findings`, `VANISHING_FACTOR`, `CLAIM_13B` and `CLAIM_14D`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from nnhw.experiments.reporting.numbers import number
from nnhw.experiments.reporting.report import Finding
from nnhw.experiments.reporting.uncertainty import ABOVE, BELOW, Decision, decide, interval
from nnhw.experiments.vanishing_gradients.fits import (
    VANISHING_FACTOR,
    claim_verdict,
    hidden_layers,
    training_ratios,
)
from nnhw.experiments.vanishing_gradients.mean_field import mean_field_findings
from nnhw.experiments.vanishing_gradients.theory import geometric_factor

Tables = dict[str, pd.DataFrame]
DEAD_Z_BOUND = 4.0
XAVIER_RELU_TOL = 0.1  # ReLU with Xavier: the variance factor within 1/2 +- this
CLAIM_13B = "1.3(b): sigmoid's gradient vanishes in deeper nets, ReLU's does not"
CLAIM_14D = "1.4(d): tanh has a vanishing gradient"
CLAIM_XAVIER_RELU = "ReLU with Xavier init halves the activations' variance per layer (He et al.)"
CLAIM_DEAD = (
    "with zero biases and symmetric weights an input dies with P = 1 - (1 - 2^-width)^depth"
)


def deepest_cases(tables: Tables) -> pd.DataFrame:
    """The `vanishing` table (one row per activation x init at its deepest depth), or an empty
    one when the run has none."""
    return tables.get("vanishing", pd.DataFrame(columns=["activation", "init"]))


def _per_init(cases: pd.DataFrame, act: str) -> str:
    rows = cases[cases["activation"] == act]
    return ", ".join(
        f"{r.init} {number(r.fitted_factor)} (theory {number(r.predicted_factor)}, layer 1 gets "
        f"{number(r.first_last_ratio)} of layer {int(r.depth)}'s signal)"
        for r in rows.itertuples()
    )


def _claim(
    tables: Tables, vanishing: tuple[str, ...], flowing: tuple[str, ...], claim: str
) -> Finding | None:
    cases = deepest_cases(tables)
    acts = (*vanishing, *flowing)
    if not set(acts) <= set(cases["activation"]):
        return None
    decisions = case_decisions(tables)
    try:
        if len(decisions):  # per-seed factors: a CI per case, inconclusive when it straddles
            verdict, _, _ = claim_from_decisions(decisions, vanishing, flowing)
        else:  # a run saved without the layers table: the pooled factor alone
            verdict, _ = claim_verdict(tables["summary"], vanishing, flowing)
    except KeyError:
        return None
    depth = int(cases[cases["activation"].isin(acts)]["depth"].max())
    parts = [f"{act}: {_per_init(cases, act)}" for act in acts]
    text = (
        f"Fitted per-layer factor of the back-propagated signal towards the input at depth "
        f"{depth} — " + "; ".join(parts) + f". A gradient counts as vanishing when the "
        f"factor is below {VANISHING_FACTOR}"
    )
    if len(decisions):
        d = decisions[decisions["activation"].isin(acts)]
        text += (
            ", decided per init on the 95% CI over "
            f"{int(d['seeds'].min())} seeds (inconclusive when it contains the cut-off): "
            + "; ".join(
                f"{r.activation}/{r.init} [{number(r.factor_low)}, {number(r.factor_high)}] "
                f"{r.outcome}, 1% after {number(r.layers_to_1pct)} layers"
                for r in d.itertuples()
            )
        )
    return Finding(text + ".", verdict, claim)


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
            f"fitted factor is within {number(100 * np.expm1(dev.median()))}% of the predicted one "
            f"at the median and {number(100 * np.expm1(dev.max()))}% at worst "
            f"({worst['activation']}"
            f", {worst['init']}, depth {int(worst['depth'])}: {number(worst['fitted_factor'])} vs "
            f"{number(worst['predicted_factor'])})."
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
        f"multiplied by {number(variance)} per layer (theory "
        f"{number(a['predicted_factor'] ** 2)}), "
        f"the back-propagated signal's norm by {number(g['fitted_factor'])} per layer towards the "
        f"input, while the weight gradients' norm is multiplied by {number(w['fitted_factor'])} "
        "per layer"
    )
    if abs(np.log(float(w["fitted_factor"]))) <= np.log(1.25):
        text += " (about constant: the two effects cancel in dW = dz a^T, as Glorot & Bengio saw)"
    layers = tables.get("layers")
    per_seed = (
        seed_factors(layers, "relu", "xavier-normal", int(a["depth"]), "act_std")
        if layers is not None
        else np.array([])
    )
    if per_seed.size < 2:  # no per-seed values: the pooled factor alone
        verdict = "supported" if abs(variance - 0.5) <= XAVIER_RELU_TOL else "refuted"
        return Finding(text + ".", verdict, CLAIM_XAVIER_RELU)
    # act_std's factor runs towards the output: the inverse of seed_factors' (v_1 / v_L)^(1/(L-1))
    e = interval(per_seed**-2.0, log=True)
    lo, hi = 0.5 - XAVIER_RELU_TOL, 0.5 + XAVIER_RELU_TOL
    text += (
        f"; over {e.n} seeds the variance factor is {number(e.value)} (95% CI [{number(e.low)}, "
        f"{number(e.high)}]), held against 1/2 +- {number(XAVIER_RELU_TOL)}."
    )
    if lo <= e.low and e.high <= hi:
        verdict = "supported"
    elif e.high < lo or e.low > hi:
        verdict = "refuted"
    else:
        verdict = "inconclusive"
    return Finding(text, verdict, CLAIM_XAVIER_RELU)


def _training(tables: Tables, config: Any) -> Finding | None:
    t = tables.get("training")
    cases = deepest_cases(tables)
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
        f"During {last} epochs of SGD (lr {number(config.lr)}) at depth {deepest}, the first/last "
        f"hidden-layer ratio of the back-propagated signal's norm went from {number(start[lo])} to "
        f"{number(end[lo])} for {lo[0]}/{lo[1]} (the smallest at initialisation) and from "
        f"{number(start[hi])} to {number(end[hi])} for {hi[0]}/{hi[1]} (the largest)."
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
        lo_end, hi_end = number(end[keys].min()), number(end[keys].max())
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
        f"Dead ReLU: {inside} of {len(d)} (width, depth) points lie within {number(DEAD_Z_BOUND)} "
        f"binomial standard errors of 1 - (1 - 2^-width)^depth (largest |z| "
        f"{number(abs(worst['z_score']))} at width {int(worst['width'])}, depth "
        f"{int(worst['depth'])}, {int(worst['samples'])} nets); at width "
        f"{int(deep['width'])} and depth {int(deep['depth'])} {number(100 * deep['dead_fraction'])}"
        f"% of inputs give an output identically 0 (formula {number(100 * deep['predicted'])}%)."
    )
    return Finding(text, "supported" if inside == len(d) else "refuted", CLAIM_DEAD)


def seed_factors(
    layers: pd.DataFrame,
    activation: str,
    init: str,
    depth: int | None = None,
    column: str = "signal_norm",
) -> np.ndarray:
    """Per-seed fitted factor of `column` over the hidden layers at `depth` (the deepest
    measured when None), towards the input: (v_1 / v_L)^(1/(L-1)) for each seed. Empty when the
    case was not measured at a depth >= 2."""
    rows = hidden_layers(layers)
    rows = rows[(rows["activation"] == activation) & (rows["init"] == init) & (rows["depth"] >= 2)]
    if rows.empty:
        return np.array([])
    rows = rows[rows["depth"] == (int(rows["depth"].max()) if depth is None else depth)]
    return np.array([
        geometric_factor(g.sort_values("layer")[column].to_numpy())
        for _, g in rows.groupby("seed", sort=True)
    ])  # fmt: skip


def layers_to_one_percent(factor: float) -> float:
    """How many layers towards the input the signal takes to fall to 1% at a per-layer
    `factor`: ln(0.01) / ln(factor) (inf when the factor is >= 1: it does not fall)."""
    if not np.isfinite(factor) or factor <= 0:
        return float("nan")
    return float(np.log(0.01) / np.log(factor)) if factor < 1 else float("inf")


def case_decisions(tables: Tables, threshold: float = VANISHING_FACTOR) -> pd.DataFrame:
    """Per activation x init at its deepest depth: the signal factor over seeds with its 95% CI
    (geometric mean and t interval of the logs), the cut-off test (`outcome`: "vanishes" when
    the whole CI lies below `threshold`, "flows" when above, else "inconclusive"), the seeds
    on that side, what a 25% move of the cut-off does, and the layers to 1% with their CI."""
    layers = tables.get("layers")
    cases = deepest_cases(tables)
    rows = []
    if layers is None or cases.empty:
        return pd.DataFrame()
    for r in cases.itertuples():
        values = seed_factors(layers, str(r.activation), str(r.init), int(r.depth))
        if values.size == 0:
            continue
        d: Decision = decide(values, threshold, log=True)
        e = d.estimate
        word = {BELOW: "vanishes", ABOVE: "flows"}
        rows.append({
            "activation": r.activation, "init": r.init, "depth": int(r.depth),
            "factor": e.value, "factor_low": e.low, "factor_high": e.high, "seeds": e.n,
            "predicted": float(r.predicted_factor), "cutoff": threshold,
            "outcome": word.get(d.outcome, "inconclusive"), "agree": d.agree,
            "moved_low": word.get(d.moved[0], "inconclusive"),
            "moved_high": word.get(d.moved[1], "inconclusive"),
            "layers_to_1pct": layers_to_one_percent(e.value),
            "layers_to_1pct_low": layers_to_one_percent(e.low),
            "layers_to_1pct_high": layers_to_one_percent(e.high),
        })  # fmt: skip
    return pd.DataFrame(rows)


def claim_from_decisions(
    decisions: pd.DataFrame,
    vanishing: tuple[str, ...],
    flowing: tuple[str, ...],
    column: str = "outcome",
) -> tuple[str, list[str], list[str]]:
    """Verdict on "the signal vanishes for every activation in `vanishing` and flows for every
    one in `flowing`", per init measured for all of them, from `case_decisions`' `column`
    (outcome, or moved_low / moved_high for the moved cut-off): under an init it holds when
    every case is on its side, fails when one is on the other side, and is undecided otherwise.
    Returns the verdict ("supported" under every init, "refuted" under none with nothing
    undecided, "holds only when the init is ...", or "inconclusive"), the inits where it holds
    and those undecided. KeyError if no init has every activation."""
    acts = (*vanishing, *flowing)
    d = decisions[decisions["activation"].isin(acts)] if len(decisions) else decisions
    inits = [i for i, g in d.groupby("init", sort=False) if set(g["activation"]) == set(acts)]
    if not acts or not inits:
        raise KeyError(f"no init measured for all of {', '.join(acts)} at depth >= 2")
    holds, undecided = [], []
    for init in inits:
        o = d[d["init"] == init].set_index("activation")[column]
        want = {**{a: "vanishes" for a in vanishing}, **{a: "flows" for a in flowing}}
        if all(o[a] == w for a, w in want.items()):
            holds.append(init)
        elif all(o[a] in (w, "inconclusive") for a, w in want.items()):
            undecided.append(init)
    if len(holds) == len(inits):
        return "supported", holds, undecided
    if not holds:
        return ("inconclusive" if undecided else "refuted"), holds, undecided
    verdict = f"holds only when the init is {' or '.join(holds)}"
    if undecided:
        verdict += f" (inconclusive under {' and '.join(undecided)})"
    return verdict, holds, undecided


def findings(tables: Tables, config: Any) -> list[Finding]:
    """Every finding the tables allow, in reading order."""
    out: list[Finding | None] = [
        _claim(tables, ("sigmoid",), ("relu",), CLAIM_13B),
        _claim(tables, ("tanh",), (), CLAIM_14D),
        _claim(tables, (), ("leaky-relu",), "LeakyReLU's gradient does not vanish"),
        *_agreement(tables),
        _xavier_relu(tables),
        *mean_field_findings(tables),  # theory for any activation, SELU's self-normalisation
        _training(tables, config),
        _dead(tables),
    ]
    return [f for f in out if f is not None]
