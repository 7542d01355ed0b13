"""Per-layer factors of gradient flow, fitted from the tables of `nnhw vanishing-gradients` and
predicted by variance propagation (vanishing_gradients.theory). Pure functions of DataFrames, so
the findings (and through them `nnhw verify`) reuse them on saved CSVs.

Quantities (`QUANTITIES`), each over the hidden layers l = 1..L only (the square n x n maps; the
output layer has one unit):
- "signal": ||dL/dz_l||, the back-propagated signal; factor per layer towards the input.
- "weight_grad": ||dL/dW_l||_F; factor per layer towards the input.
- "act_std": the std of a_l; factor per layer towards the output.
Fitted factor: the geometric mean of the consecutive ratios in the quantity's direction, i.e.
(v_1 / v_L)^(1/(L-1)) for the gradients and (v_L / v_1)^(1/(L-1)) for act_std, where v_l is the
root mean square over seeds of the per-seed values (themselves RMS over batches). `fitted_min` and
`fitted_max` are the extremes of the same factor computed seed by seed. `first_last_ratio` is
literally v_1 / v_L (layer 1 over the last hidden layer) for every quantity: factor^(L-1) for the
gradients, factor^-(L-1) for act_std. Predicted columns apply the same formulas to the theory
table. Depths below 2 have no consecutive ratio and are left out of the summary.

A gradient "vanishes" (`vanishing_cases`, `claim_verdict`) when the fitted signal factor at the
deepest depth measured is below `VANISHING_FACTOR` = 0.8: each layer then passes on less than 80%
of the signal it receives, the loss compounds exponentially (the first of 16 layers gets under
0.8^15 = 3.5% of the last one's). The line is a definition; the tables keep the factors, so a
reader can draw another. Critical cases sit above it: tanh with Xavier (factor near 0.9, tending
to 1 with depth as its variance shrinks) and ReLU with He (1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from nnhw.experiments.reporting.uncertainty import ABOVE, BELOW, Decision, decide, interval
from nnhw.experiments.vanishing_gradients.theory import (
    bias_variance,
    critical_sigma_w2,
    fixed_point,
    geometric_factor,
    inits_with,
    propagate,
    weight_variance,
)

KEYS = ["activation", "init", "depth"]
QUANTITIES: dict[str, tuple[str, str, str]] = {
    # quantity: (measured column, predicted column, direction)
    "signal": ("signal_norm", "predicted_signal", "backward"),
    "weight_grad": ("weight_grad_norm", "predicted_weight_grad", "backward"),
    "act_std": ("act_std", "predicted_act_std", "forward"),
}
SUMMARY_COLUMNS = [
    *KEYS,
    "quantity",
    "direction",
    "fitted_factor",
    "fitted_min",
    "fitted_max",
    "predicted_factor",
    "first_last_ratio",
    "predicted_first_last_ratio",
    "seeds",
]
THEORY_COLUMNS = [
    *KEYS,
    "layer",
    "predicted_preact_std",
    "predicted_act_std",
    "predicted_signal",
    "predicted_weight_grad",
]
VANISHING_FACTOR = 0.8
FIXED_POINT_COLUMNS = [
    "activation", "init", "sigma_w2", "sigma_b2", "q1", "kind", "q_star", "chi_star",
    "factor_star", "act_mean_star", "act_var_star",
]  # fmt: skip
CURVE_COLUMNS = ["activation", "sigma_w2", "kind", "q_star", "chi_star", "factor_star"]
CURVE_SIGMA_W2 = tuple(float(v) for v in np.geomspace(0.1, 10.0, 61))
CRITICAL_COLUMNS = ["activation", "critical_sigma_w2", "kind", "q_star", "chi_star", "inits"]
# The self-normalisation check (Klambauer et al. 2017): SELU against three others, all with the
# init SELU's claim assumes.
SELFNORM_ACTIVATIONS = ("selu", "elu", "relu", "tanh")
SELFNORM_INIT = "lecun-normal"
# "Keeps mean 0 and variance 1" at the deepest layer, per net: |mean| below MEAN_CUTOFF (a tenth
# of the target std) and the variance within a factor VAR_FACTOR of 1 (|ln var| < ln 1.25).
# A width-64 SELU net's own variance at depth 32 spreads about 0.8 to 1.2 over seeds (finite
# width); ReLU's falls by 2^-31 and tanh's and ELU's towards 0, so the band separates them.
MEAN_CUTOFF = 0.1
VAR_FACTOR = 1.25
SELFNORM_THEORY_COLUMNS = ["activation", "init", "depth", "layer", "predicted_mean",
                           "predicted_var"]  # fmt: skip


def theory_table(
    activations: tuple[str, ...], inits: tuple[str, ...], depths: tuple[int, ...], width: int
) -> pd.DataFrame:
    """Predicted per-hidden-layer values for every case (inputs of dimension `width`).

    predicted_signal and predicted_weight_grad are relative to the last hidden layer (= 1 there);
    the stds are absolute."""
    rows = []
    for act in activations:
        for init in inits:
            for depth in depths:
                p = propagate(act, init, depth, width, width)
                for l in range(depth):
                    values = (p.preact_var[l] ** 0.5, p.act_std[l], p.signal[l], p.weight_grad[l])
                    rows.append((act, init, depth, l + 1, *map(float, values)))
    return pd.DataFrame(rows, columns=THEORY_COLUMNS)


def _factor(values: np.ndarray, direction: str) -> float:
    f = geometric_factor(values)
    return 1.0 / f if direction == "forward" and f == f else f  # f == f: not NaN


def _first_last(values: np.ndarray) -> float:
    v = np.asarray(values, dtype=np.float64)
    return float(v[0] / v[-1]) if v.size >= 2 and v[-1] > 0 else float("nan")


def hidden_layers(layers: pd.DataFrame) -> pd.DataFrame:
    """Rows of the hidden layers only (layer <= depth)."""
    return layers[layers["layer"] <= layers["depth"]]


def fitted_factors(layers: pd.DataFrame) -> pd.DataFrame:
    """One row per activation x init x depth (>= 2) x quantity: fitted factor, spread over seeds
    and first/last ratio, from the tidy `layers` table (columns as cells.LAYER_COLUMNS)."""
    hidden = hidden_layers(layers)
    # Cases keep the order of the table (the sweep's: --activations, --inits, --depths as given).
    hidden = hidden[hidden["depth"] >= 2].sort_values(["seed", "layer"], kind="stable")
    rows = []
    for key, g in hidden.groupby(KEYS, sort=False):
        for quantity, (column, _, direction) in QUANTITIES.items():
            rms = np.sqrt((g[column] ** 2).groupby(g["layer"]).mean()).to_numpy()
            per_seed = [_factor(s[column].to_numpy(), direction) for _, s in g.groupby("seed")]
            rows.append(
                (
                    *key,
                    quantity,
                    direction,
                    _factor(rms, direction),
                    float(np.min(per_seed)),
                    float(np.max(per_seed)),
                    _first_last(rms),
                    g["seed"].nunique(),
                )
            )
    columns = [
        *KEYS,
        "quantity",
        "direction",
        "fitted_factor",
        "fitted_min",
        "fitted_max",
        "first_last_ratio",
        "seeds",
    ]
    return pd.DataFrame(rows, columns=columns)


def predicted_factors(theory: pd.DataFrame) -> pd.DataFrame:
    """One row per activation x init x depth (>= 2) x quantity: predicted factor and first/last."""
    rows = []
    deep = theory[theory["depth"] >= 2].sort_values("layer", kind="stable")
    for key, g in deep.groupby(KEYS, sort=False):
        for quantity, (_, column, direction) in QUANTITIES.items():
            v = g[column].to_numpy()
            rows.append((*key, quantity, _factor(v, direction), _first_last(v)))
    columns = [*KEYS, "quantity", "predicted_factor", "predicted_first_last_ratio"]
    return pd.DataFrame(rows, columns=columns)


def summarize(layers: pd.DataFrame, theory: pd.DataFrame) -> pd.DataFrame:
    """Fitted beside predicted: the `summary` table (columns SUMMARY_COLUMNS)."""
    fitted = fitted_factors(layers)
    merged = fitted.merge(predicted_factors(theory), on=[*KEYS, "quantity"], how="left")
    return merged[SUMMARY_COLUMNS].reset_index(drop=True)


def factor(
    summary: pd.DataFrame,
    activation: str,
    init: str,
    depth: int | None = None,
    quantity: str = "signal",
) -> pd.Series:
    """The summary row of one case (depth None: the deepest measured); KeyError if absent."""
    rows = summary[
        (summary["activation"] == activation)
        & (summary["init"] == init)
        & (summary["quantity"] == quantity)
    ]
    if depth is not None:
        rows = rows[rows["depth"] == depth]
    if rows.empty:
        raise KeyError(f"no summary row for {activation}/{init} depth {depth} {quantity}")
    return rows.loc[rows["depth"].idxmax()]


def vanishing_cases(summary: pd.DataFrame, threshold: float = VANISHING_FACTOR) -> pd.DataFrame:
    """Per activation x init at its deepest depth: the signal's fitted and predicted factor,
    first/last ratio, and `vanishes` (fitted factor < threshold)."""
    s = summary[summary["quantity"] == "signal"]
    if s.empty:
        return pd.DataFrame(
            columns=[*KEYS, "fitted_factor", "predicted_factor", "first_last_ratio", "vanishes"]
        )
    deepest = s.loc[s.groupby(["activation", "init"], sort=False)["depth"].idxmax()]
    out = deepest[[*KEYS, "fitted_factor", "predicted_factor", "first_last_ratio"]].copy()
    out["vanishes"] = out["fitted_factor"] < threshold
    return out.reset_index(drop=True)


def training_ratios(training: pd.DataFrame, column: str = "weight_grad_norm") -> pd.DataFrame:
    """Per activation x init x depth (>= 2) x epoch: first/last hidden-layer ratio of `column`
    (weight_grad_norm or signal_norm; geometric mean over seeds, non-finite seeds such as
    diverged ones left out)."""
    t = training[training["depth"] >= 2]
    index = [*KEYS, "epoch", "seed"]
    first = t[t["layer"] == 1].set_index(index)[column]
    last = t[t["layer"] == t["depth"]].set_index(index)[column]
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.log(first / last)
    log_ratio = log_ratio[np.isfinite(log_ratio)]
    out = np.exp(log_ratio.groupby(level=[*KEYS, "epoch"]).mean()).rename("first_last_ratio")
    return out.reset_index()


def claim_verdict(
    summary: pd.DataFrame,
    vanishing: tuple[str, ...] = (),
    flowing: tuple[str, ...] = (),
    threshold: float = VANISHING_FACTOR,
) -> tuple[str, tuple[str, ...]]:
    """Verdict on "the gradient vanishes for every activation in `vanishing` and not for any in
    `flowing`", judged per init (those measured for all of them) at the deepest depth: "supported"
    when it holds under every init, "refuted" under none, else "holds only when the init is ...".
    Returns the verdict and the inits under which it holds; KeyError if nothing was measured."""
    cases = vanishing_cases(summary, threshold)
    acts = (*vanishing, *flowing)
    cases = cases[cases["activation"].isin(acts)]
    per_init = cases.groupby("init", sort=False)
    inits = [i for i, g in per_init if set(g["activation"]) == set(acts)]
    if not acts or not inits:
        raise KeyError(f"no init measured for all of {', '.join(acts)} at depth >= 2")
    holds = []
    for init in inits:
        g = cases[cases["init"] == init].set_index("activation")["vanishes"]
        if all(g[a] for a in vanishing) and not any(g[a] for a in flowing):
            holds.append(init)
    if len(holds) == len(inits):
        return "supported", tuple(holds)
    if not holds:
        return "refuted", ()
    return f"holds only when the init is {' or '.join(holds)}", tuple(holds)


def fixed_point_table(
    activations: tuple[str, ...], inits: tuple[str, ...], width: int
) -> pd.DataFrame:
    """Per activation x init: where the variance map leads (theory.fixed_point) for square
    hidden layers of `width` fed standardised inputs: sigma_w2 = n Var(W), sigma_b2 = Var(b),
    q1, kind (fixed point, collapses to 0, diverges), q_star, chi_star (the gradient variance's
    per-layer factor there), factor_star = sqrt(chi_star) (the signal norm's, as the study's
    factors), act_mean_star and act_var_star (of the activations at q_star)."""
    rows = []
    for act in activations:
        for init in inits:
            s_w2 = width * weight_variance(init, width, width)
            s_b2 = bias_variance(init, width)
            fp = fixed_point(act, s_w2, s_b2)
            rows.append((act, init, s_w2, s_b2, s_w2 + s_b2, fp.kind, fp.q, fp.chi,
                         fp.chi**0.5, fp.mean, fp.var))  # fmt: skip
    return pd.DataFrame(rows, columns=FIXED_POINT_COLUMNS)


def critical_table(activations: tuple[str, ...], width: int) -> pd.DataFrame:
    """Per activation: the critical weight variance sigma_w^2 = n Var(W) with zero biases
    (theory.critical_sigma_w2: chi = 1 at the fixed point; NaN when none), where the map leads
    there, and the initialisers of core.init that give it on a square layer of `width`."""
    rows = []
    for act in activations:
        s = critical_sigma_w2(act)
        if np.isnan(s):
            rows.append((act, s, "none", np.nan, np.nan, ""))
            continue
        fp = fixed_point(act, s)
        rows.append((act, s, fp.kind, fp.q, fp.chi, ", ".join(inits_with(s, width))))
    return pd.DataFrame(rows, columns=CRITICAL_COLUMNS)


def factor_curve(activations: tuple[str, ...]) -> pd.DataFrame:
    """Per activation and sigma_w^2 = n Var(W) in CURVE_SIGMA_W2 (zero biases): where the
    variance map leads and the signal's per-layer factor sqrt(chi) there (the critical figure)."""
    rows = []
    for act in activations:
        for s_w2 in CURVE_SIGMA_W2:
            fp = fixed_point(act, s_w2)
            rows.append((act, s_w2, fp.kind, fp.q, fp.chi, fp.chi**0.5))
    return pd.DataFrame(rows, columns=CURVE_COLUMNS)


def selfnorm_theory(depth: int, width: int) -> pd.DataFrame:
    """Predicted mean and variance of every hidden layer's activations for SELFNORM_ACTIVATIONS
    with SELFNORM_INIT (theory.propagate on standardised inputs of dimension `width`)."""
    rows = []
    for act in SELFNORM_ACTIVATIONS:
        p = propagate(act, SELFNORM_INIT, depth, width, width)
        for l in range(depth):
            rows.append((act, SELFNORM_INIT, depth, l + 1, float(p.act_mean[l]),
                         float(p.act_std[l]) ** 2))  # fmt: skip
    return pd.DataFrame(rows, columns=SELFNORM_THEORY_COLUMNS)


def selfnorm_drift(selfnorm: pd.DataFrame) -> pd.DataFrame:
    """Per activation and seed, how far the activations drift from mean 0, variance 1: at the
    deepest layer (`last_mean`, `last_var`, `last_log_var` = |ln var|) and at worst over the
    layers (`worst_abs_mean`, `worst_log_var` = max |ln var|)."""
    rows = []
    for (act, init, seed), g in selfnorm.groupby(["activation", "init", "seed"], sort=False):
        g = g.sort_values("layer")
        last = g.iloc[-1]
        with np.errstate(divide="ignore"):
            log_var = np.abs(np.log(g["act_var"].to_numpy(dtype=float)))
        rows.append({
            "activation": act, "init": init, "seed": int(seed), "depth": int(last["layer"]),
            "last_mean": float(last["act_mean"]), "last_var": float(last["act_var"]),
            "last_log_var": float(log_var[-1]),
            "worst_abs_mean": float(np.abs(g["act_mean"]).max()),
            "worst_log_var": float(log_var.max()),
        })  # fmt: skip
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class SelfNormDecision:
    """Does one activation keep (0, 1) at the deepest layer? Cut-off tests over seeds on |mean|
    (against MEAN_CUTOFF) and |ln var| (against ln VAR_FACTOR): `outcome` is "keeps (0, 1)" when
    both 95% intervals lie below their cut-offs, "drifts" when either lies above, else
    "inconclusive"; `within` counts the seeds inside both cut-offs on their own."""

    mean: Decision
    var: Decision
    within: int
    seeds: int

    @property
    def outcome(self) -> str:
        outcomes = (self.mean.outcome, self.var.outcome)
        if all(o == BELOW for o in outcomes):
            return "keeps (0, 1)"
        if ABOVE in outcomes:
            return "drifts"
        return "inconclusive"


def selfnorm_decision(drift: pd.DataFrame, activation: str) -> SelfNormDecision:
    """The cut-off tests of SelfNormDecision on one activation's rows of `selfnorm_drift`."""
    d = drift[drift["activation"] == activation]
    mean = decide(np.abs(d["last_mean"].to_numpy(dtype=float)), MEAN_CUTOFF)
    var = decide(d["last_log_var"].to_numpy(dtype=float), float(np.log(VAR_FACTOR)))
    inside = (np.abs(d["last_mean"]) < MEAN_CUTOFF) & (d["last_log_var"] < np.log(VAR_FACTOR))
    return SelfNormDecision(mean, var, int(inside.sum()), len(d))


def selfnorm_summary(selfnorm: pd.DataFrame, theory: pd.DataFrame, width: int) -> pd.DataFrame:
    """Per activation of the self-normalisation check, at its deepest layer: the mean over seeds
    of the activations' mean (mean, mean_low, mean_high: 95% t interval) and the geometric mean of
    their variance (var, var_low, var_high), the worst |mean| and variance factor max(var, 1/var)
    over every layer and seed, the theory's mean and variance at that layer, the fixed point the
    variance map reaches (kind, q_star; mean_star, var_star of the activations there), and the
    cut-off tests (selfnorm_decision): outcome, within (seeds inside both cut-offs), seeds."""
    drift = selfnorm_drift(selfnorm)
    rows = []
    for act, g in drift.groupby("activation", sort=False):
        init = str(g["init"].iloc[0])
        m = interval(g["last_mean"])
        v = interval(g["last_var"], log=True)
        depth = int(g["depth"].max())
        t = theory[(theory["activation"] == act) & (theory["layer"] == depth)]
        s_w2 = width * weight_variance(init, width, width)
        fp = fixed_point(str(act), s_w2, bias_variance(init, width))
        dec = selfnorm_decision(drift, str(act))
        rows.append({
            "activation": act, "init": init, "depth": depth, "seeds": len(g),
            "mean": m.value, "mean_low": m.low, "mean_high": m.high,
            "var": v.value, "var_low": v.low, "var_high": v.high,
            "worst_abs_mean": float(g["worst_abs_mean"].max()),
            "worst_var_factor": float(np.exp(g["worst_log_var"].max())),
            "predicted_mean": float(t["predicted_mean"].iloc[0]) if len(t) else np.nan,
            "predicted_var": float(t["predicted_var"].iloc[0]) if len(t) else np.nan,
            "kind": fp.kind, "q_star": fp.q, "mean_star": fp.mean, "var_star": fp.var,
            "outcome": dec.outcome, "within": dec.within,
        })  # fmt: skip
    return pd.DataFrame(rows)
