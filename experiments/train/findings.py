"""The findings of `nnhw train`, computed from its tables alone.

Findings (each a sentence with its numbers, from `history`):
- the final (or last recorded) losses and accuracy / R^2, and how far the loss fell from epoch 0;
- whether training diverged, and at which epoch (the first non-finite training loss);
- the ratio of the first to the last layer's gradient norm at initialisation and at the end;
- per hidden layer, the dead fraction (and the saturated fraction for the activations that can
  saturate: sigmoid and tanh, and the left tail of GELU, SiLU, ELU, ...) at
  initialisation and at the end, and the range of the hidden activations.
A table or figure that is missing (an interrupted run) is named as missing, not silently skipped.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from nnhw.core.activations import get_activation, saturation_edge
from nnhw.core.diagnostics import SATURATION_THRESHOLD
from nnhw.experiments.reporting.numbers import number
from nnhw.experiments.reporting.report import Finding
from nnhw.experiments.train.figures import diverged_epoch, layer_columns


def _pct(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{100 * value:.1f}%"


def article(word: str) -> str:
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


def metric_of(history: pd.DataFrame) -> tuple[str, str]:
    """(column suffix, readable name) of the quality metric."""
    return ("accuracy", "accuracy") if "train_accuracy" in history else ("r2", "R²")


def _last_finite(history: pd.DataFrame) -> pd.Series:
    """The last row whose training loss is finite (the net before divergence), else the last."""
    ok = history[np.isfinite(history["train_loss"].to_numpy(float))]
    return ok.iloc[-1] if len(ok) else history.iloc[-1]


def findings(history: pd.DataFrame, config: Any) -> list[Finding]:
    """The findings listed in the module docstring, computed from the history table."""
    out: list[Finding] = []
    key, name = metric_of(history)
    first, last = history.iloc[0], _last_finite(history)
    epochs = int(history["epoch"].iloc[-1])
    d = diverged_epoch(history)
    e_last = int(last["epoch"])
    if d is None:
        parts = [f"After {e_last} epochs"]
    elif e_last == 0:
        parts = ["At initialisation (epoch 0, the last finite one before training diverged)"]
    else:
        parts = [f"After {e_last} epochs (the last finite one before training diverged)"]
    for part in ("train", "test"):
        if f"{part}_loss" in history:
            parts.append(
                f"the {part} loss is {number(float(last[f'{part}_loss']), 4)} and the {part} "
                f"{name} "
                f"{number(float(last[f'{part}_{key}']), 4)}"
            )
    out.append(Finding(", ".join(parts[:1]) + " " + "; ".join(parts[1:]) + "."))
    start, end = float(first["train_loss"]), float(last["train_loss"])
    claim = "Training lowers the loss (1.2(a): forward, loss, backward, update)."
    if d is not None and e_last == 0:
        bad = float(history.loc[history["epoch"] == d, "train_loss"].iloc[0])
        out.append(
            Finding(
                f"The training loss went from {number(start, 4)} at initialisation to {bad} at "
                "epoch "
                f"{d}: training diverged (--lr {number(float(config.lr), 4)}) before any epoch "
                "lowered it.",
                verdict="refuted",
                claim=claim,
            )
        )
    elif math.isfinite(start) and math.isfinite(end) and end > 0:
        fell = end < start
        text = (
            f"The training loss went from {number(start, 4)} at initialisation to {number(end, 4)} "
            "at "
            f"epoch {e_last}, {number(start / end if fell else end / start, 4)} times "
            f"{'lower' if fell else 'higher'}"
        )
        verdict = "supported" if fell else "refuted"
        if d is not None:
            bad = float(history.loc[history["epoch"] == d, "train_loss"].iloc[0])
            text += f", then it became {bad} at epoch {d} (diverged)"
            verdict = "holds only when training does not diverge" if fell else "refuted"
        out.append(Finding(text + ".", verdict=verdict, claim=claim))
    planned = int(config.epochs)
    if d is None and epochs < planned:
        out.append(
            Finding(
                f"Training stopped after {epochs} of {planned} epochs (interrupted); every "
                f"number here describes the net at epoch {epochs}."
            )
        )
    if d is not None:
        bad = float(history.loc[history["epoch"] == d, "train_loss"].iloc[0])
        out.append(
            Finding(
                f"Training diverged at epoch {d}: the training loss became {bad} with --lr "
                f"{number(float(config.lr), 4)} ({config.optimizer}), so training stopped there; "
                "the "
                f"figures show the net up to epoch {int(last['epoch'])}."
            )
        )
    else:
        out.append(
            Finding(f"Training did not diverge: the loss stayed finite for all {epochs} epochs.")
        )
    out.extend(_gradient_findings(history, first, last))
    out.extend(_unit_findings(history, first, last, config))
    return out


def _ratio_text(row: pd.Series, first_col: str, last_col: str) -> tuple[str, float]:
    """(how the ratio reads, the ratio or NaN) of two gradient norms in one history row."""
    a, b = float(row[first_col]), float(row[last_col])
    if not (math.isfinite(a) and math.isfinite(b)):
        return f"undefined ({a} / {b})", math.nan
    if b == 0:
        return "undefined (" + (
            "both gradients are 0" if a == 0 else "the last is 0"
        ) + ")", math.nan
    return number(a / b, 4), a / b


def _gradient_findings(history: pd.DataFrame, first: pd.Series, last: pd.Series) -> list[Finding]:
    cols = layer_columns(history, "grad_norm_W")
    if len(cols) < 2:
        return []
    start, r0 = _ratio_text(first, cols[0], cols[-1])
    text = (
        f"The gradient norm of the first layer over that of the last, ‖dL/dW1‖ / "
        f"‖dL/dW{len(cols)}‖, is {start} at initialisation"
    )
    if int(last["epoch"]) != int(first["epoch"]):
        text += f" and {_ratio_text(last, cols[0], cols[-1])[0]} at epoch {int(last['epoch'])}"
    if r0 == 0:
        text += ": at initialisation the first layer receives no gradient at all"
    elif math.isfinite(r0) and r0 < 0.1:
        text += (
            f": at initialisation the first layer's gradient is {number(1 / r0, 4)} times smaller"
        )
    return [Finding(text + ".")]


def _unit_findings(
    history: pd.DataFrame, first: pd.Series, last: pd.Series, config: Any
) -> list[Finding]:
    out = []
    e = int(last["epoch"])
    same = e == int(first["epoch"])  # diverged in the first epoch: only the initial net is finite

    def when(a: float) -> str:
        return "at initialisation" if same else f"at epoch {e}, {_pct(a)} at initialisation"

    for h, col in enumerate(layer_columns(history, "dead_fraction_h"), start=1):
        a, b = float(first[col]), float(last[col])
        if get_activation(config.activation).kind not in ("dying", "leaky") and a == b == 0:
            continue  # a smooth derivative is never 0 on a whole batch: "0.0% dead" says nothing
        out.append(
            Finding(
                f"Hidden layer {h} ({config.activation}): {_pct(b)} of its units are dead (zero "
                f"derivative on every training example) {when(a)}."
            )
        )
    act = get_activation(config.activation, elu_alpha=getattr(config, "elu_alpha", 1.0))
    if act.saturation == "left tail":  # GELU, SiLU, ELU, ...: only the flat left tail counts
        edge = saturation_edge(act, SATURATION_THRESHOLD)
        rule = (
            f"in the flat left tail, z < {number(edge)}, where |f'| stays below "
            f"{_pct(SATURATION_THRESHOLD)} of its maximum"
        )
    else:
        rule = f"derivative below {_pct(SATURATION_THRESHOLD)} of its maximum"
    for h, col in enumerate(layer_columns(history, "saturated_fraction_h"), start=1):
        a, b = float(first[col]), float(last[col])
        out.append(
            Finding(
                f"Hidden layer {h} ({config.activation}): {_pct(b)} of unit activations are "
                f"saturated ({rule}) {when(a)}."
            )
        )
    at = "at initialisation" if same else f"at epoch {e}"
    for h in range(1, len(layer_columns(history, "act_mean_h")) + 1):
        lo, hi = float(last[f"act_min_h{h}"]), float(last[f"act_max_h{h}"])
        mean, std = float(last[f"act_mean_h{h}"]), float(last[f"act_std_h{h}"])
        out.append(
            Finding(
                f"Hidden layer {h} activations {at} lie in [{number(lo, 4)}, {number(hi, 4)}] with "
                f"mean {number(mean, 4)} and standard deviation {number(std, 4)}."
            )
        )
    return out
