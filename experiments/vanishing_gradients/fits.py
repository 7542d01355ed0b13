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

import numpy as np
import pandas as pd

from nnhw.experiments.vanishing_gradients.theory import geometric_factor, propagate

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
