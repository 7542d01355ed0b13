"""Verdicts on how the course's nets train (1.2(a), 1.3(a), 1.3(b), 1.4(c), 1.4(d)), from the
tables of verify.training and verify.measure alone.

Contract: each judge takes (tables, command) and returns a Claim; a KeyError when its tables are
absent. Every verdict is computed over the seeds of its table (one net per seed) with a cut-off
test (reporting.uncertainty.decide: the whole 95% CI on one side, else inconclusive), and says
what a 25% move of its cut-off does. The cut-offs (module constants) are definitions, stated in
each claim:

- training-steps (1.2(a)): the loss after training with the gradients accumulated (no
  zero_grad) over the loss with them zeroed, per seed; its median's sign-test interval above
  ACCUMULATION_CUTOFF (x) -> "holds only when the gradients are zeroed" (the accumulated runs
  oscillate and can nearly diverge, so the median decides, not a mean); the zeroed run must
  itself train (last/first loss below 1/2 in every seed) or the claim is refuted.
- zero-init (1.2(a)): the largest distance between two hidden units after training from zero
  init is 0 to rounding in every seed (and not from random init) -> "holds only when random".
- sigmoid-mse (1.3(a)): the gradient norm of W2 under BCE over MSE from a saturated wrong output,
  per seed; above SATURATION_CUTOFF (x) -> "holds only when the output is not saturated".
- relu-trains-deeper (1.3(b)): the share of the initial loss removed in training, ReLU minus
  sigmoid, per seed; above TRAINS_CUTOFF -> supported, with the mechanism the data show: the
  largest fraction of saturated sigmoid units over training (per seed) below SATURATED_CUTOFF ->
  the derivative bound; above -> saturation.
- linear-collapse, nonlinearity-needed (1.4(c)): the trained map's distance to least squares
  below COLLAPSE_CUTOFF; ReLU's test R^2 minus identity's above NONLINEAR_CUTOFF.
- relu-dead, leaky-no-dead, sigmoid-range, sigmoid-mean (1.4(d)): the rise of ReLU's dead fraction
  at a high learning rate above DEAD_RISE_CUTOFF; LeakyReLU's dead fraction exactly 0; sigmoid's
  smallest output never negative (refutes "[-1, 1]"); the final loss of sigmoid over the
  zero-centred sigmoid above CENTRING_CUTOFF (x) -> its non-zero mean slows training.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd

from nnhw.core.presets import PRESETS
from nnhw.experiments.reporting.numbers import number
from nnhw.experiments.reporting.uncertainty import ABOVE, BELOW, decide, median_coverage
from nnhw.experiments.vanishing_gradients.theory import (
    gaussian_moments,
    propagate,
    weight_variance,
)
from nnhw.experiments.verify.claims import (
    HOLDS_ONLY,
    INCONCLUSIVE,
    REFUTED,
    SUPPORTED,
    Claim,
    with_decision,
    within_tolerance,
)
from nnhw.experiments.verify.training import (
    DEEP_DEPTH,
    DEEP_WIDTH,
    DYING_LR_FACTOR,
    FORCED_SHIFT,
    SATURATION_SHIFT,
)

Tables = dict[str, pd.DataFrame]
ACCUMULATION_CUTOFF = 2.0
SATURATION_CUTOFF = 10.0
TRAINS_CUTOFF = 0.1
SATURATED_CUTOFF = 0.1
COLLAPSE_CUTOFF = 1e-3
NONLINEAR_CUTOFF = 0.1
DEAD_RISE_CUTOFF = 0.1
CENTRING_CUTOFF = 1.1


def _by_seed(df: pd.DataFrame, index: str, columns: str, values: str) -> pd.DataFrame:
    return df.pivot_table(index=index, columns=columns, values=values, aggfunc="first")


def _last(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["epoch"] == df["epoch"].max()]


def training_steps(tables: Tables, command: str) -> Claim:
    z = tables["zero_grad"]
    first = _by_seed(z[z["epoch"] == 0], "seed", "mode", "train_loss")
    last = _by_seed(_last(z), "seed", "mode", "train_loss")
    epochs = int(z["epoch"].max())
    ratio = (last["accumulated"] / last["zeroed"]).to_numpy()
    diverged = int(np.sum(~np.isfinite(ratio)))
    # The accumulated runs oscillate and may blow up: one seed's ratio of 1e6 would swamp a t
    # interval, so the median and its sign-test interval decide; a diverged run counts as inf.
    d = decide(np.where(np.isfinite(ratio), ratio, np.inf), ACCUMULATION_CUTOFF, log=True,
               excess=True, median=True)  # fmt: skip
    trains = bool(np.all(last["zeroed"] / first["zeroed"] < 0.5))
    acc = tables.get("accumulation")
    torch_text = ""
    if acc is not None and len(acc):
        k = acc.groupby("calls")["grad_norm_ratio"].mean()
        torch_text = (
            "In PyTorch, .grad after " + ", ".join(f"{int(c)}" for c in k.index[1:])
            + " backward calls without zero_grad is "
            + ", ".join(f"{number(v, 4)}" for v in k.to_numpy()[1:])
            + " times its value after one. "
        )  # fmt: skip
    if not trains:
        verdict = REFUTED
    elif d.outcome == ABOVE:
        verdict = (
            f"{HOLDS_ONLY} the gradients are zeroed before each backward (optimizer.zero_grad(), "
            "missing from the answer's steps): skipped, they accumulate"
        )
    elif d.outcome == BELOW:
        verdict = SUPPORTED
    else:
        verdict = INCONCLUSIVE
    e = d.estimate
    numbers = (
        f"{torch_text}With the gradients zeroed, the regression preset's training loss fell "
        f"from {number(float(first['zeroed'].median()))} to "
        f"{number(float(last['zeroed'].median()))} in {epochs} epochs (median over seeds); "
        f"accumulated, it ended at {number(float(last['accumulated'].median()))}, "
        f"{number(e.value)} times higher (median over seeds; sign-test interval "
        f"[{number(e.low)}, {number(e.high)}], coverage "
        f"{number(100 * median_coverage(e.n))}%)"
        + (f"; {diverged} seed(s) diverged" if diverged else "")
        + "."
    )
    claim = Claim(
        "training-steps", "1.2(a)",
        "Training is five steps: load the data, initialise, forward and loss, backward, update "
        "(no step zeroes the gradients)",
        "the regression preset trained by SGD from the same start with the gradient zeroed "
        "before each backward and with it accumulated as PyTorch's .grad does without zero_grad",
        numbers, verdict, HOLDS_ONLY, "tables/zero_grad.csv",
        theory="backward() adds to .grad: without zero_grad, step t applies g_1 + ... + g_t, "
        "SGD with momentum 1 (every past gradient kept at full weight)",
        command=command,
    )  # fmt: skip
    coverage = number(100 * median_coverage(d.estimate.n))
    return with_decision(claim, d, "final loss, accumulated over zeroed (x): the median over "
                         f"seeds, with its sign-test interval ({coverage}% coverage)",
                         f"> {number(ACCUMULATION_CUTOFF)}x", number)  # fmt: skip


def zero_init(tables: Tables, command: str) -> Claim:
    s = tables["symmetry"]
    zero, rand = s[s["init"] == "zero"], s[s["init"] != "zero"]
    per_seed = zero.groupby("seed")["spread_after"].max().tolist()
    r_spread = float(rand["spread_after"].min())
    symmetric = max(per_seed) <= 1e-12 and r_spread > 1e-6
    loss = s.groupby(["net", "init"])["train_loss_last"].median()
    numbers = (
        f"largest distance between two hidden units' incoming weights after training: zero init "
        f"{number(max(per_seed))} in every seed, random init at least {number(r_spread)}; final "
        "train loss (median) zero vs random init: "
        + ", ".join(f"{n} {number(loss[(n, 'zero')])} vs {number(loss[n].drop('zero').iloc[0])}"
                    for n in sorted(s["net"].unique()))
    )  # fmt: skip
    claim = Claim(
        "zero-init", "1.2(a)", "Parameters may be initialised randomly or with zeros",
        "hidden units' incoming weights after training from zero and from random init, both "
        "presets",
        numbers,
        f"{HOLDS_ONLY} the initialisation is random: zero init leaves every hidden unit identical"
        if symmetric else SUPPORTED,
        HOLDS_ONLY, "tables/symmetry.csv",
        theory="with W1 = 0 and W2 = 0 every hidden unit gets the same gradient "
        "(dl/dW1 row i = W2_i (...) x^T is equal for all i), so they stay equal forever",
        command=command,
    )  # fmt: skip
    return within_tolerance(claim, per_seed, 1e-12, "largest unit distance after zero init",
                            number)  # fmt: skip


def sigmoid_mse(tables: Tables, command: str) -> Claim:
    s, f = tables["saturated_output"], tables["sigmoid_factors"].set_index("z")
    start = s[s["epoch"] == 0]
    g = _by_seed(start, "seed", "loss", "grad_norm_W2")
    ratio = (g["bce"] / g["mse"]).to_numpy()
    d = decide(ratio, SATURATION_CUTOFF, log=True, excess=True)
    acc1 = s[s["epoch"] == 1].groupby("loss")["train_accuracy"].median()
    acc_last = _last(s).groupby("loss")["train_accuracy"].median()
    z = float(SATURATION_SHIFT)
    near = f.index[np.argmin(np.abs(f.index.to_numpy() - z))]
    verdict = {ABOVE: f"{HOLDS_ONLY} the output is not saturated: a saturated wrong sigmoid "
               "output gets almost no gradient under MSE (BCE cancels the sigma' factor)",
               BELOW: SUPPORTED}.get(d.outcome, INCONCLUSIVE)  # fmt: skip
    e = d.estimate
    numbers = (
        f"sigma'(z) peaks at {number(float(f['sigmoid_derivative'].max()))} (z = 0), so each "
        "sigmoid factor of the chain at least quarters the gradient. From a saturated wrong "
        f"output (b2 shifted by {number(z)}): the gradient of W2 is {number(e.value)} times "
        f"larger under BCE than under MSE (geometric mean; 95% CI [{number(e.low)}, "
        f"{number(e.high)}]); accuracy after 1 epoch {number(acc1['mse'])} with MSE, "
        f"{number(acc1['bce'])} with BCE (after {int(s['epoch'].max())}: "
        f"{number(acc_last['mse'])}, {number(acc_last['bce'])})"
    )
    claim = Claim(
        "sigmoid-mse", "1.3(a)",
        "Not much changes in the derivatives from 1.2 to 1.3 (sigmoid output, the same MSE)",
        "sigmoid's derivative on a grid; the classification preset started with its output "
        "saturated on the wrong side, trained with MSE and with BCE (gradient of W2 at the "
        "start, accuracy)",
        numbers, verdict, HOLDS_ONLY, "tables/saturated_output.csv",
        theory=f"dl/dz3 = 2(y_hat - y) sigma'(z3), sigma' <= 1/4; at z3 = {number(near)} with "
        f"y = 1: MSE {number(float(f.loc[near, 'mse_dl_dz']))}, BCE sigma(z3) - y = "
        f"{number(float(f.loc[near, 'bce_dl_dz']))}",
        command=command,
    )  # fmt: skip
    return with_decision(claim, d, "gradient of W2 at the start, BCE over MSE (x)",
                         f"> {number(SATURATION_CUTOFF)}x", number)  # fmt: skip


def signal_theory(activation: str, init: str, depth: int, width: int, d_in: int) -> str:
    """'sqrt(n Var(W) E[f'(z)^2]) = sqrt(32 x 0.0104 x 0.25) = 0.289' at the last hidden layer."""
    p = propagate(activation, init, depth, width, d_in)
    n_var = width * weight_variance(init, width, width)
    slope2 = gaussian_moments(activation, float(p.preact_var[-2])).slope2
    return (
        f"{activation}: sqrt(n Var(W) E[f'(z)^2]) = sqrt({number(n_var)} x {number(slope2)}) = "
        f"{number(float(np.sqrt(n_var * slope2)))}"
    )


def relu_trains_deeper(tables: Tables, command: str) -> Claim:
    t = tables["deep_nets"]
    first = _by_seed(t[t["epoch"] == 0], "seed", "activation", "train_loss")
    last = _by_seed(_last(t), "seed", "activation", "train_loss")
    removed = 1 - last / first
    d = decide((removed["relu"] - removed["sigmoid"]).to_numpy(), TRAINS_CUTOFF)
    sig = t[t["activation"] == "sigmoid"]
    saturated = sig.groupby("seed")["saturated_fraction"].max().to_numpy()
    mech = decide(saturated, SATURATED_CUTOFF)
    ratio0 = _by_seed(t[t["epoch"] == 0], "seed", "activation", "signal_first_last")
    with np.errstate(divide="ignore", invalid="ignore"):  # a dead net's ratio may be 0 or NaN
        logs = np.log(ratio0.where(ratio0 > 0))
    factor = np.exp(logs.mean()) ** (1 / (DEEP_DEPTH - 1))
    acc = _last(t).groupby("activation")["train_accuracy"].median()
    reach = np.exp(logs.mean())  # first/last hidden-layer signal, geometric mean over seeds
    epochs = int(t["epoch"].max())
    if d.outcome == ABOVE:
        if mech.outcome == BELOW:
            mechanism = (
                f"mechanism: sigmoid's derivative bound (signal x{number(factor['sigmoid'])} per "
                f"layer at initialisation against ReLU's x{number(factor['relu'])}), not the "
                f"course's saturation (at most {number(100 * float(saturated.max()))}% of sigmoid "
                "units saturated at any epoch)"
            )
        elif mech.outcome == ABOVE:
            mechanism = "mechanism: saturation of the sigmoid units during training"
        else:
            mechanism = "mechanism undecided (the saturated fraction is near its cut-off)"
        verdict = f"{SUPPORTED}; {mechanism}"
    else:
        verdict = REFUTED if d.outcome == BELOW else INCONCLUSIVE
    e = d.estimate
    numbers = (
        f"{DEEP_DEPTH} hidden layers of {DEEP_WIDTH}, sigmoid output, MSE, SGD, {epochs} epochs: "
        f"ReLU removed {number(100 * float(removed['relu'].median()))}% of the initial loss, "
        f"sigmoid {number(100 * float(removed['sigmoid'].median()))}% (median; ReLU's lead "
        f"{number(e.value)}, 95% CI [{number(e.low)}, {number(e.high)}]); final accuracy "
        f"{number(acc['relu'])} vs {number(acc['sigmoid'])}. At initialisation the first hidden "
        f"layer got {number(reach['sigmoid'])} of the last one's back-propagated signal with "
        f"sigmoid, {number(reach['relu'])} with ReLU; the largest fraction of saturated "
        "sigmoid units (sigma' < 5% of 1/4, "
        f"|z| > 4.4) at any epoch was {number(float(saturated.max()))}"
    )
    init = PRESETS["classification"].init
    claim = Claim(
        "relu-trains-deeper", "1.3(b)",
        "In a deeper net ReLU hidden units (g = sigmoid) train where sigmoid ones do not; the "
        "course's reason: sigmoid's gradient goes to 0 as its input grows (saturation)",
        "the homework's classifier made deeper, f = ReLU against f = sigmoid, same seeds: loss "
        "removed, back-propagated signal at initialisation, saturated units over training",
        numbers, verdict, SUPPORTED, "tables/deep_nets.csv",
        theory=f"per-layer signal factor at the last hidden layer ({init} init): "
        + "; ".join(signal_theory(a, init, DEEP_DEPTH, DEEP_WIDTH, 2) for a in ("relu", "sigmoid")),
        command=command,
    )  # fmt: skip
    out = with_decision(claim, d, "share of the initial loss removed, ReLU minus sigmoid",
                        f"> {number(TRAINS_CUTOFF)}", number)  # fmt: skip
    return out


def linear_collapse(tables: Tables, command: str) -> Claim:
    c = tables["linear_collapse"]
    alg = c[c["check"] == "algebraic"]["rel_distance"]
    tr = c[c["check"] == "trained"]
    d = decide(tr["rel_distance"].to_numpy(), COLLAPSE_CUTOFF, log=True)
    gap = float((tr["net_test_r2"] - tr["lstsq_test_r2"]).abs().max())
    ok = float(alg.max()) <= 1e-12 and d.outcome == BELOW and gap <= 1e-3
    verdict = SUPPORTED if ok else (INCONCLUSIVE if d.outcome == "inconclusive" else REFUTED)
    claim = Claim(
        "linear-collapse", "1.4(c)", "Two consecutive linear layers are one linear layer",
        "output of Linear-identity-Linear against x (W2 W1)^T + W2 b1 + b2; trained map "
        "against least squares",
        f"algebraic gap {number(float(alg.max()))} at worst; distance to least squares "
        f"{number(d.estimate.value)} (geometric mean; 95% CI [{number(d.estimate.low)}, "
        f"{number(d.estimate.high)}]); test R^2 within {number(gap)} of least squares'",
        verdict, SUPPORTED, "tables/linear_collapse.csv",
        theory="W2 (W1 x + b1) + b2 = (W2 W1) x + (W2 b1 + b2): one affine map A x + c",
        command=command,
    )  # fmt: skip
    return with_decision(claim, d, "relative distance of the trained map to least squares",
                         f"< {number(COLLAPSE_CUTOFF)}", number)  # fmt: skip


def nonlinearity_needed(tables: Tables, command: str) -> Claim:
    t = tables["nonlinear"]
    r2 = _by_seed(t, "seed", "activation", "test_r2")
    d = decide((r2["relu"] - r2["identity"]).to_numpy(), NONLINEAR_CUTOFF)
    ls = float(t["lstsq_test_r2"].iloc[0])
    verdict = {ABOVE: SUPPORTED, BELOW: REFUTED}.get(d.outcome, INCONCLUSIVE)
    claim = Claim(
        "nonlinearity-needed", "1.4(c)",
        "Some non-linear function (activation) needs to be added",
        "test R^2 on the sine (non-linear data) of the regression preset with identity and "
        "with ReLU hidden units, same seeds and settings, beside least squares",
        f"test R^2 identity {number(float(r2['identity'].median()))}, ReLU "
        f"{number(float(r2['relu'].median()))} (median), least squares {number(ls)}: the "
        f"identity net can do no better than the best affine map; ReLU's lead "
        f"{number(d.estimate.value)} (95% CI [{number(d.estimate.low)}, "
        f"{number(d.estimate.high)}])",
        verdict, SUPPORTED, "tables/nonlinear.csv",
        theory="a net of linear layers is one affine map (1.4(c)), so its R^2 on y = sin x is "
        "at most least squares'",
        command=command,
    )  # fmt: skip
    return with_decision(claim, d, "test R^2, ReLU minus identity",
                         f"> {number(NONLINEAR_CUTOFF)}", number)  # fmt: skip


def _dying(tables: Tables) -> pd.DataFrame:
    return tables["relu_dying"]


def relu_dead(tables: Tables, command: str) -> Claim:
    t = _dying(tables)
    all_relu = t[t["activation"] == "relu"]
    diverged = int(all_relu[all_relu["condition"] == "high rate"]["diverged"].astype(bool).sum())
    relu = all_relu[~all_relu["diverged"].astype(bool)]
    rise = relu.assign(rise=relu["dead_after"] - relu["dead_before"])
    high = rise[rise["condition"] == "high rate"]
    d = decide(high["rise"].to_numpy(), DEAD_RISE_CUTOFF)
    med = rise.groupby("condition")[["dead_before", "dead_after", "loss_after"]].median()
    lr = float(high["lr"].iloc[0]) if len(high) else float("nan")
    verdict = {ABOVE: SUPPORTED, BELOW: REFUTED}.get(d.outcome, INCONCLUSIVE)
    numbers = (
        f"In ordinary training at {number(DYING_LR_FACTOR)} times the preset's rate (lr "
        f"{number(lr)}) the share of dead ReLU units (zero gradient on every training example) "
        f"rose from {number(med.loc['high rate', 'dead_before'])} to "
        f"{number(med.loc['high rate', 'dead_after'])} (median; rise {number(d.estimate.value)}, "
        f"95% CI [{number(d.estimate.low)}, {number(d.estimate.high)}]) while the loss still "
        f"fell to {number(med.loc['high rate', 'loss_after'])}; at the preset's rate from "
        f"{number(med.loc['preset rate', 'dead_before'])} to "
        f"{number(med.loc['preset rate', 'dead_after'])}; with every bias shifted by "
        f"{number(FORCED_SHIFT)}, {number(med.loc['forced bias', 'dead_after'])} stay dead"
        + (f"; {diverged} net(s) diverged at the high rate and are left out" if diverged else "")
    )
    claim = Claim(
        "relu-dead", "1.4(d)",
        "ReLU: a unit whose input is negative is completely inactive, which can be a problem",
        "dead hidden units of the regression preset before and after training, at the preset's "
        "learning rate, at a higher one, and after a forced bias shift",
        numbers, verdict, SUPPORTED, "tables/relu_dying.csv",
        theory="relu'(z) = 0 for z <= 0: a unit negative on every input gets no gradient and "
        "cannot recover; a large step can push it there",
        command=command,
    )  # fmt: skip
    out = with_decision(claim, d, "rise of the dead fraction at the high rate",
                        f"> {number(DEAD_RISE_CUTOFF)}", number)  # fmt: skip
    return replace(out, seeds=out.seeds + diverged)  # a diverged net is counted, not agreeing


def leaky_no_dead(tables: Tables, command: str) -> Claim:
    t = _dying(tables)
    leaky = t[t["activation"] == "leaky-relu"]
    relu = t[t["activation"] == "relu"]
    worst = float(leaky["dead_after"].max())
    high = leaky[leaky["condition"] == "high rate"]
    loss = _by_seed(t[t["condition"] == "high rate"], "seed", "activation", "loss_after")
    agree = int((leaky.groupby("seed")["dead_after"].max() == 0).sum())
    claim = Claim(
        "leaky-no-dead", "1.4(d)",
        "LeakyReLU: a unit with negative input does not become completely inactive",
        "dead fraction of LeakyReLU units after the same trainings as ReLU's, and the share of "
        "its units negative on every example (where a ReLU would be dead)",
        f"dead LeakyReLU units after training: {number(worst)} in every condition and seed "
        f"(ReLU: up to {number(float(relu['dead_after'].max()))}); at the high rate "
        f"{number(float(high['negative_after'].median()))} of LeakyReLU units are negative on "
        "every example (median) and still get 0.01 of the gradient; final loss LeakyReLU "
        f"{number(float(loss['leaky-relu'].median()))} vs ReLU "
        f"{number(float(loss['relu'].median()))}",
        SUPPORTED if worst == 0 else REFUTED, SUPPORTED, "tables/relu_dying.csv",
        theory="leaky'(z) = 0.01 for z <= 0: never 0, so no unit loses its gradient entirely",
        command=command,
    )  # fmt: skip
    return replace(claim, seeds=int(leaky["seed"].nunique()), agree=agree,
                   deciding="largest dead fraction of LeakyReLU units", value=worst,
                   cutoff="= 0", cutoff_moved="exact (no cut-off to move)")  # fmt: skip


def sigmoid_range(tables: Tables, command: str) -> Claim:
    r = tables["activation_ranges"]
    grid = r[r["activation"] == "sigmoid on [-50, 50]"].iloc[0]
    trained = r[r["activation"] == "sigmoid"]
    wrong = float(grid["min"]) >= 0 and float(trained["min"].min()) >= 0
    claim = Claim(
        "sigmoid-range", "1.4(d)", "Sigmoid's output is normalized to [-1, 1]",
        "sigmoid over z in [-50, 50] and the hidden outputs of the trained classification net",
        f"range over z: [{number(float(grid['min']))}, {number(float(grid['max']), 6)}]; "
        f"trained hidden layers: [{number(float(trained['min'].min()))}, "
        f"{number(float(trained['max'].max()))}] over {len(trained)} seeds (the range is (0, 1); "
        "tanh's is (-1, 1))",
        REFUTED if wrong else SUPPORTED, REFUTED, "tables/activation_ranges.csv",
        theory="sigma(z) = 1 / (1 + e^-z) in (0, 1); tanh(z) = 2 sigma(2z) - 1 in (-1, 1)",
        command=command,
    )  # fmt: skip
    agree = int((trained["min"] >= 0).sum())
    return replace(claim, seeds=len(trained), agree=agree, deciding="smallest sigmoid output",
                   value=float(min(grid["min"], trained["min"].min())), cutoff=">= 0",
                   cutoff_moved="exact (no cut-off to move)")  # fmt: skip


def sigmoid_mean(tables: Tables, command: str) -> Claim:
    c = tables["centring"]
    last = _by_seed(_last(c), "seed", "activation", "train_loss")
    d = decide(
        (last["sigmoid"] / last["centred sigmoid"]).to_numpy(),
        CENTRING_CUTOFF,
        log=True,
        excess=True,
    )
    first = c[c["epoch"] == 0].groupby("activation")[["mean_init", "mean_after",
                                                      "curvature_ratio_init"]].median()  # fmt: skip
    verdict = {ABOVE: SUPPORTED, BELOW: REFUTED}.get(d.outcome, INCONCLUSIVE)
    e = d.estimate
    units = int(PRESETS["regression"].hidden[0])
    numbers = (
        f"Mean hidden output at initialisation: sigmoid {number(first.loc['sigmoid', 'mean_init'])}"
        f", tanh {number(first.loc['tanh', 'mean_init'])}; the largest curvature of the loss in "
        f"W2 with the mean over without it: {number(first.loc['sigmoid', 'curvature_ratio_init'])}"
        f" for sigmoid, {number(first.loc['centred sigmoid', 'curvature_ratio_init'])} for "
        f"sigmoid - 1/2. After {int(c['epoch'].max())} epochs of SGD the loss with sigmoid units "
        f"was {number(e.value)} times that with sigmoid - 1/2 (the same derivative; geometric "
        f"mean, 95% CI [{number(e.low)}, {number(e.high)}]); tanh (centred, 4x the slope) ended "
        f"at {number(float(last['tanh'].median()))} (at a quarter of the rate) against "
        f"{number(float(last['sigmoid'].median()))} (median). Trained, the sigmoid net moved "
        "its mean output to "
        f"{number(first.loc['sigmoid', 'mean_after'])}"
    )
    claim = Claim(
        "sigmoid-mean", "1.4(d)",
        "Sigmoid's non-zero mean output is a disadvantage (tanh's is zero-centred)",
        "one-hidden-layer regression nets with sigmoid, sigmoid - 1/2 and tanh units, the same "
        "initial weights and data orders: mean output, curvature and loss after training",
        numbers, verdict, SUPPORTED, "tables/centring.csv",
        theory=f"E[h h^T] = Cov(h) + mu mu^T: sigmoid's mean adds a curvature |mu|^2 = m/4 = "
        f"{number(units / 4)} for m = {units} units at 1/2, which caps the stable step "
        "(LeCun et al. 1998)",
        command=command,
    )  # fmt: skip
    return with_decision(claim, d, "final loss, sigmoid over sigmoid - 1/2 (x)",
                         f"> {number(CENTRING_CUTOFF)}x", number)  # fmt: skip


TRAINING_CLAIMS: list[Callable[[Tables, str], Claim]] = [
    training_steps, zero_init, sigmoid_mse, relu_trains_deeper, linear_collapse,
    nonlinearity_needed, relu_dead, leaky_no_dead, sigmoid_range, sigmoid_mean,
]  # fmt: skip
