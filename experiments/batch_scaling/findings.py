"""The findings of `nnhw batch-scaling`, computed from its tables alone (so `nnhw verify` and
`nnhw report` can reuse them on saved CSVs).

The homework's question 1.4(f) asks how the learning rate should change with the batch size; the
course answers "increase proportionally": the linear scaling rule. Two claims come from it, kept
apart:
- CLAIM_LR, the question as asked: `lr_claim(tables, config)` (numbers in `lr_numbers`), from the
  training study: with the mean loss, up to which batch size the linear rule keeps the
  loss-per-epoch curve of the smallest batch, against a fixed rate and the square-root rule, per
  seed and by majority, held against McCandlish et al.'s (2018) gradient-noise-scale
  prediction. Verdict (`lr_category`): "supported" when the linear rule keeps the curve at every
  batch size tried; "holds only when B <= L" when it keeps it further than both other rules and
  then breaks; "refuted" when a fixed rate does as well or the square-root rule does better;
  "inconclusive" when no majority of the seeds, each judged on its own curves, reaches the
  verdict of the majority curves.
- CLAIM_GRADIENT, the answer read as a statement about the gradient's size ("the gradient grows
  with B"): `claim_verdict(tables, phase, factor)`, from the gradient measurements: the slope of
  |g_B| against B for the summed loss in the large-batch range (B >= f B_simple) and for the
  mean loss, whose gradient does not grow.

Other findings: `noise_scale_finding` (B_simple over the seeds with its 95% CI, quoted with the
precision the CI allows: `approx`), `noise_finding` (the noise model's fit on seed 0's net) and
`training_findings` (the summed loss at a fixed rate, the linear rule in disguise, diverges where
the mean loss does not). `findings(tables, config)` gives them in the report's order, each group
only when its tables are present.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from nnhw.experiments.batch_scaling import fits
from nnhw.experiments.reporting.numbers import number
from nnhw.experiments.reporting.report import Finding

CLAIM_LR = (
    "1.4(f): the learning rate should increase proportionally with the batch size (the linear "
    "scaling rule)"
)
CLAIM_GRADIENT = (
    "1.4(f), read as the gradient's size: the gradient increases proportionally with batch size"
)
CLAIM = CLAIM_GRADIENT  # the name of the gradient-size claim in earlier versions
TOLERANCE = 0.15  # |slope - 1| within which the growth counts as proportional
# McCandlish et al.'s model puts the linear rule's break where (B + B_noise) / (b_ref + B_noise)
# reaches this factor: twice the examples (epochs) the small batch needs for the same loss.
BREAK_FACTOR = 2.0
SUPPORTED, REFUTED, HOLDS_ONLY, INCONCLUSIVE = (
    "supported",
    "refuted",
    "holds only when",
    "inconclusive",
)
RULE_NAMES = {"fixed": "a fixed rate", "linear": "the linear rule", "sqrt": "the square-root rule"}


def approx(value: float, low: float, high: float) -> str:
    """`value` with the significant digits its 95% CI [low, high] allows (the CI's width sets the
    last digit), then the CI to the same last digit and at least two digits: '3 [1.3, 7]',
    '10.4 [10.1, 10.8]'. Without a finite CI of some width, `number(value)` alone."""
    if not all(math.isfinite(x) for x in (value, low, high)) or value == 0 or high <= low:
        return number(value)
    top = math.floor(math.log10(abs(value)))
    digits = min(3, max(1, top - math.floor(math.log10(high - low)) + 1))
    last = top - digits + 1  # the decimal position of the value's last digit

    def bound(x: float) -> str:
        if x == 0:
            return "0"
        return sig(x, min(3, max(2, math.floor(math.log10(abs(x))) - last + 1)))

    return f"{sig(value, digits)} [{bound(low)}, {bound(high)}]"


def sig(value: float, digits: int) -> str:
    """`value` rounded to `digits` significant digits, written plainly ('300', not '3e+02')."""
    if not math.isfinite(value) or value == 0:
        return number(value)
    return number(float(f"{value:.{digits}g}"), max(digits, 3))


def _loss(value: float) -> str:
    """A final loss as a finding quotes it: a diverged one (inf, NaN) is 'not finite'."""
    return number(float(value)) if math.isfinite(float(value)) else "not finite"


def _slope_phrase(claim: dict[str, Any], reduction: str, which: str, bound: str) -> str:
    """'goes as B^0.964 for B = 32..256 (B >= 27.3)', or why there is no slope for that range."""
    tag = f"{reduction}_{which.replace('-B', '')}"
    lo, hi = claim[f"range_{tag}"]
    if lo < 0 or lo == hi:
        return f"has no slope for {bound} (fewer than two batch sizes tried lie there)"
    return f"goes as B^{number(claim[f'slope_{tag}'])} for B = {lo}..{hi} ({bound})"


PHASE_OPENINGS = {"init": "At initialisation", "trained": "After the short training"}


def _phase(phase: str) -> str:
    """How a finding opens for a phase of the gradient measurements."""
    return PHASE_OPENINGS.get(phase, f"In phase {phase}")


def b_simple_estimate(tables: dict[str, pd.DataFrame], phase: str) -> pd.Series | None:
    """The `b_simple` row of `phase` (B_simple over the seeds with its CI), None without it."""
    b = tables.get("b_simple")
    if b is None:
        return None
    rows = b[b["phase"] == phase]
    return rows.iloc[0] if len(rows) and int(rows["seeds"].iloc[0]) > 0 else None


def _b_simple_text(tables: dict[str, pd.DataFrame], phase: str) -> str:
    """'3 [1.3, 7] over 5 seeds', or '' without the b_simple table."""
    r = b_simple_estimate(tables, phase)
    if r is None:
        return ""
    return f"{approx(r['estimate'], r['ci_low'], r['ci_high'])} over {int(r['seeds'])} seeds"


def claim_verdict(tables: dict[str, pd.DataFrame], phase: str, factor: float) -> tuple[str, str]:
    """(verdict, sentence) on the gradient-size reading of 1.4(f) (CLAIM_GRADIENT) for `phase`,
    from the slopes table.

    Verdict: "holds only when the loss is summed and B >= f B_simple" when the summed gradient's
    norm grows with slope within TOLERANCE of 1 over the large-batch range, "refuted" when it
    grows otherwise, "inconclusive" when fewer than two batch sizes tried reach that range (B_simple
    is seed 0's, the net the minibatch gradients were measured on). The sentence also gives the
    mean loss's slopes, which are <= 0: its gradient does not grow."""
    claim = fits.claim_numbers(tables, phase)
    bs = claim["b_simple_direct"]
    large = f"B >= {factor:g}·B_simple = {number(factor * bs)}"
    small = f"B <= B_simple/{factor:g} = {number(bs / factor)}"
    mean_all = claim["slope_mean_all"]
    grows = "grows" if mean_all > TOLERANCE else "does not grow"
    seeds = _b_simple_text(tables, phase)
    also = f"; {seeds}: the noise scale varies from net to net" if seeds else ""
    text = (
        f"{_phase(phase)} (B_simple = {number(bs)} for the net measured{also}), the summed "
        f"loss's gradient norm {_slope_phrase(claim, 'sum', 'large-B', large)}; "
        f"{_slope_phrase(claim, 'sum', 'small-B', small)}; "
        f"goes as B^{number(claim['slope_sum_all'])} over all sizes. The mean loss's gradient "
        f"norm {grows}: it {_slope_phrase(claim, 'mean', 'large-B', large)}; "
        f"goes as B^{number(mean_all)} over all sizes."
    )
    sum_large = claim["slope_sum_large"]
    lo, hi = claim["range_sum_large"]
    if lo < 0 or lo == hi or not math.isfinite(sum_large):
        return (
            f"{INCONCLUSIVE}: fewer than two batch sizes tried reach B >= {number(factor * bs)}",
            text,
        )
    if abs(sum_large - 1) <= TOLERANCE:
        return f"{HOLDS_ONLY} the loss is summed and B >= {number(factor * bs)}", text
    return REFUTED, text


def noise_scale_finding(tables: dict[str, pd.DataFrame]) -> Finding | None:
    """B_simple over the seeds per phase, with its 95% CI and the seeds' range."""
    b = tables.get("b_simple")
    if b is None or b.empty:
        return None
    parts = []
    for r in b.itertuples():
        if int(r.seeds) == 0:
            continue
        opening = "at initialisation" if r.phase == "init" else f"{r.phase}".replace(
            "trained", "after the short training"
        )  # fmt: skip
        parts.append(
            f"{opening} about {approx(r.estimate, r.ci_low, r.ci_high)} (geometric mean over "
            f"{int(r.seeds)} seeds' nets with its 95% CI; the seeds range from "
            f"{number(r.seed_min)} to {number(r.seed_max)})"
        )
    if not parts:
        return None
    return Finding(
        "The gradient noise scale B_simple = tr(Σ)/|G|², from each seed's per-example "
        "gradients, is " + "; ".join(parts) + ". The interval adds the spread over the seeds' "
        "initialisations and over bootstrap resamples of the examples; it is wide because "
        "B_simple depends on the net as much as on the data."
    )


def noise_finding(tables: dict[str, pd.DataFrame], phase: str) -> str:
    """The noise model's fit for `phase` (R^2, chi2/dof, both models) and B_simple two ways."""
    f = tables["fits"]
    c = f[(f["phase"] == phase) & (f["model"] == "corrected")].iloc[0]
    u = f[(f["phase"] == phase) & (f["model"] == "uncorrected")].iloc[0]
    nz = tables["noise"][tables["noise"]["phase"] == phase].iloc[0]
    return (
        f"{_phase(phase)}, E|g_B|² = |G|² + tr(Σ)/B·(N−B)/(N−1) fits the mean-reduction "
        "measurements (seed 0's net) at "
        f"{int(c['points'])} batch sizes with R² = {c['r2']:.4f} (χ²/dof = "
        f"{number(c['chi2_dof'])}),"
        f" giving |G|² = {number(c['grad_sq_norm_fit'])} and tr(Σ) = "
        f"{number(c['trace_sigma_fit'])} "
        f"against {number(nz['grad_sq_norm'])} and {number(nz['trace_sigma'])} from the "
        "per-example "
        f"gradients: B_simple = {number(c['b_simple_fit'])} from the fit and "
        f"{number(c['b_simple_direct'])} directly (ratio {number(c['b_simple_ratio'])}). Read "
        "without "
        f"the finite-population correction, the same curve gives |G|² = "
        f"{number(u['grad_sq_norm_fit'])} and B_simple = {number(u['b_simple_fit'])} (ratio "
        f"{number(u['b_simple_ratio'])})."
    )


# ---- 1.4(f) as asked: the learning rate -------------------------------------------------------


def lr_category(upto: dict[str, int], largest: int) -> str:
    """SUPPORTED, HOLDS_ONLY or REFUTED from each mean-loss rule's close_up_to (module
    docstring); a rule missing from `upto` counts as never closer than the reference."""
    lin, fixed, sq = (upto.get(r, -1) for r in ("linear", "fixed", "sqrt"))
    if lin >= largest:
        return SUPPORTED
    if lin > fixed and lin >= sq:
        return HOLDS_ONLY
    return REFUTED


def _seed_close_up_to(members: pd.DataFrame) -> dict[int, dict[str, int]]:
    """seed -> rule -> the seed's own close_up_to (mean loss), from `member_gaps`' rows."""
    m = members[members["reduction"] == "mean"]
    out: dict[int, dict[str, int]] = {}
    for (seed, rule), g in m.groupby(["seed", "lr_rule"]):
        g = g.sort_values("batch_size")
        sizes = g["batch_size"].to_numpy()
        bad = sizes[~g["close"].to_numpy(bool)]
        first = int(bad.min()) if len(bad) else -1
        upto = sizes[sizes < first] if first > 0 else sizes
        out.setdefault(int(seed), {})[str(rule)] = int(upto.max()) if len(upto) else -1
    return out


def lr_numbers(tables: dict[str, pd.DataFrame], config: Any) -> dict[str, Any]:
    """Everything the learning-rate claim rests on (keys below), from training_breaks,
    training_members and, when present, b_simple."""
    br = tables["training_breaks"]
    mean = br[br["reduction"] == "mean"].set_index("lr_rule")
    members = tables["training_members"]
    b_ref = int(members["batch_size"].min())
    largest = int(mean["largest_batch"].max())
    rules = [r for r in ("fixed", "linear", "sqrt") if r in mean.index]
    upto = {r: int(mean.loc[r, "close_up_to"]) for r in rules}
    out: dict[str, Any] = {"b_ref": b_ref, "largest": largest, "rules": rules, "upto": upto}
    out["category"] = lr_category(upto, largest)
    moved = [
        lr_category({r: int(mean.loc[r, f"close_up_to_{k}"]) for r in rules}, largest)
        for k in ("tight", "loose")
    ]
    out["moved"] = moved
    per_seed = _seed_close_up_to(members) if "close" in members.columns else {}
    seed_cats = [lr_category(u, largest) for u in per_seed.values()]
    out["seeds"] = len(seed_cats)
    out["agree"] = sum(c == out["category"] for c in seed_cats)
    lin = mean.loc["linear"] if "linear" in mean.index else None
    out["linear"] = lin
    out["rows"] = mean
    out["curve_factor"] = float(config.curve_factor)
    out["warmup"] = float(getattr(config, "warmup_epochs", 0.0))
    pred = {}
    for phase in ("init", "trained"):
        r = b_simple_estimate(tables, phase)
        if r is not None:
            pred[phase] = {
                "b_noise": (float(r["estimate"]), float(r["ci_low"]), float(r["ci_high"])),
                "break": tuple(
                    fits.predicted_break(float(r[k]), b_ref, BREAK_FACTOR)
                    for k in ("estimate", "ci_low", "ci_high")
                ),
            }
    out["prediction"] = pred
    return out


def _prediction_text(n: dict[str, Any]) -> tuple[str, str]:
    """(sentence, 'consistent'/'not consistent'/'') comparing the linear rule's measured break
    with McCandlish et al.'s B* = 2 b_ref + B_noise."""
    pred, lin = n["prediction"], n["linear"]
    if not pred or lin is None:
        return "", ""
    f = BREAK_FACTOR
    b_ref = n["b_ref"]
    parts = []
    for phase, p in pred.items():
        est, lo, hi = p["break"]
        when = "at initialisation" if phase == "init" else "after the short training"
        parts.append(
            f"B* ≈ {approx(est, lo, hi)} with B_noise ≈ B_simple {when} ({approx(*p['b_noise'])})"
        )
    text = (
        "McCandlish et al. (2018) model the best rate as ε_max/(1 + B_noise/B): it grows like B "
        f"while B << B_noise and saturates beyond, and reaching a given loss takes (1 + "
        f"B/B_noise) times the fewest examples. Starting from the best rate at b_ref = {b_ref}, "
        f"the linear rule overshoots the best rate, and a per-epoch curve lags the small batch's, "
        f"by the factor (B + B_noise)/(b_ref + B_noise), which reaches {f:g} at B* = "
        f"{f:g}·b_ref + {'' if f == 2 else f'{f - 1:g}·'}B_noise: " + "; ".join(parts) + "."
    )
    lo_band = min(p["break"][1] for p in pred.values())
    hi_band = max(p["break"][2] for p in pred.values())
    est, blo, bhi = (float(lin[k]) for k in ("break_estimate", "break_low", "break_high"))
    if not math.isfinite(est):
        return text + " The linear rule did not break within the sizes tried.", ""
    if not (math.isfinite(blo) and math.isfinite(bhi)):
        blo = bhi = est
    verdict = "consistent" if blo <= hi_band and bhi >= lo_band else "not consistent"
    where = "inside" if verdict == "consistent" else ("below" if bhi < lo_band else "above")
    text += (
        f" The measured break, {approx(est, blo, bhi)} (where each seed's curve gap crosses the "
        f"tolerance, interpolated on log B; {int(lin['break_seeds'])} seeds), lies {where} the "
        f"predicted range {sig(lo_band, 2)} to {sig(hi_band, 2)}: {verdict} with the "
        "noise-scale prediction."
    )
    return text, verdict


def lr_claim(tables: dict[str, pd.DataFrame], config: Any) -> tuple[str, str, dict[str, Any]]:
    """(verdict, sentence, numbers) on CLAIM_LR (module docstring)."""
    n = lr_numbers(tables, config)
    rows, b_ref = n["rows"], n["b_ref"]
    tol = n["curve_factor"]

    def rule_text(rule: str) -> str:
        r = rows.loc[rule]
        upto = int(r["close_up_to"])
        reach = f"up to B = {upto}" if upto >= b_ref else "not even at the smallest batch"
        if upto >= n["largest"]:
            reach = f"at every batch size tried (up to {upto})"
        agree = f"{int(r['seeds_agree'])} of {int(r['seeds'])} seeds agree"
        if int(r["seed_close_low"]) != int(r["seed_close_high"]):
            agree += f"; seeds {int(r['seed_close_low'])} to {int(r['seed_close_high'])}"
        return f"with {RULE_NAMES[rule]} {reach} ({agree})"

    warm = f", {number(n['warmup'])} warm-up epochs" if n["warmup"] > 0 else ""
    text = (
        f"With the mean loss and plain SGD{warm}, the loss-per-epoch curve stays within a "
        f"typical factor {number(tol)} of the smallest batch's (B = {b_ref}, same seeds and "
        "data orders): "
        + "; ".join(rule_text(r) for r in ("linear", "sqrt", "fixed") if r in rows.index)
        + "."
    )
    lin = n["linear"]
    if lin is not None and int(lin["diverges_from"]) > 0:
        text += f" The linear rule diverges from B = {int(lin['diverges_from'])} on."
    pred_text, _ = _prediction_text(n)
    if pred_text:
        text += " " + pred_text
    cat = n["category"]
    if n["seeds"] and 2 * n["agree"] <= n["seeds"]:
        verdict = (
            f"{INCONCLUSIVE}: only {n['agree']} of {n['seeds']} seeds, each judged on its own "
            "curves, reach the verdict of the seed majority"
        )
    elif cat == SUPPORTED:
        verdict = SUPPORTED
    elif cat == HOLDS_ONLY:
        upto = n["upto"]["linear"]
        bs = b_simple_estimate(tables, "init")
        scale = ""
        if bs is not None:
            noise = approx(bs["estimate"], bs["ci_low"], bs["ci_high"])
            scale = f", about the gradient noise scale (B_simple ≈ {noise} at initialisation)"
        verdict = f"{HOLDS_ONLY} B <= {upto}{scale}; beyond, the rate must grow more slowly"
    else:
        verdict = REFUTED
    return verdict, text, n


def training_findings(tables: dict[str, pd.DataFrame], config: Any) -> list[Finding]:
    """The gradient-size reading in training: the summed loss at a fixed rate (the linear rule in
    disguise) diverges where the mean loss does not."""
    s, br = tables["training"], tables["training_breaks"]
    keys = set(zip(br["reduction"], br["lr_rule"]))
    if not {("sum", "fixed"), ("mean", "fixed")} <= keys:
        return []

    def brk(reduction: str, rule: str) -> pd.Series:
        return br[(br["reduction"] == reduction) & (br["lr_rule"] == rule)].iloc[0]

    largest = int(s["batch_size"].max())
    sf, mf = brk("sum", "fixed"), brk("mean", "fixed")
    at = s[(s["batch_size"] == largest) & (s["lr_rule"] == "fixed")].set_index("reduction")
    lr = float(s[s["lr_rule"] == "fixed"]["lr"].iloc[0])

    def diverges(row: pd.Series) -> str:
        d = int(row["diverges_from"])
        return "never diverges" if d < 0 else f"diverges from B = {d} on"

    return [
        Finding(
            "The gradient-size reading in training: with a fixed learning rate of "
            f"{number(lr)} (plain SGD, {config.train_epochs} epochs, {config.seeds} seeds), the "
            f"summed loss, whose gradient grows with B (lr·g_sum = lr·B·g_mean: the linear rule "
            f"in disguise), {diverges(sf)} and the mean loss {diverges(mf)}; at B = {largest} "
            f"the final loss is {_loss(at.loc['sum', 'final_loss'])} (sum, "
            f"{int(at.loc['sum', 'diverged_seeds'])}/{int(at.loc['sum', 'seeds'])} seeds "
            f"diverged) against {_loss(at.loc['mean', 'final_loss'])} (mean, "
            f"{int(at.loc['mean', 'diverged_seeds'])} diverged)."
        )
    ]


def findings(tables: dict[str, pd.DataFrame], config: Any) -> list[Finding]:
    """Every finding whose tables are present: the learning-rate claim, the noise scale, the
    gradient-size claim per phase, the noise fit per phase, then the training study's (an
    interrupted run may lack the training tables)."""
    out: list[Finding] = []
    training = {"training", "training_breaks", "training_members"} <= tables.keys()
    if training and "close" in tables["training_members"].columns:
        verdict, text, _ = lr_claim(tables, config)
        out.append(Finding(text, verdict=verdict, claim=CLAIM_LR))
    scale = noise_scale_finding(tables)
    if scale is not None:
        out.append(scale)
    if {"slopes", "fits", "noise"} <= tables.keys():
        phases = list(dict.fromkeys(tables["noise"]["phase"]))
        for phase in phases:
            verdict, text = claim_verdict(tables, phase, config.regime_factor)
            out.append(Finding(text, verdict=verdict, claim=CLAIM_GRADIENT))
        out += [Finding(noise_finding(tables, phase)) for phase in phases]
    if training:
        out += training_findings(tables, config)
    return out
