"""Claims of `nnhw verify` judged by the sub-studies: each reuses the study's own finding (text
with its numbers, and verdict), so `nnhw verify` and the study's own report never disagree.

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
from typing import Any

import pandas as pd
from nnhw.experiments.verify.claims import HOLDS_ONLY, SUPPORTED, Claim

Tables = dict[str, pd.DataFrame]


def _sub(tables: Tables, command: str) -> Tables:
    from nnhw.experiments.verify.compute import substudy_tables

    sub = substudy_tables(tables, command)
    if not sub:
        raise KeyError(command)
    return sub


def _vanishing(claim_name: str, cid: str, section: str, text: str, config: Any) -> Callable:
    def judge(tables: Tables) -> Claim:
        from nnhw.experiments.vanishing_gradients import report as vr
        from nnhw.experiments.verify.compute import sub_config

        cfg = sub_config("vanishing-gradients", config)
        found = [f for f in vr.findings(_sub(tables, "vanishing-gradients"), cfg)
                 if f.claim == claim_name]  # fmt: skip
        if not found or found[0].verdict is None:
            raise KeyError(cid)
        f = found[0]
        return Claim(
            cid, section, text,
            "fitted per-layer factor of the back-propagated signal at the deepest depth, per "
            f"initialisation (vanishing: below {vr.VANISHING_FACTOR} per layer)",
            f.text, f.verdict, HOLDS_ONLY, "tables/vanishing-gradients.summary.csv",
        )  # fmt: skip

    return judge


def _softmax(which: str) -> Callable[[Tables], Claim]:
    def judge(tables: Tables) -> Claim:
        from nnhw.experiments.softmax_stability import findings as sf

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
        from nnhw.experiments.batch_scaling import report as br
        from nnhw.experiments.verify.compute import sub_config

        cfg = sub_config("batch-scaling", config)
        verdict, text = br.claim_verdict(_sub(tables, "batch-scaling"), "init", cfg.regime_factor)
        return Claim(
            "batch-scaling", "1.4(f)",
            "The gradient increases proportionally with the batch size",
            "norm of minibatch gradients against B, summed and mean loss (log-log slopes)",
            text, verdict, HOLDS_ONLY, "tables/batch-scaling.slopes.csv",
        )  # fmt: skip

    return judge


def substudy_claims(config: Any) -> list[Callable[[Tables], Claim]]:
    """The sub-studies' claims, judged with the settings verify ran them with."""
    from nnhw.experiments.vanishing_gradients import report as vr

    return [
        _vanishing(vr.CLAIM_13B, "sigmoid-vanishes", "1.3(b)",
                   "Sigmoid's gradient vanishes in deeper nets; ReLU's does not", config),
        _vanishing(vr.CLAIM_14D, "tanh-vanishes", "1.4(d)",
                   "Tanh suffers from a vanishing gradient", config),
        _softmax("argmax"),
        _softmax("breaks"),
        _batch(config),
    ]  # fmt: skip
