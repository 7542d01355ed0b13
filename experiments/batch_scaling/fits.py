"""Fits of `nnhw batch-scaling`, computed from its tables only (so `nnhw verify` and
`nnhw report` can reuse them on saved CSVs).

Tables read (written by experiments.batch_scaling.compute):
- `gradients`: phase, reduction, batch_size, minibatches, norm_mean, norm_std, sq_norm_mean,
  sq_norm_std (norm = |g_B| over all parameters, one sample per sampled minibatch).
- `noise`: per phase, n_samples N, grad_sq_norm |G|^2 and trace_sigma tr(Sigma) from the
  per-example gradients, b_simple_direct = tr(Sigma) / |G|^2.
- `noise_seeds`: the same per-example statistics for every seed's net, with the bootstrap spread
  of log B_simple over resamples of the examples (`b_simple_table` makes the CI of B_simple).
- `training_curves`, `training_members`: see experiments.batch_scaling.cells (`member_gaps`,
  `training_summary` and `training_breaks` judge where each learning-rate rule keeps the
  small-batch loss curve, per seed and by majority, with a continuous break point per seed).

The noise model (mean reduction, B examples drawn without replacement from N):
    E|g_B|^2 = |G|^2 + tr(Sigma) / B * (N - B) / (N - 1)
is linear in x_B = (N - B) / (B (N - 1)) (the "corrected" model; the factor (N - B)/(N - 1) is the
finite-population correction, which makes the noise vanish at B = N). The "uncorrected" model of
McCandlish et al. (2018) uses x_B = 1/B, right for B << N. `noise_fit` fits y = a + b x to the
per-B means by weighted least squares, each point weighted by the inverse of its squared standard
error (sq_norm_std^2 / minibatches, floored at (1e-9 y)^2: at B = N every minibatch is the whole
set, so that point is exact). Reported: a (read as |G|^2), b (read as tr(Sigma)), B_simple = b/a,
R^2 = 1 - SS_res / SS_tot of the fitted line against the per-B means (unweighted), and
chi2/dof = sum w r^2 / (n - 2) (about 1 when the model explains the means within their sampling
error).

Why the correction matters: x_B(corrected) = N/(N - 1) * 1/B - 1/(N - 1) is affine in 1/B, so
both models fit the very same curve (same R^2 and chi2). What differs is what the parameters mean:
read with the uncorrected model, the intercept is |G|^2 - tr(Sigma)/(N - 1) and the slope
tr(Sigma) N/(N - 1), so B_simple comes out too large by the factor N/(N - 1 - B_simple), and
the "|G|^2" turns negative once B_simple exceeds N - 1. The corrected model returns |G|^2 and
tr(Sigma) themselves, at every B up to N.

Slopes: the least-squares slope of log norm_mean against log B over a range of batch sizes. The
ranges are set by B_simple (direct): "small-B" B <= B_simple / f (noise dominates: slope about 1/2
for `sum`, -1/2 for `mean`), "large-B" B >= f * B_simple (the full gradient dominates: slope about
1 for `sum`, 0 for `mean`), and "all"; f = regime_factor (4 by default). `predicted_slope` is the
same fit applied to the noise model with the direct |G|^2 and tr(Sigma).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from nnhw.experiments.reporting.uncertainty import interval, t95

MODELS: tuple[str, ...] = ("corrected", "uncorrected")
RANGES: tuple[str, ...] = ("small-B", "large-B", "all")
VARIANCE_FLOOR = 1e-9  # relative standard error below which a point counts as exact
NAN = float("nan")


def regressor(batch_size: np.ndarray, n_samples: int, model: str = "corrected") -> np.ndarray:
    """x_B of the noise model: (N - B) / (B (N - 1)) corrected, 1 / B uncorrected."""
    B = np.asarray(batch_size, dtype=float)
    return (n_samples - B) / (B * (n_samples - 1)) if model == "corrected" else 1.0 / B


def _rows(gradients: pd.DataFrame, phase: str, reduction: str) -> pd.DataFrame:
    sel = gradients[(gradients["phase"] == phase) & (gradients["reduction"] == reduction)]
    return sel.sort_values("batch_size")


def _noise_row(noise: pd.DataFrame, phase: str) -> pd.Series:
    return noise[noise["phase"] == phase].iloc[0]


def noise_fit(
    gradients: pd.DataFrame, noise: pd.DataFrame, phase: str, model: str = "corrected"
) -> dict[str, float]:
    """Fit E|g_B|^2 = a + b x_B for the mean reduction of `phase` (see the module docstring)."""
    rows = _rows(gradients, phase, "mean")
    n = int(_noise_row(noise, phase)["n_samples"])
    y = rows["sq_norm_mean"].to_numpy(float)
    x = regressor(rows["batch_size"].to_numpy(), n, model)
    se2 = rows["sq_norm_std"].to_numpy(float) ** 2 / rows["minibatches"].to_numpy(float)
    se = np.sqrt(np.maximum(se2, (VARIANCE_FLOOR * y) ** 2))
    A = np.column_stack([np.ones_like(x), x])
    (a, b), *_ = np.linalg.lstsq(A / se[:, None], y / se, rcond=None)
    resid = y - (a + b * x)
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    dof = len(y) - 2
    chi2 = float(np.sum((resid / se) ** 2))
    return {
        "grad_sq_norm_fit": float(a),
        "trace_sigma_fit": float(b),
        "b_simple_fit": float(b / a) if a > 0 else NAN,
        "r2": 1.0 - float(np.sum(resid**2)) / ss_tot if ss_tot > 0 else NAN,
        "chi2_dof": chi2 / dof if dof > 0 else NAN,
        "points": len(y),
    }


def fits_table(gradients: pd.DataFrame, noise: pd.DataFrame) -> pd.DataFrame:
    """One row per phase x model: the fit, and B_simple from the fit beside the direct one."""
    out = []
    for phase in noise["phase"]:
        direct = float(_noise_row(noise, phase)["b_simple_direct"])
        for model in MODELS:
            f = noise_fit(gradients, noise, phase, model)
            out.append({"phase": phase, "model": model, **f, "b_simple_direct": direct,
                        "b_simple_ratio": f["b_simple_fit"] / direct})  # fmt: skip
    return pd.DataFrame(out)


def b_simple(tables: dict[str, pd.DataFrame], phase: str) -> tuple[float, float]:
    """(direct, fitted) B_simple of `phase`, the fit with the corrected model."""
    f = tables["fits"]
    row = f[(f["phase"] == phase) & (f["model"] == "corrected")].iloc[0]
    return float(row["b_simple_direct"]), float(row["b_simple_fit"])


def log_slope(batch_size: np.ndarray, values: np.ndarray) -> float:
    """Least-squares slope of log(values) against log(batch_size); NaN with < 2 points."""
    B, v = np.asarray(batch_size, float), np.asarray(values, float)
    ok = (v > 0) & np.isfinite(v)
    if ok.sum() < 2:
        return NAN
    return float(np.polyfit(np.log(B[ok]), np.log(v[ok]), 1)[0])


def range_mask(batch_size: np.ndarray, b_simple_value: float, which: str, factor: float
               ) -> np.ndarray:  # fmt: skip
    """Which batch sizes fall in range `which` ("small-B", "large-B" or "all")."""
    sizes = np.asarray(batch_size, float)
    if which == "small-B":
        return sizes <= b_simple_value / factor
    if which == "large-B":
        return sizes >= b_simple_value * factor
    return np.ones_like(sizes, dtype=bool)


def model_norm(batch_size: np.ndarray, n_samples: int, g2: float, trace: float, reduction: str
               ) -> np.ndarray:  # fmt: skip
    """sqrt(E|g_B|^2) from the corrected noise model; `sum` is B times `mean` (up to the loss's
    constant number of terms per example, which does not change a log-log slope)."""
    B = np.asarray(batch_size, float)
    sq = g2 + trace * regressor(B, n_samples)
    with np.errstate(invalid="ignore"):
        norm = np.sqrt(sq)
    return B * norm if reduction == "sum" else norm


def slopes_table(
    gradients: pd.DataFrame, noise: pd.DataFrame, regime_factor: float = 4.0
) -> pd.DataFrame:
    """One row per phase x reduction x range: the measured and the predicted log-log slope."""
    out = []
    for phase in noise["phase"]:
        nz = _noise_row(noise, phase)
        bs = float(nz["b_simple_direct"])
        for reduction in ("sum", "mean"):
            rows = _rows(gradients, phase, reduction)
            B = rows["batch_size"].to_numpy()
            for which in RANGES:
                m = range_mask(B, bs, which, regime_factor)
                pred = model_norm(B[m], int(nz["n_samples"]), float(nz["grad_sq_norm"]),
                                  float(nz["trace_sigma"]), reduction)  # fmt: skip
                out.append({
                    "phase": phase, "reduction": reduction, "range": which,
                    "b_min": int(B[m].min()) if m.any() else -1,
                    "b_max": int(B[m].max()) if m.any() else -1,
                    "sizes": int(m.sum()),
                    "slope": log_slope(B[m], rows["norm_mean"].to_numpy()[m]),
                    "predicted_slope": log_slope(B[m], pred),
                })  # fmt: skip
    return pd.DataFrame(out)


def slope(tables: dict[str, pd.DataFrame], phase: str, reduction: str, which: str) -> float:
    """The measured slope of one row of the `slopes` table (NaN when the range is empty)."""
    s = tables["slopes"]
    row = s[(s["phase"] == phase) & (s["reduction"] == reduction) & (s["range"] == which)]
    return float(row["slope"].iloc[0]) if len(row) else NAN


def seed_curves(curves: pd.DataFrame) -> pd.Series:
    """Loss per cell and epoch, averaged over seeds geometrically (the mean of ln loss, since
    losses differ by factors); inf where a seed's loss is not finite."""
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log(curves["train_loss"].to_numpy(float))
    logs = np.where(np.isfinite(logs), logs, np.inf)
    keys = ["batch_size", "reduction", "lr_rule", "epoch"]
    return np.exp(curves.assign(log_loss=logs).groupby(keys)["log_loss"].mean())


CELL = ["batch_size", "reduction", "lr_rule"]
REFERENCE = ("mean", "fixed")  # the reference arm, at the smallest batch size


def member_gaps(curves: pd.DataFrame, members: pd.DataFrame, curve_factor: float = 1.5
                ) -> pd.DataFrame:  # fmt: skip
    """`members` (one row per cell x seed) with each seed's curve_gap and close.

    curve_gap: the mean over epochs 1..T of |ln(L_s(t) / L_ref,s(t))|, L_s the seed's loss per
    epoch and L_ref,s the same seed's in the reference cell (mean reduction, fixed rule, smallest
    batch size; the same initial weights and data orders, so the two curves differ only by the
    batch size and the rate): exp(curve_gap) is the typical factor between them. An average over
    epochs, not a maximum, because single-epoch SGD loss spikes are noise. inf when the seed
    stopped early or has a non-finite loss; NaN without a reference cell. close: not diverged and
    curve_gap <= ln(curve_factor).
    """
    b_ref = int(members["batch_size"].min())
    c = curves[curves["epoch"] >= 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log(c["train_loss"].to_numpy(float))
    c = c.assign(log_loss=np.where(np.isfinite(logs), logs, np.nan))
    ref = c[(c["batch_size"] == b_ref) & (c["reduction"] == REFERENCE[0])
            & (c["lr_rule"] == REFERENCE[1])].set_index(["seed", "epoch"])["log_loss"]  # fmt: skip
    out = members.copy()
    if ref.empty:
        out["curve_gap"], out["close"] = NAN, False
        return out
    epochs = ref.index.get_level_values("epoch").unique()
    mine = c.set_index([*CELL, "seed", "epoch"])["log_loss"].sort_index()
    gaps = []
    for row in members.itertuples(index=False):
        key = (row.batch_size, row.reduction, row.lr_rule, row.seed)
        try:
            own = mine.loc[key].reindex(epochs).to_numpy(float)
            base = ref.loc[row.seed].reindex(epochs).to_numpy(float)
        except KeyError:
            gaps.append(NAN)
            continue
        diff = np.abs(own - base)
        gaps.append(float(diff.mean()) if np.isfinite(diff).all() else math.inf)
    out["curve_gap"] = gaps
    out["close"] = ~out["diverged"].astype(bool) & (out["curve_gap"] <= math.log(curve_factor))
    return out


def training_summary(
    curves: pd.DataFrame, members: pd.DataFrame, curve_factor: float = 1.5
) -> pd.DataFrame:
    """One row per cell (batch size x reduction x lr rule) of the training study.

    diverged: more than half of the seeds diverged (experiments.batch_scaling.cells' criterion).
    curve_gap: the median over seeds of each seed's curve gap to its own reference curve
    (`member_gaps`), curve_gap_low / curve_gap_high the smallest and largest; seeds_close: the
    seeds whose own curve is close; close: more than half of them are (so, with an odd number of
    seeds, curve_gap <= ln(curve_factor) and no majority diverged).
    """
    gaps = member_gaps(curves, members, curve_factor)
    out = []
    for key, grp in gaps.groupby(CELL, sort=True):
        n_div = int(grp["diverged"].sum())
        first = grp.loc[grp["nonfinite_epoch"] >= 0, "nonfinite_epoch"]
        with np.errstate(invalid="ignore", over="ignore"):
            final = float(grp["final_loss"].mean())
        g = grp["curve_gap"].to_numpy(float)
        n_close = int(grp["close"].sum())
        out.append({
            **dict(zip(CELL, key)), "lr": float(grp["lr"].iloc[0]),
            "warmup_epochs": float(grp["warmup_epochs"].iloc[0])
            if "warmup_epochs" in grp else 0.0,
            "steps_per_epoch": int(grp["steps_per_epoch"].iloc[0]), "seeds": len(grp),
            "diverged_seeds": n_div, "diverged": 2 * n_div > len(grp),
            "first_nonfinite_epoch": int(first.min()) if len(first) else -1,
            "final_loss": final,
            "curve_gap": float(np.median(g)) if len(g) and not np.isnan(g).all() else NAN,
            "curve_gap_low": float(np.min(g)) if len(g) else NAN,
            "curve_gap_high": float(np.max(g)) if len(g) else NAN,
            "seeds_close": n_close, "close": 2 * n_close > len(grp),
        })  # fmt: skip
    return pd.DataFrame(out)


def _close_up_to(sizes: np.ndarray, close: np.ndarray) -> tuple[int, int]:
    """(close_up_to, breaks_at): the largest B such that every size up to B is close (-1: not
    even the smallest), the first size that is not (-1: none)."""
    not_close = sizes[~close]
    breaks = int(not_close.min()) if len(not_close) else -1
    upto = sizes[sizes < breaks] if breaks > 0 else sizes
    return (int(upto.max()) if len(upto) else -1), breaks


def crossing(sizes: np.ndarray, gaps: np.ndarray, close: np.ndarray, tolerance: float) -> float:
    """Where one seed's curve gap first crosses `tolerance` (= ln curve_factor), interpolated on
    log B between the last close size and the first one that is not: a continuous break point.
    The geometric midpoint when the gap there is not finite (diverged); NaN when every size is
    close (the break lies beyond the sizes tried) or the first is not."""
    bad = np.flatnonzero(~close)
    if len(bad) == 0 or bad[0] == 0:
        return NAN
    k = int(bad[0])
    b0, b1, g0, g1 = float(sizes[k - 1]), float(sizes[k]), float(gaps[k - 1]), float(gaps[k])
    if not math.isfinite(g1) or g1 <= g0 or g1 <= tolerance:
        return math.sqrt(b0 * b1)
    frac = min(1.0, max(0.0, (tolerance - g0) / (g1 - g0)))
    return math.exp(math.log(b0) + frac * (math.log(b1) - math.log(b0)))


def training_breaks(gaps: pd.DataFrame, curve_factor: float = 1.5) -> pd.DataFrame:
    """Per reduction x lr rule, from `member_gaps`' per-seed rows: where it breaks.

    diverges_from: the smallest batch size whose cell diverged (more than half of its seeds; -1:
    none). close_up_to / breaks_at: the largest batch size B such that every cell up to B is
    close (a majority of its seeds; -1: not even the smallest), and the first that is not (-1:
    none). seeds_agree: the seeds whose own curve gives the same close_up_to; seed_close_low /
    seed_close_high: the smallest and largest of the seeds' own. close_up_to_tight /
    close_up_to_loose: close_up_to with the tolerance ln(curve_factor) moved by -25% / +25%.
    break_estimate, break_low, break_high: the geometric mean over seeds of each seed's
    `crossing` and its 95% t interval (reporting.uncertainty.interval on the logs), over the
    break_seeds seeds whose curve breaks within the sizes tried (NaN: none does).
    """
    tol = math.log(curve_factor)
    out = []
    for (reduction, rule), grp in gaps.groupby(["reduction", "lr_rule"], sort=True):
        g = grp.sort_values(["seed", "batch_size"])
        sizes = np.sort(g["batch_size"].unique())
        n = g.groupby("batch_size")["seed"].count().reindex(sizes).to_numpy()
        div = sizes[2 * g.groupby("batch_size")["diverged"].sum().reindex(sizes).to_numpy() > n]

        def majority(t: float, g: pd.DataFrame = g, sizes: np.ndarray = sizes) -> np.ndarray:
            """Cells where more than half of the seeds are close at tolerance t."""
            ok = ~g["diverged"].astype(bool) & (g["curve_gap"] <= t)
            k = ok.groupby(g["batch_size"]).sum().reindex(sizes).to_numpy()
            total = g.groupby("batch_size")["seed"].count().reindex(sizes).to_numpy()
            return 2 * k > total

        upto, breaks = _close_up_to(sizes, majority(tol))
        own, cross = [], []
        for _, sg in g.groupby("seed"):
            sg = sg.set_index("batch_size").reindex(sizes)
            ok = sg["close"].fillna(False).to_numpy(bool)
            own.append(_close_up_to(sizes, ok)[0])
            cross.append(crossing(sizes, sg["curve_gap"].to_numpy(float), ok, tol))
        est = interval(cross, log=True)
        out.append({
            "reduction": reduction, "lr_rule": rule,
            "diverges_from": int(div.min()) if len(div) else -1,
            "close_up_to": upto, "breaks_at": breaks, "largest_batch": int(sizes.max()),
            "seeds": len(own), "seeds_agree": int(sum(o == upto for o in own)),
            "seed_close_low": int(min(own)), "seed_close_high": int(max(own)),
            "close_up_to_tight": _close_up_to(sizes, majority(0.75 * tol))[0],
            "close_up_to_loose": _close_up_to(sizes, majority(1.25 * tol))[0],
            "break_estimate": est.value, "break_low": est.low, "break_high": est.high,
            "break_seeds": est.n,
        })  # fmt: skip
    return pd.DataFrame(out)


def b_simple_table(noise_seeds: pd.DataFrame) -> pd.DataFrame:
    """One row per phase: B_simple over the seeds' nets with its 95% confidence interval.

    estimate: the geometric mean over seeds of B_simple (direct, per-example gradients). The
    interval on the log scale: t_{0.975, S-1} * sqrt(s^2 / S + d^2), s the standard deviation of
    log B_simple over the S seeds (the nets' initialisation) and d the root mean square of the
    seeds' bootstrap standard deviations (resampling the examples: the data set drawn, which all
    seeds share, so its part does not shrink with S); with one seed, 1.96 d. seed_min, seed_max:
    the seeds' own values.
    """
    out = []
    for phase, grp in noise_seeds.groupby("phase", sort=False):
        v = grp["b_simple_direct"].to_numpy(float)
        ok = np.isfinite(v) & (v > 0)
        logs = np.log(v[ok])
        S = len(logs)
        d2 = float(np.nanmean(grp["log_b_simple_sd"].to_numpy(float)[ok] ** 2)) if S else NAN
        if S == 0:
            est, half = NAN, NAN
        else:
            est = float(np.exp(logs.mean()))
            s2 = float(logs.var(ddof=1)) if S > 1 else 0.0
            q = t95(S - 1) if S > 1 else 1.96
            half = q * math.sqrt(s2 / S + (d2 if math.isfinite(d2) else 0.0))
        out.append({
            "phase": phase, "seeds": S, "estimate": est,
            "ci_low": est * math.exp(-half) if S else NAN,
            "ci_high": est * math.exp(half) if S else NAN,
            "seed_min": float(v[ok].min()) if S else NAN,
            "seed_max": float(v[ok].max()) if S else NAN,
            "seed_sd_log": float(logs.std(ddof=1)) if S > 1 else NAN,
            "data_sd_log": math.sqrt(d2) if math.isfinite(d2) else NAN,
        })  # fmt: skip
    return pd.DataFrame(out)


def predicted_break(b_noise: float, b_ref: int, factor: float = 2.0) -> float:
    """The batch size at which McCandlish et al.'s (2018) model puts the linear rule's break: the
    B where (B + B_noise) / (b_ref + B_noise) reaches `factor` (2), i.e.
    B* = factor * b_ref + (factor - 1) * B_noise (see batch_scaling.findings.lr_claim)."""
    return factor * b_ref + (factor - 1) * b_noise


def claim_numbers(tables: dict[str, pd.DataFrame], phase: str = "init") -> dict[str, Any]:
    """The numbers behind the course's claim 1.4(f) ("the gradient increases proportionally with
    batch size") for `phase`: slopes of |g| against B per reduction and range, both B_simple
    estimates, the fit's R^2, and the batch-size range of each slope."""
    s = tables["slopes"]
    out: dict[str, Any] = {"phase": phase}
    for reduction in ("sum", "mean"):
        for which in RANGES:
            row = s[(s["phase"] == phase) & (s["reduction"] == reduction) & (s["range"] == which)]
            r = row.iloc[0]
            tag = f"{reduction}_{which.replace('-B', '')}"
            out[f"slope_{tag}"] = float(r["slope"])
            out[f"predicted_{tag}"] = float(r["predicted_slope"])
            out[f"range_{tag}"] = (int(r["b_min"]), int(r["b_max"]))
    direct, fitted = b_simple(tables, phase)
    f = tables["fits"]
    fit = f[(f["phase"] == phase) & (f["model"] == "corrected")].iloc[0]
    out.update(b_simple_direct=direct, b_simple_fit=fitted, r2=float(fit["r2"]))
    return out
