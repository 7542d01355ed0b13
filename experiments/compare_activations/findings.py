"""The findings of `nnhw compare-activations`, computed from its tables alone.

Each finding reads the summary, timing and linear_baseline tables and quotes their numbers (3
significant digits); where a finding tests a claim of the course's homework it carries the claim
and a verdict computed from those numbers:
- 1.3(b) ReLU trains faster than sigmoid in deeper nets (depth >= 2 only; a one-hidden-layer
  net gets no verdict): sigmoid's final training loss over ReLU's, per seed, as a ratio of
  geometric means with its 95% Welch interval (reporting.uncertainty.compare); the whole
  interval above SPEED_CUTOFF (1.25x) -> supported, below -> refuted, else inconclusive. With
  several depths, the same test at each.
- 1.3(b) sigmoid's gradient vanishes, ReLU's does not (depth >= 2 only): ReLU's first-to-last
  layer gradient ratio over sigmoid's, per seed, at initialisation and over training, each
  against GAP_CUTOFF (1.25x) in the same way; inconclusive when either interval straddles it.
- 1.4(d) LeakyReLU has no dead units (ReLU's can die): LeakyReLU's peak dead fraction is 0.
- 1.4(d) sigmoid is "normalized to [-1, 1]": refuted when no sigmoid output is negative;
  sigmoid's output has a non-zero mean: supported when the 95% CI over seeds of its final mean
  hidden output lies above MEAN_CUTOFF (0.1), refuted below, inconclusive otherwise.
- 1.4(d) LeakyReLU costs more than ReLU: the timing table's paired ratio with its 95% CI against
  the margin (experiments.timing): PyTorch's kernels decide what the function costs, NumPy's
  qualify (experiments.timing.cost_verdict: supported, "holds only when" computed as NumPy does,
  refuted, or inconclusive when the deciding CI straddles the margin); the whole net's step is
  reported beside it.
- 1.4(c) two linear layers are one: the identity net equals its composed affine map up to
  rounding (relative error <= 1e-9) and its test metric is within 0.02 of least squares'.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from nnhw.core.activations import COURSE_ACTIVATIONS, get_activation
from nnhw.core.diagnostics import SATURATION_THRESHOLD
from nnhw.experiments import timing as tm
from nnhw.experiments.compare_activations.depth import at_depth, depths_of, ensure_depth
from nnhw.experiments.reporting.numbers import number
from nnhw.experiments.reporting.report import Finding
from nnhw.experiments.reporting.uncertainty import (
    ABOVE,
    BELOW,
    INCONCLUSIVE,
    Decision,
    compare,
    decide,
    describe,
)

Tables = dict[str, pd.DataFrame]
COLLAPSE_TOL = 1e-9
METRIC_TOL = 0.02


def metric_name(summary: pd.DataFrame) -> str:
    return "accuracy" if "test_accuracy" in summary.columns else "r2"


def best_text(summary: pd.DataFrame, column: str) -> str:
    """Which activation has the highest value of `column`, naming every one that ties."""
    values = summary[column].to_numpy(float)
    if not np.isfinite(values).any():
        return "none"
    top = np.nanmax(values)
    # a tie as the reader sees it: equal to the quoted 3 significant digits
    names = [str(a) for a, v in zip(summary["activation"], values) if number(v) == number(top)]
    if len(names) == 1:
        return names[0]
    return ("all" if len(names) == len(values) else ", ".join(names)) + f" tie at {number(top)}"


def _row(summary: pd.DataFrame, act: str) -> pd.Series | None:
    rows = summary[summary["activation"] == act]
    return rows.iloc[0] if len(rows) else None


def _epochs(row: pd.Series) -> str:
    if int(row["reached"]) == 0:
        return "never"
    seeds = f"{int(row['reached'])} of {int(row['seeds'])} seeds"
    return f"in {number(row['epochs_to_target'])} epochs ({seeds})"


SPEED_CUTOFF = 1.25  # sigmoid's final training loss at least 1.25x ReLU's: ReLU trained faster
GAP_CUTOFF = 1.25  # ReLU's first/last gradient ratio at least 1.25x sigmoid's: sigmoid's vanishes


def _at(df: pd.DataFrame | None, act: str, depth: int) -> pd.DataFrame:
    if df is None or df.empty:
        return pd.DataFrame()
    depth_ok = df["depth"] == depth if "depth" in df.columns else True
    return df[(df["activation"] == act) & depth_ok]


def seed_final_loss(history: pd.DataFrame | None, act: str, depth: int) -> np.ndarray:
    """Per seed: the training loss at its last epoch (non-finite for a diverged seed)."""
    h = _at(history, act, depth)
    if h.empty:
        return np.array([])
    last = h[h["epoch"] == h.groupby("seed")["epoch"].transform("max")]
    return last.sort_values("seed")["train_loss"].to_numpy(dtype=float)


def seed_grad_ratio(layers: pd.DataFrame | None, act: str, depth: int, init: bool) -> np.ndarray:
    """Per seed: the first weight layer's gradient norm over the last one's, at initialisation
    (init) or as a geometric mean over every epoch."""
    ly = _at(layers, act, depth)
    if ly.empty:
        return np.array([])
    if init:
        ly = ly[ly["epoch"] == 0]
    last = int(ly["layer"].max())
    g1 = ly[ly["layer"] == 1].set_index(["seed", "epoch"])["grad_norm"]
    gl = ly[ly["layer"] == last].set_index(["seed", "epoch"])["grad_norm"]
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log(g1 / gl)
    logs = logs[np.isfinite(logs)]
    return np.exp(logs.groupby(level="seed").mean()).to_numpy(dtype=float)


def _word(decision: Decision) -> str:
    return {ABOVE: "supported", BELOW: "refuted"}.get(decision.outcome, "inconclusive")


def _how_sure(d: Decision, what: str) -> str:
    e = d.estimate
    return (
        f"{what} {number(e.value)} (95% CI [{number(e.low)}, {number(e.high)}], Welch, "
        f"{e.n} seeds or more each; the verdict needs the whole interval beyond "
        f"{number(d.cutoff)}x: {describe(d, number)})"
    )


def speed_decision(tables: Tables, depth: int) -> Decision | None:
    """Sigmoid's final training loss over ReLU's (ratio of geometric means over seeds) against
    SPEED_CUTOFF; None without both activations' histories at `depth`."""
    h = tables.get("history")
    relu, sig = seed_final_loss(h, "relu", depth), seed_final_loss(h, "sigmoid", depth)
    if relu.size < 2 or sig.size < 2:
        return None
    return compare(sig, relu, SPEED_CUTOFF, log=True, excess=True)


def speed_finding(s: pd.DataFrame, tables: Tables | None = None) -> Finding | None:
    relu, sig = _row(s, "relu"), _row(s, "sigmoid")
    if relu is None or sig is None:
        return None
    depth = int(relu["depth"])
    text = (
        f"With {depth} hidden layer{'s' if depth > 1 else ''}, ReLU reached the target "
        f"training loss {number(relu['target_loss'])} {_epochs(relu)}, sigmoid {_epochs(sig)}; "
        f"final training loss {number(relu['final_train_loss'])} against "
        f"{number(sig['final_train_loss'])}."
    )
    if depth == 1:  # a measurement, but not a test of the claim: it is about deeper nets
        text += (
            " This net has one hidden layer, so it does not test the course's claim that ReLU "
            "trains faster in deeper nets: give --hidden more layers for that."
        )
        return Finding(text)
    d = speed_decision(tables or {}, depth)
    if d is None:
        return Finding(text + " Fewer than two seeds per activation: no verdict.")
    text += " " + _how_sure(d, "Sigmoid's final training loss over ReLU's:") + "."
    return Finding(text, _word(d), SPEED_CLAIM)


def _gap_decision(tables: Tables, depth: int, init: bool) -> Decision | None:
    """ReLU's first/last gradient ratio over sigmoid's, against GAP_CUTOFF."""
    ly = tables.get("layers")
    relu = seed_grad_ratio(ly, "relu", depth, init)
    sig = seed_grad_ratio(ly, "sigmoid", depth, init)
    if relu.size < 2 or sig.size < 2:
        return None
    return compare(relu, sig, GAP_CUTOFF, log=True, excess=True)


def vanishing_finding(s: pd.DataFrame, tables: Tables | None = None) -> Finding | None:
    relu, sig = _row(s, "relu"), _row(s, "sigmoid")
    if relu is None or sig is None:
        return None
    depth = int(relu["depth"])
    text = (
        f"The first layer's weight gradient was {number(sig['grad_ratio_init'])} times the last "
        f"layer's for sigmoid at initialisation and {number(sig['grad_ratio'])} over training "
        f"(geometric mean), against {number(relu['grad_ratio_init'])} and "
        f"{number(relu['grad_ratio'])} for ReLU"
    )
    tanh = _row(s, "tanh")
    if tanh is not None:
        text += f" and {number(tanh['grad_ratio_init'])} and {number(tanh['grad_ratio'])} for tanh"
    text += f" (depth {depth})."
    if depth == 1:  # the first and last weight layers are the input and output layers
        return Finding(
            text + " With one hidden layer there are no intermediate layers for a gradient to "
            "vanish through, so this does not test the claim about deeper nets."
        )
    at_init, training = (
        _gap_decision(tables or {}, depth, True),
        _gap_decision(tables or {}, depth, False),
    )
    if at_init is None or training is None:
        return Finding(text + " Fewer than two seeds per activation: no verdict.")
    text += (
        " " + _how_sure(at_init, "ReLU's ratio over sigmoid's at initialisation:") + "; "
        + _how_sure(training, "over training:") + "."
    )  # fmt: skip
    words = (_word(at_init), _word(training))
    if "inconclusive" in words:
        verdict = "inconclusive"
    elif words == ("supported", "supported"):
        verdict = "supported"
    elif words[1] == "supported":
        verdict = "holds only when training, not at initialisation"
    elif words[0] == "supported":
        verdict = "holds only at initialisation, not over training"
    else:
        verdict = "refuted"
    return Finding(
        text,
        verdict,
        "Sigmoid's gradient vanishes towards the first layers, ReLU's does not (1.3(b)).",
    )


def dead_finding(s: pd.DataFrame) -> Finding | None:
    leaky, relu = _row(s, "leaky-relu"), _row(s, "relu")
    if leaky is None:
        return None
    peak = number(leaky["dead_fraction_peak"])
    text = f"LeakyReLU's largest dead-unit fraction over training was {peak}"
    if relu is not None:
        text += (
            f"; ReLU's was {number(relu['dead_fraction_peak'])} "
            f"({number(relu['dead_fraction'])} at the end)"
        )
        if float(relu["dead_fraction_peak"]) == 0:
            text += ", so no ReLU unit died here either (a negative --bias-shift provokes it)"
    verdict = "supported" if float(leaky["dead_fraction_peak"]) == 0 else "refuted"
    return Finding(text + ".", verdict, "LeakyReLU units do not die; ReLU units can (1.4(d)).")


MEAN_CUTOFF = 0.1  # a mean hidden output beyond this is "non-zero"


def seed_final_mean(layers: pd.DataFrame | None, act: str, depth: int) -> np.ndarray:
    """Per seed: the hidden layers' mean output at the seed's last epoch (averaged over them)."""
    ly = _at(layers, act, depth)
    if ly.empty or "act_mean" not in ly.columns:
        return np.array([])
    ly = ly[ly["act_mean"].notna()]
    last = ly[ly["epoch"] == ly.groupby("seed")["epoch"].transform("max")]
    return last.groupby("seed")["act_mean"].mean().to_numpy(dtype=float)


def range_findings(s: pd.DataFrame, tables: Tables | None = None) -> list[Finding]:
    sig = _row(s, "sigmoid")
    if sig is None:
        return []
    text = (
        f"Sigmoid's hidden outputs ranged from {number(sig['act_min'])} to "
        f"{number(sig['act_max'])}, never negative"
    )
    tanh = _row(s, "tanh")
    if tanh is not None:
        text += (
            f"; tanh's ranged from {number(tanh['act_min'])} to {number(tanh['act_max'])}: "
            "tanh, not sigmoid, is the symmetric one"
        )
    out = [
        Finding(
            text + ".",
            "refuted" if float(sig["act_min"]) >= 0 else "supported",
            'Sigmoid is "normalized to [-1, 1]" (1.4(d)).',
        )
    ]
    mean = f"Sigmoid's mean hidden output at the end was {number(sig['act_mean'])}"
    if tanh is not None:
        mean += f", tanh's {number(tanh['act_mean'])}"
    per_seed = seed_final_mean((tables or {}).get("layers"), "sigmoid", int(sig["depth"]))
    if per_seed.size >= 2:  # per seed: the mean's CI against the cut-off decides
        d = decide(per_seed, MEAN_CUTOFF)
        mean += f" ({describe(d, number)})"
        verdict = _word(d)
    else:
        verdict = "supported" if float(sig["act_mean"]) > MEAN_CUTOFF else "refuted"
    out.append(Finding(mean + ".", verdict, "Sigmoid's output has a non-zero mean (1.4(d))."))
    return out


def _timing_row(timing: pd.DataFrame, act: str, scope: str, library: str) -> pd.Series | None:
    lib = timing["library"] if "library" in timing.columns else pd.Series("numpy", timing.index)
    rows = timing[(timing["activation"] == act) & (timing["scope"] == scope) & (lib == library)]
    return rows.iloc[0] if len(rows) else None


def _ratio_text(row: pd.Series) -> str:
    """'1.52x [1.47, 1.58] (costs more)': the median per-round ratio, its 95% CI and the test."""
    if not (np.isfinite(row["ratio_lo"]) and np.isfinite(row["ratio_hi"])):
        return f"{number(row['ratio'])}x (too few rounds for an interval; {row['test']})"
    return (
        f"{number(row['ratio'])}x [{number(row['ratio_lo'])}, {number(row['ratio_hi'])}] "
        f"({row['test']})"
    )


def cost_finding(s: pd.DataFrame, timing: pd.DataFrame | None) -> Finding | None:
    """LeakyReLU against ReLU in the timing table: NumPy and (when measured) PyTorch for the
    activation alone, NumPy for a whole step of the net; the verdict is
    experiments.timing.cost_verdict's (PyTorch decides what the function costs, NumPy qualifies)."""
    if _row(s, "leaky-relu") is None or timing is None or str(timing["baseline"].iloc[0]) != "relu":
        return None
    alone = _timing_row(timing, "leaky-relu", "activation", "numpy")
    if alone is None:
        return None
    net = _timing_row(timing, "leaky-relu", "net", "numpy")
    torch = _timing_row(timing, "leaky-relu", "activation", "torch")
    rounds = int(alone["repeats"])
    if "ratio_lo" not in timing.columns:  # a run written before the interleaved-rounds timing
        text = (
            f"On the same arrays, LeakyReLU's forward plus backward pass took "
            f"{number(alone['ratio'])} times ReLU's (median of {rounds} repeats); this run's "
            "timing has no confidence interval, so it decides nothing."
        )
        return Finding(text, "inconclusive", COST_CLAIM)
    margin = float(alone["margin"])
    parts = [f"NumPy {_ratio_text(alone)}"]
    parts.append(f"PyTorch {_ratio_text(torch)}" if torch is not None else "PyTorch not installed")
    step = "" if net is None else f"; a whole forward-backward step of the net {_ratio_text(net)}"
    text = (
        f"LeakyReLU's forward plus backward pass relative to ReLU's on the same arrays (median "
        f"of {rounds} interleaved rounds [confidence interval of the median], a difference "
        f"counts beyond {number(margin)}x): " + "; ".join(parts) + step + "."
    )
    verdict = tm.cost_verdict(
        str(alone["test"]), None if torch is None else str(torch["test"]), margin
    )
    return Finding(text, verdict, COST_CLAIM)


COST_CLAIM = "LeakyReLU is computationally more expensive than ReLU (1.4(d))."


def linear_finding(s: pd.DataFrame, lb: pd.DataFrame | None) -> Finding | None:
    if lb is None or not len(lb):
        return None
    metric = metric_name(s)
    row = _row(s, "identity")
    # the summary's mean over seeds (the same final nets), else the baseline table's
    net = float(row[f"test_{metric}"]) if row is not None else float(lb["test_metric"].mean())
    collapse, ls = float(lb["collapse_error"].max()), float(lb["test_metric_lstsq"].iloc[0])
    text = (
        f"With identity hidden units the trained net equals one affine map x -> A x + c "
        f"(A the product of its weight matrices) to a relative error of {number(collapse)}; its "
        f"test {'accuracy' if metric == 'accuracy' else 'R²'} was {number(net)} against "
        f"{number(ls)} for least squares on the same data"
    )
    dist = lb["map_distance"].dropna()
    if len(dist):
        text += (
            f", and its map lay at most {number(dist.max())} (relative) from the least-squares one"
        )
    ok = collapse <= COLLAPSE_TOL and abs(net - ls) <= METRIC_TOL
    return Finding(
        text + ".",
        "supported" if ok else "refuted",
        "Two linear layers are one linear layer (1.4(c)).",
    )


def overview_finding(s: pd.DataFrame) -> Finding:
    metric = metric_name(s)
    # a spread below 1e-12 of the mean is rounding (identical predictions), not a spread
    parts = [
        f"{a} {number(m)} ± {number(0.0 if abs(sd) <= 1e-12 * max(1.0, abs(m)) else sd)}"
        for a, m, sd in zip(s["activation"], s[f"test_{metric}"], s[f"test_{metric}_std"])
    ]
    best = best_text(s, f"test_{metric}")
    label = "accuracy" if metric == "accuracy" else "R²"
    text = f"Test {label} (mean ± std over seeds): {'; '.join(parts)}; best: {best}."
    diverged = s[s["diverged"] > 0]
    if len(diverged):
        text += (
            " Diverged seeds: "
            + ", ".join(
                f"{a} {int(n)}" for a, n in zip(diverged["activation"], diverged["diverged"])
            )
            + "."
        )
    return Finding(text)


def findings(tables: Tables) -> list[Finding]:
    """The findings in report order. With several depths (--depths): how the sigmoid-ReLU gaps
    change with depth (depth_speed_finding, depth_gradient_finding), then the one-net findings
    at the deepest depth, each saying so."""
    tables = ensure_depth(tables)
    depths = depths_of(tables)
    if len(depths) > 1:
        s = tables["summary"]
        trend = [depth_speed_finding(s, tables), depth_gradient_finding(s)]
        one = one_net_findings(at_depth(tables, depths[-1]), speed=False)
        deepest = [at_deepest(f, depths[-1]) for f in one]
        return [f for f in (deepest[0], *trend, *deepest[1:]) if f is not None]
    return one_net_findings(tables, speed=True)


def one_net_findings(tables: Tables, *, speed: bool) -> list[Finding]:
    """The findings of one depth (the speed finding only when `speed`)."""
    s = tables["summary"]
    out = [overview_finding(s)]
    for f in (
        speed_finding(s, tables) if speed else None,
        vanishing_finding(s, tables),
        dead_finding(s),
    ):
        if f is not None:
            out.append(f)
    out += range_findings(s, tables)
    for f in (
        saturation_finding(s),
        cost_finding(s, tables.get("timing")),
        newer_cost_finding(s, tables.get("timing")),
        linear_finding(s, tables.get("linear_baseline")),
    ):
        if f is not None:
            out.append(f)
    return out


SPEED_CLAIM = "ReLU trains faster than sigmoid in deeper nets (1.3(b))."


def _pairs(s: pd.DataFrame) -> list[tuple[int, pd.Series, pd.Series]]:
    """(depth, relu row, sigmoid row) for every depth with both, ascending."""
    out = []
    for depth in sorted(int(d) for d in s["depth"].unique()):
        at = s[s["depth"] == depth].set_index("activation")
        if "relu" in at.index and "sigmoid" in at.index:
            out.append((depth, at.loc["relu"], at.loc["sigmoid"]))
    return out


def _epochs_at_depth(row: pd.Series) -> str:
    if int(row["reached"]) == 0:
        return "never"
    text = number(row["epochs_to_target"])
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


def depth_speed_finding(s: pd.DataFrame, tables: Tables | None = None) -> Finding | None:
    pairs = _pairs(s)
    if len(pairs) < 2:
        return None
    parts = [
        f"{_epochs_at_depth(sig)} against {_epochs_at_depth(relu)} at depth {d}"
        for d, relu, sig in pairs
    ]
    text = (
        f"Epochs to the target training loss {number(pairs[0][1]['target_loss'])} (mean over the "
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
            f" Sigmoid's lag went from {number(g0)} epochs at depth {d0} to {number(g1)} at "
            f"depth {d1}."
        )
    stuck = [d for d, relu, sig in pairs if int(relu["reached"]) and not int(sig["reached"])]
    if stuck:
        text += f" Sigmoid never reached it at {_list(stuck)}, where ReLU did."
    judged = [d for d, _, _ in pairs if d >= 2]
    if not judged:
        text += " Every net here has one hidden layer, so none tests the claim about deeper nets."
        return Finding(text)
    decisions = {d: speed_decision(tables or {}, d) for d in judged}
    faster = [d for d in judged if decisions[d] is not None and decisions[d].outcome == ABOVE]
    undecided = [d for d in judged if decisions[d] is None or decisions[d].outcome == INCONCLUSIVE]
    rule = (
        f"sigmoid's final training loss at least {number(SPEED_CUTOFF)}x ReLU's, the whole 95% "
        "CI of the ratio beyond it"
    )
    ratios = "; ".join(
        f"depth {d}: {number(x.estimate.value)} [{number(x.estimate.low)}, "
        f"{number(x.estimate.high)}]"
        for d, x in decisions.items()
        if x is not None
    )
    if ratios:
        text += f" Sigmoid's final training loss over ReLU's (95% CI): {ratios}."
    text += (
        f" ReLU was faster ({rule}) at {len(faster)} of the {len(judged)} depths with two or "
        "more hidden layers" + (f" ({_list(faster)})" if faster else "")
        + (f"; undecided at {_list(undecided)}" if undecided else "") + "."
    )  # fmt: skip
    # an undecided depth is not one where ReLU was shown faster; with none shown faster and
    # some undecided, the evidence does not decide
    verdict = "inconclusive" if undecided and not faster else _verdict(judged, faster)
    if undecided and faster:
        verdict += f" (inconclusive at {_list(undecided)})"
    return Finding(text, verdict, SPEED_CLAIM)


def depth_gradient_finding(s: pd.DataFrame) -> Finding | None:
    pairs = _pairs(s)
    if len(pairs) < 2:
        return None
    parts = [
        f"{number(sig['grad_ratio'])} against {number(relu['grad_ratio'])} at depth {d}"
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
                f"{low[0]}, {number(low[1])} times; largest at depth {high[0]}, {number(high[1])} "
                "times)"
            )
        text += (
            f" ReLU's ratio was {number(q[0][1])} times sigmoid's at depth {q[0][0]} and "
            f"{number(q[-1][1])} times at depth {q[-1][0]}: {trend}."
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


def saturation_finding(s: pd.DataFrame) -> Finding | None:
    """Which activations' units saturate, and how many at the end (summary's saturated_fraction,
    core.diagnostics): sigmoid and tanh in either tail, GELU, SiLU, Mish, softplus, ELU and SELU
    in their flat left tail; n/a for those that cannot (ReLU dies instead). Only in runs with an
    activation beyond the course's four, whose reports it would otherwise repeat."""
    names = [str(a) for a in s["activation"]]
    if all(a in COURSE_ACTIVATIONS for a in names):
        return None
    parts, cannot = [], []
    for a, v in zip(names, s["saturated_fraction"]):
        act = get_activation(a)
        if act.saturation == "none" or not np.isfinite(v):
            cannot.append(a)
            continue
        where = "either tail" if act.saturation == "two-sided" else "left tail"
        parts.append(f"{a} {number(100 * float(v))}% ({where})")
    text = (
        "Saturated units at the end (mean over seeds and hidden layers; a unit counts where its "
        f"derivative stays below {number(100 * SATURATION_THRESHOLD)}% of its largest value: in "
        "either tail for sigmoid and tanh, in the flat left tail for the smooth and exponential "
        "ones, whose right side keeps a slope near 1): " + ("; ".join(parts) or "none") + "."
    )
    if cannot:
        text += f" n/a for {', '.join(cannot)}: they cannot saturate (ReLU's units die instead)."
    return Finding(text)


def newer_cost_finding(s: pd.DataFrame, timing: pd.DataFrame | None) -> Finding | None:
    """What the activations beyond the course's four cost against ReLU, from the same timing
    table as the cost claim (NumPy, and PyTorch's kernels when measured): the median per-round
    ratio with its 95% CI and the cost test. A measurement, not a claim: no verdict."""
    names = [str(a) for a in s["activation"] if a not in COURSE_ACTIVATIONS]
    if not names or timing is None or str(timing["baseline"].iloc[0]) != "relu":
        return None
    has_ci = "ratio_lo" in timing.columns
    parts = []
    for a in names:
        rows = {lib: _timing_row(timing, a, "activation", lib) for lib in ("numpy", "torch")}
        if rows["numpy"] is None:
            continue
        numpy_row = rows["numpy"]
        text = f"NumPy {_ratio_text(numpy_row) if has_ci else number(numpy_row['ratio']) + 'x'}"
        if rows["torch"] is not None:
            text += f", PyTorch {_ratio_text(rows['torch'])}"
        parts.append(f"{a} {text}")
    if not parts:
        return None
    how = "median of interleaved rounds [95% CI]" if has_ci else "median of repeats"
    return Finding(
        f"Forward plus backward pass of the activations beyond the course's, relative to ReLU's on "
        f"the same arrays ({how}): " + "; ".join(parts) + ". NumPy has no erf: nnhw's GELU "
        "evaluates the normal cdf as a degree-24 polynomial (core.normal)."
    )
