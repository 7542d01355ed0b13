"""The depth axis of `nnhw compare-activations` (--depths), read from its tables alone.

- `depths_of(tables)`: the depths of a run, ascending (one for a run without --depths, and for a
  run written before the depth axis: experiments.compare_activations_summary.ensure_depth).
- `at_depth(tables, depth)`: every table restricted to the rows of one depth (tables without a
  `depth` column, such as points, unchanged). The figures and findings that describe one net
  (loss curves, gradient norms per layer, unit health, ranges, timing, decision boundaries, the
  findings about dead units, ranges, cost and the linear net) use the deepest depth of the run.
- `depth_speed_finding(summary)`: epochs to the target loss, sigmoid against ReLU, at each depth,
  and how sigmoid's lag changes with depth. Verdict on the course's claim "ReLU trains faster than
  sigmoid in deeper nets" (1.3(b)) from the depths of two hidden layers or more, where ReLU is
  faster when it reached the target in more seeds, or in as many and sooner (the same rule as the
  one-depth finding, compare_activations_findings.speed_finding): "supported" when ReLU is faster
  at every such depth, "refuted" at none, "holds only when the net has at least k hidden layers"
  when it is faster from depth k on, else "holds only at depths ...". No verdict when every net
  has one hidden layer.
- `depth_gradient_finding(summary)`: the first-to-last layer gradient ratio (over training) of
  sigmoid and ReLU at each depth, and how many times ReLU's is sigmoid's (widening or narrowing
  with depth). A measurement; the verdict on vanishing gradients is the vanishing finding's, at
  the deepest depth.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from experiments.compare_activations_findings import _faster, fmt
from experiments.report import Finding

Tables = dict[str, pd.DataFrame]
SPEED_CLAIM = "ReLU trains faster than sigmoid in deeper nets (1.3(b))."


def depths_of(tables: Tables) -> list[int]:
    """The depths of a run, ascending."""
    for name in ("summary", "history", "layers"):
        if name in tables and "depth" in tables[name].columns:
            return sorted(int(d) for d in tables[name]["depth"].unique())
    if "layers" in tables:
        return [int(tables["layers"]["layer"].max()) - 1]
    return []


def at_depth(tables: Tables, depth: int) -> Tables:
    """Every table restricted to `depth` (tables without a depth column unchanged)."""
    return {
        name: (df[df["depth"] == depth].reset_index(drop=True) if "depth" in df.columns else df)
        for name, df in tables.items()
    }


def _pairs(s: pd.DataFrame) -> list[tuple[int, pd.Series, pd.Series]]:
    """(depth, relu row, sigmoid row) for every depth with both, ascending."""
    out = []
    for depth in sorted(int(d) for d in s["depth"].unique()):
        at = s[s["depth"] == depth].set_index("activation")
        if "relu" in at.index and "sigmoid" in at.index:
            out.append((depth, at.loc["relu"], at.loc["sigmoid"]))
    return out


def _epochs(row: pd.Series) -> str:
    if int(row["reached"]) == 0:
        return "never"
    text = fmt(row["epochs_to_target"])
    if int(row["reached"]) < int(row["seeds"]):
        text += f" ({int(row['reached'])} of {int(row['seeds'])} seeds)"
    return text


def _list(depths: list[int]) -> str:
    """'depth 4' or 'depths 2, 4'."""
    return f"depth{'s' if len(depths) > 1 else ''} " + ", ".join(str(d) for d in depths)


def _verdict(judged: list[int], faster: list[int]) -> str:
    if len(faster) == len(judged):
        return "supported"
    if not faster:
        return "refuted"
    k = faster[0]
    if faster == [d for d in judged if d >= k]:
        return f"holds only when the net has at least {k} hidden layers"
    return f"holds only at {_list(faster)}"


def depth_speed_finding(s: pd.DataFrame) -> Finding | None:
    pairs = _pairs(s)
    if len(pairs) < 2:
        return None
    parts = [f"{_epochs(sig)} against {_epochs(relu)} at depth {d}" for d, relu, sig in pairs]
    text = (
        f"Epochs to the target training loss {fmt(pairs[0][1]['target_loss'])} (mean over the "
        f"seeds that reached it), sigmoid against ReLU: {'; '.join(parts)}."
    )
    lags = [
        (d, float(sig["epochs_to_target"]) - float(relu["epochs_to_target"]))
        for d, relu, sig in pairs
        if int(relu["reached"]) and int(sig["reached"])
    ]
    if len(lags) >= 2:
        (d0, g0), (d1, g1) = lags[0], lags[-1]
        text += (
            f" Sigmoid's lag went from {fmt(g0)} epochs at depth {d0} to {fmt(g1)} at depth {d1}."
        )
    stuck = [d for d, relu, sig in pairs if int(relu["reached"]) and not int(sig["reached"])]
    if stuck:
        text += f" Sigmoid never reached it at {_list(stuck)}, where ReLU did."
    judged = [d for d, _, _ in pairs if d >= 2]
    if not judged:
        text += " Every net here has one hidden layer, so none tests the claim about deeper nets."
        return Finding(text)
    faster = [d for d, relu, sig in pairs if d >= 2 and _faster(relu, sig)]
    rule = "more seeds reached the target, or as many sooner"
    if len(judged) == 1:
        was = "was" if faster else "was not"
        text += f" At depth {judged[0]}, the one with two or more hidden layers, ReLU {was} faster"
        text += f" ({rule})."
    else:
        text += (
            f" ReLU was faster ({rule}) at {len(faster)} of the {len(judged)} depths with two or "
            "more hidden layers" + (f" ({_list(faster)})." if faster else ".")
        )
    return Finding(text, _verdict(judged, faster), SPEED_CLAIM)


def depth_gradient_finding(s: pd.DataFrame) -> Finding | None:
    pairs = _pairs(s)
    if len(pairs) < 2:
        return None
    parts = [
        f"{fmt(sig['grad_ratio'])} against {fmt(relu['grad_ratio'])} at depth {d}"
        for d, relu, sig in pairs
    ]
    text = (
        "The first layer's weight gradient over the last layer's (geometric mean over seeds and "
        f"epochs), sigmoid against ReLU: {'; '.join(parts)}."
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        q = [(d, float(relu["grad_ratio"]) / float(sig["grad_ratio"])) for d, relu, sig in pairs]
    q = [(d, v) for d, v in q if np.isfinite(v)]
    if len(q) >= 2:
        values = [v for _, v in q]
        if all(b > a for a, b in itertools.pairwise(values)):
            trend = "the gap widens with every added depth"
        elif all(b < a for a, b in itertools.pairwise(values)):
            trend = "the gap narrows with depth"
        else:
            low, high = min(q, key=lambda dv: dv[1]), max(q, key=lambda dv: dv[1])
            trend = (
                "the gap does not change monotonically with depth (smallest at depth "
                f"{low[0]}, {fmt(low[1])} times; largest at depth {high[0]}, {fmt(high[1])} times)"
            )
        text += (
            f" ReLU's ratio was {fmt(q[0][1])} times sigmoid's at depth {q[0][0]} and "
            f"{fmt(q[-1][1])} times at depth {q[-1][0]}: {trend}."
        )
    return Finding(text)


def at_deepest(finding: Finding | None, depth: int) -> Finding | None:
    """A one-net finding of a multi-depth run, saying which depth it describes."""
    if finding is None or "depth" in finding.text:
        return finding
    text = finding.text
    word = text.split(" ", 1)[0]
    if word[1:] == word[1:].lower():  # "Sigmoid's" -> "sigmoid's"; "LeakyReLU's" stays
        text = text[0].lower() + text[1:]
    return Finding(f"At depth {depth}, the deepest, {text}", finding.verdict, finding.claim)
