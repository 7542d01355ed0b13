"""Fits of `nnhw batch-scaling`, computed from its tables only (so `nnhw verify` and
`nnhw report` can reuse them on saved CSVs).

Tables read (written by experiments.batch_scaling.compute):
- `gradients`: phase, reduction, batch_size, minibatches, norm_mean, norm_std, sq_norm_mean,
  sq_norm_std (norm = |g_B| over all parameters, one sample per sampled minibatch).
- `noise`: per phase, n_samples N, grad_sq_norm |G|^2 and trace_sigma tr(Sigma) from the
  per-example gradients, b_simple_direct = tr(Sigma) / |G|^2.
- `training_curves`, `training_members`: see experiments.batch_scaling.cells.

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


def training_summary(
    curves: pd.DataFrame, members: pd.DataFrame, curve_factor: float = 1.5
) -> pd.DataFrame:
    """One row per cell (batch size x reduction x lr rule) of the training study.

    diverged: more than half of the seeds diverged (experiments.batch_scaling.cells' criterion).
    curve_gap: the mean over epochs 1..T of |ln(L(t) / L_ref(t))|, L the seed-averaged loss
    (`seed_curves`) and L_ref that of the reference cell (mean reduction, fixed rule, smallest
    batch size): exp(curve_gap) is the typical factor between the two curves. An average, not a
    maximum, because single-epoch SGD loss spikes are noise. inf when the cell stopped early or has
    a non-finite loss; NaN without a reference cell. close: not diverged and
    curve_gap <= ln(curve_factor).
    """
    keys = ["batch_size", "reduction", "lr_rule"]
    mean_curve = seed_curves(curves)
    b_ref = int(members["batch_size"].min())
    ref_key = (b_ref, "mean", "fixed")
    ref = mean_curve.loc[ref_key] if ref_key in mean_curve.index.droplevel(3) else None
    if ref is not None:
        ref = ref[ref.index >= 1]
    out = []
    for key, grp in members.groupby(keys, sort=True):
        gap = NAN
        if ref is not None:
            curve = mean_curve.loc[key]
            both = curve[curve.index >= 1].reindex(ref.index).to_numpy(float)
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                gaps = np.abs(np.log(both / ref.to_numpy(float)))
            gaps = np.where(np.isfinite(gaps), gaps, np.inf)
            gap = float(gaps.mean()) if len(gaps) else 0.0
        n_div = int(grp["diverged"].sum())
        diverged = 2 * n_div > len(grp)
        first = grp.loc[grp["nonfinite_epoch"] >= 0, "nonfinite_epoch"]
        with np.errstate(invalid="ignore", over="ignore"):
            final = float(grp["final_loss"].mean())
        out.append({
            **dict(zip(keys, key)), "lr": float(grp["lr"].iloc[0]),
            "steps_per_epoch": int(grp["steps_per_epoch"].iloc[0]), "seeds": len(grp),
            "diverged_seeds": n_div, "diverged": diverged,
            "first_nonfinite_epoch": int(first.min()) if len(first) else -1,
            "final_loss": final, "curve_gap": gap,
            "close": (not diverged) and gap <= math.log(curve_factor),
        })  # fmt: skip
    return pd.DataFrame(out)


def training_breaks(summary: pd.DataFrame) -> pd.DataFrame:
    """Per reduction x lr rule: where it breaks.

    diverges_from: the smallest batch size whose cell diverged (-1: none). close_up_to: the largest
    batch size B such that every cell up to B is close to the reference (-1: not even the
    smallest). breaks_at: the first batch size that is not close (-1: none).
    """
    out = []
    for (reduction, rule), grp in summary.groupby(["reduction", "lr_rule"], sort=True):
        g = grp.sort_values("batch_size")
        sizes = g["batch_size"].to_numpy()
        div = sizes[g["diverged"].to_numpy(bool)]
        not_close = sizes[~g["close"].to_numpy(bool)]
        breaks = int(not_close.min()) if len(not_close) else -1
        upto = sizes[sizes < breaks] if breaks > 0 else sizes
        out.append({
            "reduction": reduction, "lr_rule": rule,
            "diverges_from": int(div.min()) if len(div) else -1,
            "close_up_to": int(upto.max()) if len(upto) else -1,
            "breaks_at": breaks, "largest_batch": int(sizes.max()),
        })  # fmt: skip
    return pd.DataFrame(out)


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
