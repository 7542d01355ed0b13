"""The course's claims and the verdicts the measurements give them, computed from tables only.

Contract: every claim is a function `tables -> Claim` reading the tables of `nnhw verify` (names
in `verify.compute`); nothing here computes a measurement, so a report rebuilt from the saved
CSVs reaches the same verdicts, and perturbing a table changes a verdict (tests do this).
`claims_table_from(tables, config)` judges every claim whose tables are present: the `claims`
table that `compute` writes with the others and the report is drawn from.

Verdicts: "supported", "refuted", or "holds only when ..." (the condition measured). `expected`
is the verdict the theory as corrected by nnhw leads one to expect; `nnhw verify --strict` exits
1 when a verdict differs from it (`strict_failures`). Timing claims have no expected verdict
(machines differ).

`CORE_CLAIMS` are judged from the core measurements (`verify.measure`). The claims judged by the
sub-studies (`substudy_claims`) each reuse the study's own finding (text with its numbers, and
verdict), so `nnhw verify` and the study's own report never disagree:
- 1.3(b) sigmoid's gradient vanishes in deeper nets, ReLU's does not; 1.4(d) tanh's gradient
  vanishes (vanishing-gradients: fitted per-layer factor of the back-propagated signal).
- 1.4(a) softmax approximates argmax; 1.4(b) softmax breaks on large inputs (softmax-stability).
- 1.4(f) the gradient grows proportionally with the batch size (batch-scaling: slopes).
Expected verdicts follow variance-propagation theory: with the standard init (Var W = 1/(3n))
ReLU's signal shrinks too, so 1.3(b) holds only under Xavier or He; tanh vanishes only under the
standard init; 1.4(f) holds only for a summed loss at large batch sizes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd

from nnhw.experiments.batch_scaling import findings as bf
from nnhw.experiments.softmax_stability import findings as sf
from nnhw.experiments.vanishing_gradients import findings as vf
from nnhw.experiments.verify.claims import HOLDS_ONLY, REFUTED, SUPPORTED, Claim
from nnhw.experiments.verify.config import Config
from nnhw.experiments.verify.substudies import sub_config, substudy_tables

Tables = dict[str, pd.DataFrame]


def _derivatives(net: str, section: str, claim: str) -> Callable[[Tables], Claim]:
    def check(t: Tables) -> Claim:
        g = t["gradient_checks"]
        g = g[g["net"] == net]
        fd, torch = g["fd_rel_error"].max(), g["torch_rel_error"].max()
        ok = fd <= 1e-6 and (np.isnan(torch) or torch <= 1e-10)
        oracle = "PyTorch not installed" if np.isnan(torch) else f"autograd {torch:.1e}"
        return Claim(
            f"derivatives-{net}",
            section,
            claim,
            "worst relative error of the hand-written gradients over every parameter and loss",
            f"finite differences {fd:.1e}; {oracle}",
            SUPPORTED if ok else REFUTED,
            SUPPORTED,
            "tables/gradient_checks.csv",
        )

    return check


def training_decreases(t: Tables) -> Claim:
    c = t["training_curves"]
    ratios = {
        net: g["train_loss"].iloc[-1] / g["train_loss"].iloc[0] for net, g in c.groupby("net")
    }
    ok = all(r < 0.5 for r in ratios.values())
    numbers = "; ".join(
        f"{net}: last/first train loss {r:.3f}" for net, r in sorted(ratios.items())
    )
    return Claim(
        "training-loop",
        "1.2(a)",
        "Forward, loss, backward and update, repeated, train the net",
        "training loss after the last epoch against at initialisation, both presets",
        numbers,
        SUPPORTED if ok else REFUTED,
        SUPPORTED,
        "plots/training_curves.png",
    )


def zero_init(t: Tables) -> Claim:
    s = t["symmetry"]
    zero, rand = s[s["init"] == "zero"], s[s["init"] != "zero"]
    z_spread, r_spread = zero["spread_after"].max(), rand["spread_after"].min()
    numbers = (
        f"largest distance between two hidden units after training: zero init {z_spread:.1e}, "
        f"random init {r_spread:.2f}; final train loss zero "
        + ", ".join(f"{r.net} {r.train_loss_last:.3f}" for r in zero.itertuples())
        + " vs random "
        + ", ".join(f"{r.net} {r.train_loss_last:.3f}" for r in rand.itertuples())
    )
    symmetric = z_spread <= 1e-12 and r_spread > 1e-6
    verdict = (
        f"{HOLDS_ONLY} the initialisation is random: zero init leaves every hidden unit identical"
        if symmetric
        else SUPPORTED
    )
    return Claim(
        "zero-init",
        "1.2(a)",
        "Parameters may be initialised randomly or with zeros",
        "hidden units' incoming weights after training from zero and from random init",
        numbers,
        verdict,
        HOLDS_ONLY,
        "tables/symmetry.csv",
    )


def linear_layers_collapse(t: Tables) -> Claim:
    c = t["linear_collapse"].set_index("check")
    alg, dist = c.loc["algebraic", "rel_distance"], c.loc["trained", "rel_distance"]
    r2_net, r2_ls = c.loc["trained", "net_test_r2"], c.loc["trained", "lstsq_test_r2"]
    ok = alg <= 1e-12 and dist <= 1e-3 and abs(r2_net - r2_ls) <= 1e-3
    return Claim(
        "linear-collapse",
        "1.4(c)",
        "Two consecutive linear layers are one linear layer",
        "output of Linear-identity-Linear against x (W2 W1)^T + W2 b1 + b2; trained map "
        "against least squares",
        f"algebraic gap {alg:.1e}; distance to least squares {dist:.1e}; test R^2 net "
        f"{r2_net:.6f} vs least squares {r2_ls:.6f}",
        SUPPORTED if ok else REFUTED,
        SUPPORTED,
        "tables/linear_collapse.csv",
    )


def _ranges(t: Tables) -> pd.DataFrame:
    return t["activation_ranges"].set_index("activation")


def sigmoid_range(t: Tables) -> Claim:
    r = _ranges(t)
    lo, hi = r.loc["sigmoid on [-50, 50]", "min"], r.loc["sigmoid on [-50, 50]", "max"]
    t_lo, t_hi = r.loc["sigmoid", "min"], r.loc["sigmoid", "max"]
    wrong = lo >= 0 or t_lo >= 0
    return Claim(
        "sigmoid-range",
        "1.4(d)",
        "Sigmoid's output is normalized to [-1, 1]",
        "sigmoid over z in [-50, 50] and the hidden outputs of the trained classification net",
        f"range over z: [{lo:.2g}, {hi:.6g}]; trained hidden layer: [{t_lo:.3g}, {t_hi:.3g}] "
        "(the range is (0, 1); tanh's is (-1, 1))",
        REFUTED if wrong else SUPPORTED,
        REFUTED,
        "tables/activation_ranges.csv",
    )


def sigmoid_mean(t: Tables) -> Claim:
    r = _ranges(t)
    m, tm = r.loc["sigmoid", "mean"], r.loc["tanh", "mean"]
    return Claim(
        "sigmoid-mean",
        "1.4(d)",
        "Sigmoid's output has a non-zero mean",
        "mean hidden output of the trained classification net, sigmoid against tanh",
        f"sigmoid mean {m:.3f}; tanh mean {tm:.3f}",
        SUPPORTED if abs(m) > 0.1 else REFUTED,
        SUPPORTED,
        "tables/activation_ranges.csv",
    )


def _dead(t: Tables) -> pd.DataFrame:
    return t["dead_units"].set_index("activation")


def relu_dead_units(t: Tables) -> Claim:
    d = _dead(t)
    relu, shift = d.loc["relu", "dead_after"], d.loc["relu", "bias_shift"]
    return Claim(
        "relu-dead",
        "1.4(d)",
        "A ReLU unit with negative input is completely inactive",
        f"fraction of hidden ReLU units with zero gradient on every example, biases shifted by "
        f"{shift:g}, after training",
        f"dead before {d.loc['relu', 'dead_before']:.2f}, after {relu:.2f}; train loss "
        f"{d.loc['relu', 'loss_before']:.3f} -> {d.loc['relu', 'loss_after']:.3f}",
        SUPPORTED if relu > 0.5 else REFUTED,
        SUPPORTED,
        "tables/dead_units.csv",
    )


def leaky_no_dead(t: Tables) -> Claim:
    d = _dead(t)
    leaky, relu = d.loc["leaky-relu", "dead_after"], d.loc["relu", "dead_after"]
    ok = leaky == 0 and d.loc["leaky-relu", "loss_after"] < d.loc["relu", "loss_after"]
    return Claim(
        "leaky-no-dead",
        "1.4(d)",
        "LeakyReLU units never become completely inactive",
        "dead fraction and loss after the same bias shift and training as ReLU",
        f"dead after training: LeakyReLU {leaky:.2f} vs ReLU {relu:.2f}; train loss "
        f"{d.loc['leaky-relu', 'loss_after']:.3f} vs {d.loc['relu', 'loss_after']:.3f}",
        SUPPORTED if ok else REFUTED,
        SUPPORTED,
        "tables/dead_units.csv",
    )


def _timing_verdict(ratio: float) -> str:
    if ratio > 1.1:
        return SUPPORTED
    if ratio < 0.9:
        return REFUTED
    return f"{HOLDS_ONLY} a difference under 10% counts (measured {ratio:.2f}x)"


def leaky_cost(t: Tables) -> Claim:
    c = t["activation_cost"].set_index("activation")
    ratio = c.loc["leaky-relu", "ratio_to_relu"]
    return Claim(
        "leaky-cost",
        "1.4(d)",
        "LeakyReLU costs more to compute than ReLU",
        "median forward plus backward time on the same 256 x 256 array, interleaved repeats",
        f"LeakyReLU {c.loc['leaky-relu', 'median_us']:.0f} us vs ReLU "
        f"{c.loc['relu', 'median_us']:.0f} us ({ratio:.2f}x)",
        _timing_verdict(ratio),
        None,
        "tables/activation_cost.csv",
    )


def relu_cheap(t: Tables) -> Claim:
    c = t["activation_cost"].set_index("activation")
    others = {n: c.loc[n, "ratio_to_relu"] for n in ("tanh", "sigmoid")}
    ratio = min(others.values())
    return Claim(
        "relu-cheap",
        "1.4(d)",
        "ReLU is computationally cheap",
        "median forward plus backward time of tanh and sigmoid relative to ReLU",
        "; ".join(f"{n} {r:.2f}x ReLU's time" for n, r in others.items()),
        _timing_verdict(ratio),
        None,
        "tables/activation_cost.csv",
    )


CORE_CLAIMS: list[Callable[[Tables], Claim]] = [
    _derivatives(
        "regression",
        "1.2(b)-(d)",
        "The derivatives of Linear, ReLU, Linear, identity with MSE are as derived",
    ),
    _derivatives(
        "classification",
        "1.3(a)",
        "The derivatives of Linear, sigmoid, Linear, sigmoid are as derived",
    ),
    training_decreases,
    zero_init,
    linear_layers_collapse,
    sigmoid_range,
    sigmoid_mean,
    relu_dead_units,
    leaky_no_dead,
    relu_cheap,
    leaky_cost,
]


def claims_table(claims: list[Claim]) -> pd.DataFrame:
    return pd.DataFrame([asdict(c) | {"category": c.category()} for c in claims])


def _sub(tables: Tables, command: str) -> Tables:
    sub = substudy_tables(tables, command)
    if not sub:
        raise KeyError(command)
    return sub


def _vanishing(claim_name: str, cid: str, section: str, text: str, config: Any) -> Callable:
    def judge(tables: Tables) -> Claim:
        cfg = sub_config("vanishing-gradients", config)
        found = [f for f in vf.findings(_sub(tables, "vanishing-gradients"), cfg)
                 if f.claim == claim_name]  # fmt: skip
        if not found or found[0].verdict is None:
            raise KeyError(cid)
        f = found[0]
        return Claim(
            cid, section, text,
            "fitted per-layer factor of the back-propagated signal at the deepest depth, per "
            f"initialisation (vanishing: below {vf.VANISHING_FACTOR} per layer)",
            f.text, f.verdict, HOLDS_ONLY, "tables/vanishing-gradients.summary.csv",
        )  # fmt: skip

    return judge


def _softmax(which: str) -> Callable[[Tables], Claim]:
    def judge(tables: Tables) -> Claim:
        sub = _sub(tables, "softmax-stability")
        if which == "argmax":
            f = sf.argmax_finding(sub)
            return Claim(
                "softmax-argmax", "1.4(a)", "Softmax is a smooth approximation of argmax",
                "exact softmax of random logits as the temperature falls; argmax agreement",
                f.text, f.verdict or "", SUPPORTED, "tables/softmax-stability.temperature.csv",
            )  # fmt: skip
        f = sf.breaks_finding(sub)
        return Claim(
            "softmax-breaks", "1.4(b)",
            "Softmax breaks (overflow, underflow) on very large inputs",
            "first logit at which each formula fails, per precision, by bisection, against "
            "log(finfo.max) and log(smallest subnormal)",
            f.text, f.verdict or "", SUPPORTED, "tables/softmax-stability.thresholds.csv",
        )  # fmt: skip

    return judge


def _batch(config: Any) -> Callable[[Tables], Claim]:
    def judge(tables: Tables) -> Claim:
        cfg = sub_config("batch-scaling", config)
        verdict, text = bf.claim_verdict(_sub(tables, "batch-scaling"), "init", cfg.regime_factor)
        return Claim(
            "batch-scaling", "1.4(f)",
            "The gradient increases proportionally with the batch size",
            "norm of minibatch gradients against B, summed and mean loss (log-log slopes)",
            text, verdict, HOLDS_ONLY, "tables/batch-scaling.slopes.csv",
        )  # fmt: skip

    return judge


def substudy_claims(config: Any) -> list[Callable[[Tables], Claim]]:
    """The sub-studies' claims, judged with the settings verify ran them with."""
    return [
        _vanishing(vf.CLAIM_13B, "sigmoid-vanishes", "1.3(b)",
                   "Sigmoid's gradient vanishes in deeper nets; ReLU's does not", config),
        _vanishing(vf.CLAIM_14D, "tanh-vanishes", "1.4(d)",
                   "Tanh suffers from a vanishing gradient", config),
        _softmax("argmax"),
        _softmax("breaks"),
        _batch(config),
    ]  # fmt: skip


def all_claims(tables: Tables, config: Config) -> list[Claim]:
    """Every claim whose tables are present (an interrupted run lacks some)."""
    out = []
    for fn in [*CORE_CLAIMS, *substudy_claims(config)]:
        try:
            out.append(fn(tables))
        except KeyError:
            continue
    return out


def claims_table_from(tables: Tables, config: Config) -> pd.DataFrame:
    """The claims table as the saved tables give it (what a rebuilt report shows)."""
    return claims_table(all_claims(tables, config))


def strict_failures(tables: Tables) -> list[str]:
    """Claims whose verdict category differs from the expected one."""
    c = tables["claims"]
    bad = c[c["expected"].notna() & (c["category"] != c["expected"])]
    return [f"{r.id}: {r.verdict} (expected {r.expected})" for r in bad.itertuples()]
