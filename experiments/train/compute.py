"""`nnhw train`: one net, one run (the study module; contract in experiments/context.py).

compute(config, ctx) trains the net of `config` (experiments.train_config) and returns tables:

- history: one row per epoch, epoch 0 being the net at initialisation (core.train.fit records
  after every epoch on the whole training set): train_loss, test_loss, train_/test_accuracy
  (classification) or train_/test_r2 (regression); per weight layer l: grad_norm_W<l> (||dL/dW_l||)
  and signal_norm_z<l> (||dL/dz_l||); per hidden layer h: dead_fraction_h<h>,
  saturated_fraction_h<h> (the activations that can saturate: core.diagnostics), act_mean_h<h>,
  act_std_h<h>, act_min_h<h>, act_max_h<h>. A diverged run ends with the row whose training loss
  is not finite.
- milestones: about 11 evenly spaced rows of history (first and last included), main columns.
- classes (classification on a CSV file): one row per class: label (the class number the net
  predicts), name (the label as the file writes it, e.g. cat) and count.
- dataset: one row describing the data and the net (name, task, source: 'generated' or the CSV
  path, sizes, features as a JSON list, target, ...).
- test_points: the test set in original units with the net's predictions (x1, x2, ... when the
  input has at most 2 features; label and predicted, or y and y_hat).
- decision_grid (2-D classification): x1, x2 on a 120 x 120 grid, p (the net's output for class 1,
  or the largest output with several classes) and predicted (the class).
- fit_curve (1-D regression): x1 on 200 points and the net's y_hat, in original units.
The last two are missing when training diverged (the net's outputs are not finite).

Randomness: one root `SeedSequence(config.seed)` is spawned into three streams: data (generating
the dataset, then the train/test split), init (the initial weights) and order (the minibatch order
of every epoch). Changing, say, the initialiser leaves the data and the batch order unchanged.

Preprocessing: inputs, and regression targets, are standardised with training-set statistics;
losses are on that scale, the tables and plots report predictions in original units.

Ctrl-C during training raises `Interrupted` carrying the history of the finished epochs and the
prediction tables of the net as it was at the last of them.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nnhw.core.data import make_dataset
from nnhw.core.errors import NnhwError
from nnhw.core.mlp import MLP
from nnhw.core.optim import make_optimizer
from nnhw.core.softmax import softmax
from nnhw.core.train import History, fit
from nnhw.experiments.data.csvfile import read_csv
from nnhw.experiments.data.prepare import (
    Prepared,
    classes_table,
    output_count,
    split_and_standardise,
)
from nnhw.experiments.runs.context import Interrupted, RunContext
from nnhw.experiments.train.config import SOFTMAX_CE, Config

GRID_POINTS = 120  # per axis of the decision grid
CURVE_POINTS = 200
MAX_PARAMS = 50_000_000
MAX_CELLS = 250_000_000  # samples x units of one full-batch forward pass (2 GB in float64)


def streams(seed: int) -> tuple[np.random.Generator, np.random.Generator, np.random.Generator]:
    """The data, init and order generators of a run with root seed `seed`."""
    data, init, order = np.random.SeedSequence(seed).spawn(3)
    return np.random.default_rng(data), np.random.default_rng(init), np.random.default_rng(order)


def prepare(config: Config, rng: np.random.Generator | None = None) -> Prepared:
    """Load (or generate) the data, split and standardise it; NnhwError for bad data.

    Cheap and deterministic, so the CLI calls it once before creating the run directory to report
    a bad CSV, column or split as a usage error.
    """
    rng = streams(config.seed)[0] if rng is None else rng
    if config.csv is not None:
        assert config.target is not None
        ds = read_csv(config.csv, config.target, str(config.task))
        ds = replace(ds, name=str(config.csv))
    else:
        ds = make_dataset(str(config.dataset), int(config.samples or 0), rng, config.noise)
    n_test = round(ds.n_samples * config.test_fraction)
    if not 0 < n_test < ds.n_samples:
        raise NnhwError(
            f"--test-fraction {config.test_fraction} leaves {n_test} of {ds.n_samples} samples "
            "for testing; training and test set both need at least one"
        )
    n_train = ds.n_samples - n_test
    if config.batch_size is not None and config.batch_size > n_train:
        raise NnhwError(
            f"--batch-size {config.batch_size} is larger than the {n_train} training samples "
            f"({ds.n_samples} samples, test fraction {config.test_fraction})"
        )
    n_out = output_count(ds, one_hot=config.loss == SOFTMAX_CE)
    _check_size(layer_sizes(config, ds.X.shape[1], n_out), ds.n_samples)
    return split_and_standardise(ds, config.test_fraction, rng, n_out, np.dtype(config.dtype))


def layer_sizes(config: Config, n_in: int, n_out: int) -> tuple[int, ...]:
    """The net's layer sizes: n_in, the hidden widths of `config`, n_out."""
    return (n_in, *tuple(config.hidden or ()), n_out)


def count_params(sizes: tuple[int, ...]) -> int:
    """Weights and biases of a net with layer sizes `sizes`."""
    return sum(n_out * n_in + n_out for n_in, n_out in itertools.pairwise(sizes))


def _check_size(sizes: tuple[int, ...], n_samples: int) -> None:
    """NnhwError (not a MemoryError later) for nets or data far beyond what nnhw is for."""
    n_params = count_params(sizes)
    if n_params > MAX_PARAMS:
        raise NnhwError(
            f"--hidden: a {'-'.join(map(str, sizes))} net has {n_params:,} parameters; nnhw "
            f"trains small nets (at most {MAX_PARAMS:,})"
        )
    if n_samples * sum(sizes) > MAX_CELLS:
        raise NnhwError(
            f"--hidden / --samples: {n_samples:,} samples through a {'-'.join(map(str, sizes))} "
            f"net need more than {MAX_CELLS * 8 // 10**9} GB per forward pass; use fewer of either"
        )


def build(config: Config, prep: Prepared, rng: np.random.Generator) -> MLP:
    return MLP(
        layer_sizes(config, prep.n_in, prep.n_out),
        str(config.activation),
        str(config.output_activation),
        [rng],
        init=str(config.init),
        dtype=np.dtype(config.dtype),
        negative_slope=config.negative_slope,
        elu_alpha=config.elu_alpha,
    )


def compute(config: Config, ctx: RunContext) -> dict[str, pd.DataFrame]:
    """Train the net of `config`; the tables described in the module docstring."""
    data_rng, init_rng, order_rng = streams(config.seed)
    prep = prepare(config, data_rng)
    model = build(config, prep, init_rng)
    optimizer = make_optimizer(str(config.optimizer), float(config.lr or 0), config.momentum)
    history = History()
    tracker = ctx.progress("epochs", int(config.epochs or 0))

    recorded = model.flat.copy()  # the parameters of the last recorded epoch

    def on_epoch(epoch: int, record: dict[str, np.ndarray]) -> None:
        recorded[:] = model.flat
        if epoch > 0:
            tracker.advance()

    try:
        fit(
            model,
            prep.data,
            loss=str(config.loss),
            reduction=config.reduction,
            optimizer=optimizer,
            epochs=int(config.epochs or 0),
            batch_size=int(config.batch_size or 0),
            rngs=[order_rng],
            history=history,
            on_epoch=on_epoch,
        )
    except KeyboardInterrupt:
        # Predictions of the net as it was at the last recorded epoch, not mid-epoch.
        tables = _history_tables(history, config, prep)
        if len(tables["history"]):
            model.flat[:] = recorded
            tables.update(prediction_tables(config, prep, model, diverged=history.diverged))
        raise Interrupted(tables) from None
    finally:
        tracker.close()
    tables = _history_tables(history, config, prep)
    tables.update(prediction_tables(config, prep, model, diverged=history.diverged))
    return tables


def _history_tables(history: History, config: Config, prep: Prepared) -> dict[str, pd.DataFrame]:
    table = history_table(history, config)
    tables = {
        "history": table,
        "milestones": milestones(table),
        "dataset": dataset_table(config, prep),
    }
    classes = classes_table(prep.dataset)
    if classes is not None:
        tables["classes"] = classes
    return tables


def history_table(history: History, config: Config) -> pd.DataFrame:
    """One row per finished epoch; columns as in the module docstring (member 0 of the net)."""
    n = min([len(history.epochs), *(len(v) for v in history.metrics.values())])
    cols: dict[str, Any] = {"epoch": np.asarray(history.epochs[:n], dtype=np.int64)}
    per_layer = {
        "grad_norm": "grad_norm_W",
        "signal_norm": "signal_norm_z",
        "dead_fraction": "dead_fraction_h",
        "saturated_fraction": "saturated_fraction_h",
        "act_mean": "act_mean_h",
        "act_std": "act_std_h",
        "act_min": "act_min_h",
        "act_max": "act_max_h",
    }
    for name, values in history.metrics.items():
        if n == 0:
            continue
        arr = np.stack(values[:n])[:, 0].astype(np.float64)  # (T,) or (T, layers)
        if arr.ndim == 1:
            cols[name] = arr
            continue
        if name == "saturated_fraction" and np.all(np.isnan(arr)):
            continue  # the activation cannot saturate (relu, leaky-relu, identity)
        for layer in range(arr.shape[1]):
            cols[f"{per_layer.get(name, name + '_')}{layer + 1}"] = arr[:, layer]
    order = ["epoch", "train_loss", "test_loss"]
    order += [k for k in ("train_accuracy", "test_accuracy", "train_r2", "test_r2") if k in cols]
    order += [k for k in cols if k not in order]
    return pd.DataFrame({k: cols[k] for k in order}) if n else pd.DataFrame({"epoch": []})


def dataset_table(config: Config, prep: Prepared) -> pd.DataFrame:
    ds = prep.dataset
    sizes = layer_sizes(config, prep.n_in, prep.n_out)
    n_params = count_params(sizes)
    row = {
        "name": ds.name if config.csv is None else Path(str(config.csv)).name,
        "task": ds.task,
        "source": "generated" if config.csv is None else str(config.csv),
        "n_samples": ds.n_samples,
        "n_train": prep.train.n_samples,
        "n_test": prep.test.n_samples,
        "n_features": ds.X.shape[1],
        "n_classes": ds.n_classes,
        "features": json.dumps(list(ds.feature_names), ensure_ascii=False),
        "target": ds.target_name if ds.task == "regression" or config.csv else "class",
        "sizes": "-".join(str(s) for s in sizes),
        "n_params": n_params,
    }
    return pd.DataFrame([row])


def _predict(model: MLP, x: np.ndarray, config: Config) -> np.ndarray:
    """Net outputs (N, k) for standardised inputs x; class probabilities for softmax-CE."""
    with np.errstate(all="ignore"):
        out = model.forward(x.astype(model.dtype))[0].astype(np.float64)
        return softmax(out) if config.loss == SOFTMAX_CE else out


def _classes(out: np.ndarray) -> np.ndarray:
    return (out[:, 0] > 0.5).astype(np.int64) if out.shape[1] == 1 else np.argmax(out, axis=1)


def prediction_tables(
    config: Config, prep: Prepared, model: MLP, *, diverged: bool
) -> dict[str, pd.DataFrame]:
    """test_points, and decision_grid or fit_curve where the input is 2-D / 1-D."""
    test, d = prep.test, prep.dataset.X.shape[1]
    out = _predict(model, prep.x_scale(test.X), config)
    pts: dict[str, Any] = {f"x{i + 1}": test.X[:, i] for i in range(d)} if d <= 2 else {}
    tables: dict[str, pd.DataFrame] = {}
    if config.classification:
        assert test.labels is not None
        pts.update(label=test.labels, predicted=_classes(out))
    else:
        assert test.y is not None and prep.y_scale is not None
        pts.update(y=test.y[:, 0], y_hat=prep.y_scale.inverse(out)[:, 0])
    tables["test_points"] = pd.DataFrame(pts)
    if diverged:
        return tables
    X = prep.dataset.X
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.1 * np.where(hi > lo, hi - lo, 1.0)
    lo, hi = lo - pad, hi + pad
    if config.classification and d == 2:
        g1, g2 = np.meshgrid(
            np.linspace(lo[0], hi[0], GRID_POINTS), np.linspace(lo[1], hi[1], GRID_POINTS)
        )
        grid = np.column_stack([g1.ravel(), g2.ravel()])
        p = _predict(model, prep.x_scale(grid), config)
        score = p[:, 0] if p.shape[1] == 1 else (p[:, 1] if p.shape[1] == 2 else p.max(axis=1))
        tables["decision_grid"] = pd.DataFrame(
            {"x1": grid[:, 0], "x2": grid[:, 1], "p": score, "predicted": _classes(p)}
        )
    elif not config.classification and d == 1:
        x = np.linspace(lo[0], hi[0], CURVE_POINTS)[:, None]
        assert prep.y_scale is not None
        y_hat = prep.y_scale.inverse(_predict(model, prep.x_scale(x), config))
        tables["fit_curve"] = pd.DataFrame({"x1": x[:, 0], "y_hat": y_hat[:, 0]})
    return tables


def milestones(history: pd.DataFrame, rows: int = 11) -> pd.DataFrame:
    """A readable excerpt of the history for the report: about `rows` evenly spaced epochs
    (always the first and the last), the losses, the metric and the per-layer gradient norms
    and dead / saturated fractions."""
    if not len(history):
        return history
    keep = np.unique(np.round(np.linspace(0, len(history) - 1, min(rows, len(history)))))
    prefixes = ("train_", "test_", "grad_norm_W", "dead_fraction_h", "saturated_fraction_h")
    cols = ["epoch", *(c for c in history.columns if c.startswith(prefixes))]
    return history.iloc[keep.astype(int)][cols].reset_index(drop=True)
