"""Derived tables of `nnhw compare-activations`: timing, the test points, and the summaries.

- points: the test set in original units, for the plots (x1[, x2], label or y).
- timing: forward-plus-backward time of each activation at each depth, two scopes, on the same
  arrays, measured with experiments.timing (interleaved rounds after a warm-up, the fastest of a
  few calls per measurement, the paired per-round ratio to the baseline with its 95% CI and the
  cost test): "activation" = a = f(z); dz = g * f'(z, a) on one array z (seeds x training points x
  widest hidden layer, the training points cut so that it holds at most ACTIVATION_ELEMENTS =
  65,536 values; drawn once: the same work at every depth, so it is timed once per activation
  and its row repeated at each depth) and one upstream gradient g, in NumPy (nnhw's
  activations) and, when PyTorch is installed, in PyTorch (its kernels, one thread; library
  "torch"), so a difference can be told to belong to the function or to the library; "net" =
  forward, loss gradient and backward of the study's whole net at that depth (NumPy; all seeds
  as one ensemble, the same initial weights for every activation) on the whole training set. All
  (activation, depth, scope, library) jobs take turns in each of the --timing-repeats rounds, so
  drift hits all alike. Serial on purpose (time under a parallel sweep's load is noise). Columns:
  activation, depth, scope, library, elements, repeats (rounds), calls (per measurement),
  median_s, q1_s, q3_s (seconds per call over the rounds), baseline (relu when measured, else the
  first activation), ratio (median of the per-round ratio to the baseline's time at the same
  depth, scope and library), ratio_q1, ratio_q3, ratio_lo, ratio_hi (its 95% CI; NaN with fewer
  than 6 rounds), rounds_above / rounds_below (rounds whose own ratio is above the margin / below
  its inverse), test (experiments.timing.cost_test: costs more, costs less, within the margin,
  inconclusive; "baseline" on the baseline's rows) and margin. Wall-clock time is a measurement
  of this machine, never an assertion.
- layer_summary: one row per activation x depth x weight layer: grad_norm_init / signal_norm_init
  (geometric mean over seeds at epoch 0), grad_norm_train (geometric mean over seeds and every
  recorded epoch), and for hidden layers dead_fraction, saturated_fraction, act_mean (final epoch,
  mean over seeds), act_min, act_max (over every epoch and seed).
- summary: one row per activation x depth: seeds, depth, diverged (seeds whose loss became
  non-finite); final_train_loss, final_test_loss, test_<metric> (final epoch; mean and _std over the
  seeds that did not diverge, std with ddof 0); target_loss, reached (seeds whose training loss fell
  to the target), epochs_to_target (first such epoch, mean and _std over the seeds that reached it);
  grad_ratio_init and grad_ratio (||dL/dW_1|| / ||dL/dW_{L+1}||, geometric mean over seeds at epoch
  0, and over seeds and epochs); dead_fraction (final, mean over seeds and hidden layers),
  dead_fraction_peak (max over epochs, seeds, layers); saturated_fraction (final, mean); act_mean
  (final), act_min, act_max (over everything); time_ratio and time_ratio_net (timing's ratios).

Runs written before the depth axis have no `depth` column in their per-cell tables:
`ensure_depth` adds it (one depth per activation, read off the layers), so `nnhw report` rebuilds
them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from nnhw.core.losses import get_loss
from nnhw.experiments import timing as tm
from nnhw.experiments.compare_activations.cells import build_model, config_data
from nnhw.experiments.compare_activations.config import Config
from nnhw.experiments.compare_activations.depth import ensure_depth

TABLE_ORDER = (
    "points",
    "history",
    "layers",
    "decision_grid",
    "fit_curve",
    "linear_baseline",
    "timing",
    "layer_summary",
    "summary",
)
_TIMING_TAG = 0x71E  # the timing nets' initial weights: one stream, the same for every activation
# The activation alone is timed on at most this many elements: its cost per element is the same
# at any size above a few thousand, and an array that fits in the cache is timed with far less
# noise from other processes' memory traffic (PyTorch's LeakyReLU/ReLU CI: [0.83, 1.53] on
# 256,000 elements, [1.06, 1.14] on 65,536, 15 rounds each under the same load).
ACTIVATION_ELEMENTS = 1 << 16


def points_table(config: Config) -> pd.DataFrame:
    """The test set in original units (inputs with at most 2 features)."""
    prep = config_data(config)
    test = prep.test
    cols: dict[str, Any] = {}
    if test.X.shape[1] <= 2:
        cols.update({f"x{i + 1}": test.X[:, i] for i in range(test.X.shape[1])})
    if test.labels is not None:
        cols["label"] = test.labels
    elif test.y is not None:
        cols["y"] = test.y[:, 0]
    return pd.DataFrame(cols)


def time_activations(config: Config, cells: list[dict[str, Any]]) -> pd.DataFrame:
    """The timing table (module docstring), measured with experiments.timing."""
    prep = config_data(config)
    X = prep.data.X_train
    rng = np.random.default_rng(np.random.SeedSequence([config.seed, _TIMING_TAG]))
    width = max(config.hidden or (1,))
    rows = max(1, min(X.shape[0], ACTIVATION_ELEMENTS // (config.seeds * width)))
    shape = (config.seeds, rows, width)
    z, upstream = rng.standard_normal(shape), rng.standard_normal(shape)
    loss = get_loss(str(cells[0]["loss"]))
    names = list(dict.fromkeys(c["activation"] for c in cells))
    jobs: dict[tuple[str, int, str, str], Any] = {}
    # the activation alone does not depend on depth: timed once, shown at every depth
    first_depth = {n: min(len(c["hidden"]) for c in cells if c["activation"] == n) for n in names}
    for library in tm.LIBRARIES:
        for name, job in tm.activation_jobs(names, z, upstream, library,
                                            config.negative_slope).items():  # fmt: skip
            jobs[(name, first_depth[name], "activation", library)] = job
    for params in cells:
        init = [
            np.random.default_rng(s)
            for s in np.random.SeedSequence([config.seed, _TIMING_TAG, 1]).spawn(config.seeds)
        ]
        model = build_model(params, X.shape[1], prep.n_out, init)

        def net_job(model: Any = model) -> None:
            model.backward(loss(model.forward(X), prep.data.Y_train, "mean")[1], copy=False)

        jobs[(params["activation"], len(params["hidden"]), "net", "numpy")] = net_job
    labels = {key: "|".join(map(str, key)) for key in jobs}
    with tm.torch_threads(1), np.errstate(all="ignore"):
        samples = tm.measure({labels[k]: job for k, job in jobs.items()},
                             config.timing_repeats)  # fmt: skip
    times = {key: samples.seconds[labels[key]] for key in jobs}
    for params in cells:  # the activation's one timing, at each of its other depths
        name, depth = params["activation"], len(params["hidden"])
        for library in tm.LIBRARIES:
            first = (name, first_depth[name], "activation", library)
            if first in times:
                times.setdefault((name, depth, "activation", library), times[first])
    baseline = "relu" if "relu" in names else names[0]
    rows = []
    for (name, depth, scope, library), values in times.items():
        base = times.get((baseline, depth, scope, library))
        ratio = (
            tm.ratio(values, base)
            if base is not None
            else dict.fromkeys(("ratio", "ratio_q1", "ratio_q3", "ratio_lo", "ratio_hi"), np.nan)
            | {"rounds_above": 0, "rounds_below": 0, "test": tm.INCONCLUSIVE}
        )
        if name == baseline:
            ratio["test"] = "baseline"
        rows.append({
            "activation": name, "depth": depth, "scope": scope, "library": library,
            "elements": int(z.size) if scope == "activation" else int(X.size),
            "repeats": len(values), "calls": samples.number, **tm.time_row(values),
            "baseline": baseline, **ratio, "margin": tm.MARGIN,
        })  # fmt: skip
    df = pd.DataFrame(rows).sort_values(
        ["depth", "scope", "library", "activation"], key=_order(names), kind="stable"
    )
    return df.reset_index(drop=True)


def _order(names: list[str]) -> Any:
    """A sort key putting activations in the configured order (scopes alphabetically)."""
    rank = {n: i for i, n in enumerate(names)}
    return lambda s: s.map(rank) if s.name == "activation" else s


def _geomean(values: Any) -> float:
    """Geometric mean of the finite non-negative values (0 if any is 0); NaN if none."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v) & (v >= 0)]
    if v.size == 0:
        return float("nan")
    if np.any(v == 0):
        return 0.0
    return float(np.exp(np.mean(np.log(v))))


def _stats(values: pd.Series) -> tuple[float, float]:
    v = values.replace([np.inf, -np.inf], np.nan).dropna()
    return (float(v.mean()), float(v.std(ddof=0))) if len(v) else (np.nan, np.nan)


def layer_summary(layers: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (act, depth, layer), g in layers.groupby(["activation", "depth", "layer"], sort=False):
        first = g[g["epoch"] == 0]
        final = g[g["epoch"] == g.groupby("seed")["epoch"].transform("max")]
        rows.append(
            {
                "activation": act,
                "depth": int(depth),
                "layer": int(layer),
                "grad_norm_init": _geomean(first["grad_norm"]),
                "grad_norm_train": _geomean(g["grad_norm"]),
                "signal_norm_init": _geomean(first["signal_norm"]),
                "dead_fraction": final["dead_fraction"].mean(),
                "saturated_fraction": final["saturated_fraction"].mean(),
                "act_mean": final["act_mean"].mean(),
                "act_min": g["act_min"].min(),
                "act_max": g["act_max"].max(),
            }
        )
    return pd.DataFrame(rows)


def summary(tables: dict[str, pd.DataFrame], config: Config) -> pd.DataFrame:
    """One row per activation x depth (module docstring), from history, layers and timing."""
    history, layers = tables["history"], tables["layers"]
    metric = "accuracy" if "test_accuracy" in history.columns else "r2"
    timing = tables.get("timing")
    rows = []
    for (act, depth), h in history.groupby(["activation", "depth"], sort=False):
        final = h[h["epoch"] == h.groupby("seed")["epoch"].transform("max")]
        bad = ~np.isfinite(final["train_loss"].to_numpy())
        ok = final[~bad]
        hit = h[h["train_loss"] <= config.target_loss].groupby("seed")["epoch"].min()
        ly = layers[(layers["activation"] == act) & (layers["depth"] == depth)]
        last = int(ly["layer"].max())
        g1 = ly[ly["layer"] == 1].set_index(["seed", "epoch"])["grad_norm"]
        gl = ly[ly["layer"] == last].set_index(["seed", "epoch"])["grad_norm"]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = (g1 / gl).reset_index(name="ratio")
        hidden = ly[ly["layer"] < last]
        hidden_final = hidden[hidden["epoch"] == hidden.groupby("seed")["epoch"].transform("max")]
        row: dict[str, Any] = {
            "activation": act,
            "seeds": int(h["seed"].nunique()),
            "depth": last - 1,
            "diverged": int(bad.sum()),
        }
        for col, name in (
            ("train_loss", "final_train_loss"),
            ("test_loss", "final_test_loss"),
            (f"test_{metric}", f"test_{metric}"),
        ):
            row[name], row[f"{name}_std"] = _stats(ok[col])
        row["target_loss"] = config.target_loss
        row["reached"] = len(hit)
        row["epochs_to_target"], row["epochs_to_target_std"] = _stats(hit.astype(float))
        row["grad_ratio_init"] = _geomean(ratio.loc[ratio["epoch"] == 0, "ratio"])
        row["grad_ratio"] = _geomean(ratio["ratio"])
        row["dead_fraction"] = hidden_final["dead_fraction"].mean()
        row["dead_fraction_peak"] = hidden["dead_fraction"].max()
        row["saturated_fraction"] = hidden_final["saturated_fraction"].mean()
        row["act_mean"] = hidden_final["act_mean"].mean()
        row["act_min"], row["act_max"] = hidden["act_min"].min(), hidden["act_max"].max()
        for scope, name in (("activation", "time_ratio"), ("net", "time_ratio_net")):
            match = (
                None
                if timing is None
                else timing[
                    (timing["activation"] == act)
                    & (timing["depth"] == depth)
                    & (timing["scope"] == scope)
                    & (timing.get("library", "numpy") == "numpy")
                ]
            )
            row[name] = (
                float(match["ratio"].iloc[0]) if match is not None and len(match) else np.nan
            )
        rows.append(row)
    return pd.DataFrame(rows)


def derived(tables: dict[str, pd.DataFrame], config: Config) -> dict[str, pd.DataFrame]:
    """`tables` plus layer_summary and summary where their inputs exist, in TABLE_ORDER."""
    out = ensure_depth(tables)
    if "layers" in out:
        out["layer_summary"] = layer_summary(out["layers"])
    if "history" in out and "layers" in out:
        out["summary"] = summary(out, config)
    return {name: out[name] for name in TABLE_ORDER if name in out}
