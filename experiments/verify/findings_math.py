"""Verdicts on softmax (1.4(a), 1.4(b)) and on linear maps (1.4(e)), from the tables of
verify.softmax_checks and verify.maps alone.

Contract: each judge takes (tables, command) and returns a Claim; a KeyError when its tables are
absent. These claims are exact checks (a property holds in every row, seed and dtype, or to
rounding), so their uncertainty is the count of seeds that agree, the worst value, and, for
shares of rows, the Wilson 95% interval.

- softmax-argmax (1.4(a)): in exact arithmetic the largest probability is at the largest logit in
  every row at every temperature, the distance to the one-hot argmax falls monotonically as T
  falls and stays within 2 (K - 1) exp(-gap / T) (so it tends to 0; how close the smallest T
  gets depends on the draw's top-two gap and does not decide), and T logsumexp(z / T) lies
  within [max z, max z + T log K] -> supported. Float rounding is reported apart and does not
  decide.
- softmax-underflow (1.4(b)): the naive softmax breaks (NaN) where the row's logsumexp passes
  log(finfo.max); the max-shifted one returns exact zeros past the gap -log(smallest subnormal
  / 2), and every such zero is the exact probability rounded to the dtype; the cross-entropy of
  a label on one is inf from log p and finite (and accurate) from log-softmax -> "holds only when
  a log of the probabilities follows".
- linear-maps, translation-affine, composition, layer-svd (1.4(e)): superposition to rounding
  (LINEAR_TOL) for rotation, reflection, scaling, shear and projection; not for translation,
  whose part x -> T(x) - T(0) is linear (affine); a composition of linear maps is linear; a
  trained square layer is U S V^T with U, V orthogonal to rounding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd

from nnhw.experiments.reporting.numbers import number
from nnhw.experiments.reporting.uncertainty import share_interval
from nnhw.experiments.verify.claims import HOLDS_ONLY, REFUTED, SUPPORTED, Claim, within_tolerance
from nnhw.experiments.verify.maps import LINEAR_MAPS
from nnhw.experiments.verify.softmax_checks import CLASSES, DTYPES, ROWS

Tables = dict[str, pd.DataFrame]
ONEHOT_TOL = 1e-6
LINEAR_TOL = 1e-12
CE_ULPS = 16  # log-softmax's cross-entropy within this many eps of the exact value


def softmax_argmax(tables: Tables, command: str) -> Claim:
    t = tables["argmax_table"].sort_values(["seed", "temperature"], ascending=[True, False])
    seeds = int(t["seed"].nunique())
    rows = len(t) * ROWS
    agreeing = round(float((t["exact_agreement"] * ROWS).sum()))
    lo, _ = share_interval(agreeing, rows)
    monotone = t.groupby("seed")["exact_onehot_distance"].apply(
        lambda d: bool(np.all(np.diff(d.to_numpy()) <= 1e-15))
    )
    coldest = t[t["temperature"] == t["temperature"].min()]
    smallest = float(coldest["exact_onehot_distance"].max())
    lse_ok = bool(((t["lse_gap"] >= -1e-12) & (t["lse_gap"] <= t["lse_bound"] + 1e-12)).all())
    per_seed_ok = (
        t.groupby("seed").apply(
            lambda g: bool((g["exact_agreement"] == 1).all()), include_groups=False
        )
        & monotone
    )
    bound_ok = bool(t["bound_ok"].astype(bool).all())
    # not "smallest < ONEHOT_TOL": how close the sweep's smallest T gets depends on the draw's
    # top-two gap (a gap of 1e-5 needs T below 1e-6); the bound holds for every draw
    ok = agreeing == rows and bool(monotone.all()) and bound_ok and lse_ok
    below = t.groupby("temperature")["exact_onehot_distance"].max()
    t_onehot = (
        float(below[below < ONEHOT_TOL].index.max()) if (below < ONEHOT_TOL).any() else np.nan
    )
    rounding = "; ".join(
        f"{d} {number(100 * float(t[f'{d}_disagree'].max()))}% of rows pick a smaller logit, "
        f"{number(100 * float(t[f'{d}_tied'].max()))}% have the top two tied"
        for d in DTYPES
    )
    numbers = (
        f"In exact arithmetic (50-digit reference), the largest probability is at the largest "
        f"logit in {agreeing} of {rows} rows ({seeds} seeds x {len(t) // seeds} temperatures x "
        f"{ROWS} rows of {CLASSES} logits; Wilson 95% lower bound {number(100 * lo)}%). As T "
        f"falls from {number(float(t['temperature'].max()))} to "
        f"{number(float(t['temperature'].min()))} the distance to the one-hot argmax, 2(1 - "
        f"p_max), falls {'monotonically ' if monotone.all() else ''}to {number(smallest)} "
        f"(below {number(ONEHOT_TOL)} from T = {number(t_onehot)}; the smallest top-two logit gap "
        f"was {number(float(t['top_gap'].min()))}), within 2(K - 1) exp(-gap / T) "
        f"{'at every point' if bound_ok else 'not everywhere'}, and T logsumexp(z/T) - max z "
        f"stays within [0, T log K] ({'every' if lse_ok else 'not every'} point). Float "
        f"rounding, apart (the max-shifted softmax on rounded logits, worst point): {rounding}"
    )
    claim = Claim(
        "softmax-argmax", "1.4(a)",
        "Softmax is a smooth approximation of argmax (it returns the index of the maximum)",
        "the exact softmax of random logits z / T as the temperature T falls: where its "
        "largest probability is, its distance to the one-hot argmax, and the smooth max "
        "T logsumexp(z / T); float rounding measured apart",
        numbers, SUPPORTED if ok else REFUTED, SUPPORTED, "tables/argmax_table.csv",
        theory="softmax(z/T) is the gradient of the smooth max T logsumexp(z/T), which lies "
        f"within [max z, max z + T log K] (T log K = {number(np.log(CLASSES))} T for K = "
        f"{CLASSES}): logsumexp is the smooth max, softmax the smooth one-hot argmax; it is "
        "strictly increasing in each logit, so it keeps the argmax exactly",
        command=command,
    )  # fmt: skip
    return replace(claim, seeds=seeds, agree=int(per_seed_ok.sum()),
                   deciding="share of rows whose exact softmax peaks at the largest logit",
                   value=agreeing / rows, ci_low=lo, ci_high=1.0, cutoff="= 1 (every row)",
                   cutoff_moved="exact (no cut-off to move)")  # fmt: skip


def softmax_underflow(tables: Tables, command: str) -> Claim:
    w = tables["wording_table"]
    eps = w["dtype"].map(lambda d: float(np.finfo(d).eps))
    over_ok = (w["overflow_critical"] - w["overflow_theory"]).abs() <= w["overflow_tolerance"]
    zero_ok = (w["zero_gap"] - w["zero_gap_theory"]).abs() <= w["zero_gap_tolerance"]
    ce_inf = np.isinf(w["ce_log_of_p"])
    ce_ok = ((w["ce_log_softmax"] - w["ce_exact"]).abs() <= CE_ULPS * eps * w["ce_exact"]).astype(
        bool
    )
    checks = over_ok & zero_ok & w["zeros_correctly_rounded"].astype(bool) & ce_inf & ce_ok
    per_seed = checks.groupby(w["seed"]).all()
    theory = w.groupby("dtype", sort=False)[["overflow_theory", "zero_gap_theory"]].first()
    med = w.groupby("dtype", sort=False)[
        ["overflow_critical", "zero_gap", "zero_fraction"]
    ].median()
    th, md = theory.to_dict("index"), med.to_dict("index")
    parts = "; ".join(
        f"{d}: NaN from a logsumexp of {number(md[d]['overflow_critical'], 6)} (log(finfo.max) = "
        f"{number(th[d]['overflow_theory'], 6)}), zeros from a gap of "
        f"{number(md[d]['zero_gap'], 6)} (theory {number(th[d]['zero_gap_theory'], 6)})"
        for d in theory.index
    )
    ok = bool(per_seed.all())
    numbers = (
        f"With one outlier logit among N(0, 1) logits, median over seeds: {parts}. Past the gap, "
        f"{number(float(w['zero_fraction'].median()))} of the max-shifted outputs are exact "
        f"zeros, every one the exact probability rounded to the dtype "
        f"({int(w['zeros_correctly_rounded'].sum())} of {len(w)} seed x dtype points); a label "
        f"on one gets a cross-entropy of inf from log p ({int(ce_inf.sum())} of {len(w)}) and a "
        f"finite one from log-softmax, within {CE_ULPS} eps of the exact value "
        f"({int(ce_ok.sum())} of {len(w)})"
    )
    verdict = (
        f"{HOLDS_ONLY} a log of the probabilities follows: the zeros an outlier causes are the "
        "correctly rounded answer; what breaks the naive softmax is overflow to inf/NaN"
        if ok
        else REFUTED
    )
    claim = Claim(
        "softmax-underflow", "1.4(b)",
        "Softmax is unstable when there are outliers: small values underflow and are observed "
        "as 0",
        "with the softmax-stability study's cases and bisection, per seed and dtype: where the "
        "naive softmax breaks, where the max-shifted one returns zeros and whether they are "
        "correctly rounded, and the cross-entropy of a label on a zero",
        numbers, verdict, HOLDS_ONLY, "tables/wording_table.csv",
        theory="exp overflows past log(finfo.max): "
        + ", ".join(f"{d} {number(theory.loc[d, 'overflow_theory'], 5)}" for d in theory.index)
        + "; exp(x_i - max x) rounds to 0 past -log(smallest subnormal / 2): "
        + ", ".join(f"{d} {number(theory.loc[d, 'zero_gap_theory'], 5)}" for d in theory.index)
        + "; log 0 = -inf",
        command=command,
    )  # fmt: skip
    return replace(claim, seeds=int(w["seed"].nunique()), agree=int(per_seed.sum()),
                   deciding="seeds where every check holds in every dtype",
                   value=float(per_seed.mean()), cutoff="every check (exact, or within the "
                   "dtype's spacing)", cutoff_moved="exact (no cut-off to move)")  # fmt: skip


def _maps(tables: Tables) -> pd.DataFrame:
    return tables["linear_maps"]


def linear_maps(tables: Tables, command: str) -> Claim:
    m = _maps(tables)
    lin = m[m["map"].isin([k for k in LINEAR_MAPS if k != "composition"])]
    per_seed = lin.groupby("seed")["superposition_residual"].max().tolist()
    props = m.groupby("map")[["det", "orthogonal_error", "idempotent_error"]].agg(
        lambda v: v.abs().max()
    )
    worst = lin.groupby("map")["superposition_residual"].max()
    orth = max(
        props.loc["rotation", "orthogonal_error"], props.loc["reflection", "orthogonal_error"]
    )
    numbers = (
        "largest superposition residual |T(a u + b v) - a T(u) - b T(v)| (relative) over "
        f"{m['seed'].nunique()} seeds: "
        + ", ".join(f"{k} {number(float(worst[k]))}" for k in worst.index)
        + f". What tells them apart: rotation and reflection are orthogonal (|M^T M - I| <= "
        f"{number(orth)}) with det +1 and -1; projection is idempotent (|M^2 - M| <= "
        f"{number(props.loc['projection', 'idempotent_error'])}); shear has det 1 and is not "
        "orthogonal; scaling is diagonal"
    )  # fmt: skip
    claim = Claim(
        "linear-maps", "1.4(e)",
        "Rotation, shear (skewing), projection and scaling are linear transformations "
        "(reflection too)",
        "random instances of each map on the plane, on random pairs of vectors and scalars: "
        "superposition, and the property that names each map",
        numbers, SUPPORTED if max(per_seed) <= LINEAR_TOL else REFUTED, SUPPORTED,
        "tables/linear_maps.csv",
        theory="T is linear when T(a u + b v) = a T(u) + b T(v); then T(x) = M x with columns "
        "T(e1), T(e2); rotation M^T M = I, det 1; reflection M^T M = I, det -1; projection "
        "M^2 = M",
        command=command,
    )  # fmt: skip
    return within_tolerance(claim, per_seed, LINEAR_TOL, "largest superposition residual",
                            number)  # fmt: skip


def translation_affine(tables: Tables, command: str) -> Claim:
    m = _maps(tables)
    tr = m[m["map"] == "translation"]
    smallest = float(tr["superposition_residual"].min())
    affine = tr["affine_residual"].tolist()
    ok = smallest > 1e3 * LINEAR_TOL and max(affine) <= LINEAR_TOL
    claim = Claim(
        "translation-affine", "1.4(e)",
        "Translation is not a linear map but an affine one (a linear map plus a constant)",
        "superposition for x -> x + t, and for its part x -> T(x) - T(0)",
        f"superposition residual of a translation at least {number(smallest)} (relative) and "
        f"T(0) = t at least {number(float(tr['zero_image'].min()))} from 0; x -> T(x) - T(0) "
        f"has residual {number(max(affine))} at worst: linear, so the translation is affine",
        SUPPORTED if ok else REFUTED, SUPPORTED, "tables/linear_maps.csv",
        theory="T(a u + b v) = a u + b v + t but a T(u) + b T(v) = a u + b v + (a + b) t: equal "
        "only when (a + b - 1) t = 0; a linear layer W x + b is affine in the same way",
        command=command,
    )  # fmt: skip
    return within_tolerance(claim, affine, LINEAR_TOL, "largest residual of x -> T(x) - T(0)",
                            number)  # fmt: skip


def composition(tables: Tables, command: str) -> Claim:
    m = _maps(tables)
    c = m[m["map"] == "composition"]
    per_seed = c["superposition_residual"].tolist()
    collapse = tables.get("linear_collapse")
    link = ""
    if collapse is not None:
        alg = collapse[collapse["check"] == "algebraic"]["rel_distance"]
        link = (
            f"; the Linear-identity-Linear net of 1.4(c) equals its one composed affine map to "
            f"{number(float(alg.max()))}"
        )
    claim = Claim(
        "composition", "1.4(e)",
        "The composition of linear maps is linear (why two linear layers are one, 1.4(c))",
        "superposition for A(B x) with random A, B",
        f"superposition residual of A(B x) {number(max(per_seed))} at worst{link}",
        SUPPORTED if max(per_seed) <= LINEAR_TOL else REFUTED, SUPPORTED,
        "tables/linear_maps.csv",
        theory="A(B(a u + b v)) = a A B u + b A B v: the composition is the linear map A B",
        command=command,
    )  # fmt: skip
    return within_tolerance(claim, per_seed, LINEAR_TOL, "largest superposition residual",
                            number)  # fmt: skip


def layer_svd(tables: Tables, command: str) -> Claim:
    s = tables["layer_svd"]
    per_seed = (
        s[["reconstruction_error", "u_orthogonal_error", "v_orthogonal_error"]].max(axis=1).tolist()
    )
    reflections = int((s["det_u_det_v"] < 0).sum())
    orth = float(s[["u_orthogonal_error", "v_orthogonal_error"]].max().max())
    claim = Claim(
        "layer-svd", "1.4(e)",
        "A layer's weight matrix combines these maps: a rotation, a scaling and a rotation",
        f"the SVD W = U S V^T of trained {s['shape'].iloc[0]} weight matrices (the second layer "
        "of the deeper ReLU nets of 1.3(b))",
        f"|W - U S V^T| / |W| at most {number(float(s['reconstruction_error'].max()))}; U and V "
        f"orthogonal to {number(orth)} (rotations, with a reflection in {reflections} of "
        f"{len(s)} nets: det(U) det(V) = -1); "
        f"S scales the axes by factors spread {number(float(s['singular_spread'].median()))}x "
        "(largest over smallest, median)",
        SUPPORTED if max(per_seed) <= LINEAR_TOL else REFUTED, SUPPORTED,
        "tables/layer_svd.csv",
        theory="every real matrix is U S V^T: V^T rotates (or reflects) the input, S scales "
        "each axis (and projects when a singular value is 0), U rotates into the output",
        command=command,
    )  # fmt: skip
    return within_tolerance(claim, per_seed, LINEAR_TOL, "largest SVD residual", number)


MATH_CLAIMS: list[Callable[[Tables, str], Claim]] = [
    softmax_argmax, softmax_underflow, linear_maps, translation_affine, composition, layer_svd,
]  # fmt: skip
