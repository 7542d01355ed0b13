"""One cell of `nnhw compare-activations`: every seed of one activation, trained as one ensemble.

Contract: `activation_cell(params, seed) -> dict[str, DataFrame]` (a module-level function, so the
sweep's process and Dask executors can pickle it). `params` holds the activation and the shared
settings (see `experiments.compare_activations.cells`); `seed` is the cell's SeedSequence from
the sweep, which the cell replaces by its activation's stream `cell_seed(root_seed,
params["stream"])` when the params name one (the same stream at every depth; equal to `seed` when
every cell is one activation). The cell spawns one stream per seed (member) and each member's
stream into (init, order): member e's initial weights and minibatch order depend on (root seed,
stream, e) only.

The data are the same for every cell: `prepare_data` draws them from the root seed alone
(`data_stream`), or reads them from the run's --csv file (the params then carry `csv`, `target`
and `task`; `data_source`), splits off a test set (config.TEST_FRACTION) and standardises inputs
(and regression targets) with training-set statistics. `config_data(config)` is the same data
for the study's own tables (points, timing).

Tables (one row per ...; every table has `activation` and `depth`, the number of hidden layers):
- history: activation x seed x epoch: train_loss, test_loss, train_<metric>, test_<metric>
  (metric: accuracy for classification, r2 for regression); epoch 0 is the net at initialisation.
- layers: activation x seed x epoch x weight layer l = 1..L+1: grad_norm (||dL/dW_l||_F on the full
  training set), signal_norm (||dL/dz_l||), and for hidden layers (NaN at the output layer)
  dead_fraction, saturated_fraction (NaN for activations that cannot saturate), act_mean,
  act_std, act_min, act_max of the layer's outputs over the training set.
- decision_grid (2-D classification): activation x grid point: x1, x2 (original units), p (member
  0's output for class 1, the largest output with several classes), predicted (the class).
- fit_curve (1-D regression): activation x point: x1, y_hat (member 0, original units).
- linear_baseline (identity only): one row per seed, see `linear_baseline`.
"""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from nnhw.core.activations import DEFAULT_ELU_ALPHA
from nnhw.core.data import make_dataset
from nnhw.core.mlp import MLP
from nnhw.core.optim import make_optimizer
from nnhw.core.train import History, fit, r2_score
from nnhw.experiments.compare_activations.config import TEST_FRACTION, Config, check_batch
from nnhw.experiments.data.csvfile import read_csv
from nnhw.experiments.data.prepare import Prepared, output_count, split_and_standardise
from nnhw.experiments.runs.executors import cell_threads
from nnhw.experiments.runs.sweep import cell_seed

Array = np.ndarray
GRID_POINTS = 60  # per axis of a decision grid
CURVE_POINTS = 120
_DATA_TAG = 0xDA7A  # keeps the data stream apart from the cells' SeedSequence(root, (index,))
HIDDEN_STATS = ("dead_fraction", "saturated_fraction", "act_mean", "act_std", "act_min", "act_max")


def data_stream(root_seed: int) -> np.random.Generator:
    """The generator of the data (shared by all cells of a run)."""
    return np.random.default_rng(np.random.SeedSequence([root_seed, _DATA_TAG]))


def prepare_data(
    dataset: str | None,
    samples: int | None,
    root_seed: int,
    csv: str | None = None,
    target: str | None = None,
    task: str = "classification",
) -> Prepared:
    """Generate (or read from `csv`, its `target` column for `task`), split and standardise the
    data of a run."""
    rng = data_stream(root_seed)
    if csv is not None:
        ds = read_csv(csv, str(target), task)
    else:
        ds = make_dataset(str(dataset), int(samples or 0), rng)
    return split_and_standardise(ds, TEST_FRACTION, rng, output_count(ds))


def data_source(config: Config) -> dict[str, Any]:
    """The CSV settings a cell's `prepare_data` needs beyond dataset and samples ({} for
    generated data, so the cells of a generated run are what they always were)."""
    if config.csv is None:
        return {}
    return {"csv": config.csv, "target": config.target, "task": config.task}


def config_data(config: Config) -> Prepared:
    """The data every cell of a run of `config` trains on."""
    return prepare_data(config.dataset, config.samples, config.seed, **data_source(config))


def with_data_checked(config: Config, batch_given: bool = True) -> Config:
    """`config` once its --csv file has been read (bad data is an NnhwError before any run
    directory exists): a --batch-size larger than the training rows is refused when given and
    clamped to them when it is the preset's (config.check_batch). Generated data were checked
    by the Config itself."""
    if config.csv is None:
        return config
    n_train = config_data(config).train.n_samples
    if not batch_given and int(config.batch_size or 0) > n_train:
        return replace(config, batch_size=n_train)
    check_batch(int(config.batch_size or 0), n_train, f"--csv {config.csv}")
    return config


def build_model(params: dict[str, Any], n_in: int, n_out: int, rngs: list) -> MLP:
    """The study's net for one activation; hidden biases shifted by params['bias_shift']."""
    sizes = [n_in, *params["hidden"], n_out]
    model = MLP(
        sizes,
        params["activation"],
        params["output_activation"],
        rngs,
        init=params["init"],
        negative_slope=params["negative_slope"],
        elu_alpha=params.get("elu_alpha", DEFAULT_ELU_ALPHA),
    )
    for l in range(1, model.n_layers):
        model.params[f"b{l}"][...] += params["bias_shift"]
    return model


# Relative cost of one hidden unit's activation forward and backward against one multiply-add,
# for ordering the sweep (cell_cost); rough, measured on the default nets: exp-based ones cost more
# (the newer ones: 4 x their forward-backward time over ReLU's on a 5 x 32 x 64 array; GELU's
# normal cdf is a degree-24 polynomial, core.normal).
_ACTIVATION_COST = {
    "relu": 4.0, "leaky-relu": 6.0, "tanh": 12.0, "sigmoid": 12.0, "identity": 2.0,
    "gelu": 78.0, "gelu-tanh": 40.0, "silu": 32.0, "elu": 20.0, "selu": 18.0, "softplus": 22.0,
    "mish": 33.0,
}  # fmt: skip


def cell_cost(params: dict[str, Any]) -> float:
    """An estimate of a cell's run time (arbitrary unit) for run_sweep's longest-first order:
    seeds x epochs x samples x (multiply-adds + activation work) per sample."""
    widths = [2, *params["hidden"], 1]  # the input and output widths barely matter here
    per_sample = sum(a * b for a, b in pairwise(widths))
    per_sample += _ACTIVATION_COST.get(params["activation"], 4.0) * sum(params["hidden"])
    samples = params["samples"] or 1  # a --csv run's cells all share one file: any constant
    return float(params["seeds"] * params["epochs"] * samples * per_sample)


def activation_cell(
    params: dict[str, Any], seed: np.random.SeedSequence
) -> dict[str, pd.DataFrame]:
    """Train `params['seeds']` nets with `params['activation']` as one ensemble; the tables."""
    if "stream" in params:
        seed = cell_seed(params["root_seed"], params["stream"])
    source = {k: params[k] for k in ("csv", "target", "task") if k in params}
    prep = prepare_data(params["dataset"], params["samples"], params["root_seed"], **source)
    members = [s.spawn(2) for s in seed.spawn(params["seeds"])]
    init_rngs = [np.random.default_rng(i) for i, _ in members]
    order_rngs = [np.random.default_rng(o) for _, o in members]
    model = build_model(params, prep.data.X_train.shape[1], prep.n_out, init_rngs)
    history = fit(
        model,
        prep.data,
        loss=params["loss"],
        reduction="mean",
        optimizer=make_optimizer(params["optimizer"], params["lr"]),
        epochs=params["epochs"],
        batch_size=params["batch_size"],
        rngs=order_rngs,
        threads=cell_threads(),  # a large ensemble (--seeds) splits over the cores when serial
    )
    act = params["activation"]
    tables = {
        "history": history_table(history, act, prep.metric),
        "layers": layers_table(history, act),
    }
    tables.update(prediction_tables(model, prep, act))
    if act == "identity":
        tables["linear_baseline"] = linear_baseline(model, prep)
    depth = len(params["hidden"])
    return {name: with_depth(df, depth) for name, df in tables.items()}


def with_depth(df: pd.DataFrame, depth: int) -> pd.DataFrame:
    """`df` with a `depth` column right after `activation` (kept if it is there already)."""
    if "depth" in df.columns:
        return df
    out = df.copy()
    out.insert(int(out.columns.get_loc("activation")) + 1, "depth", depth)
    return out


def history_table(history: History, activation: str, metric: str) -> pd.DataFrame:
    """One row per seed x epoch (seed varies fastest within an epoch)."""
    loss = history.array("train_loss")  # (T, E)
    T, E = loss.shape
    cols: dict[str, Any] = {
        "activation": activation,
        "seed": np.tile(np.arange(E), T),
        "epoch": np.repeat(np.asarray(history.epochs), E),
    }
    for name in ("train_loss", "test_loss", f"train_{metric}", f"test_{metric}"):
        cols[name] = history.array(name).astype(np.float64).ravel()
    return pd.DataFrame(cols)


def layers_table(history: History, activation: str) -> pd.DataFrame:
    """One row per seed x epoch x weight layer; hidden-layer statistics NaN at the output."""
    grad = history.array("grad_norm")  # (T, E, L+1)
    T, E, L1 = grad.shape
    cols: dict[str, Any] = {
        "activation": activation,
        "seed": np.tile(np.repeat(np.arange(E), L1), T),
        "epoch": np.repeat(np.asarray(history.epochs), E * L1),
        "layer": np.tile(np.arange(1, L1 + 1), T * E),
        "grad_norm": grad.ravel(),
        "signal_norm": history.array("signal_norm").ravel(),
    }
    for name in HIDDEN_STATS:
        hidden = history.array(name).astype(np.float64)  # (T, E, L)
        cols[name] = np.concatenate([hidden, np.full((T, E, 1), np.nan)], axis=2).ravel()
    return pd.DataFrame(cols)


def _outputs(model: MLP, x: Array) -> Array:
    """Member 0's outputs (N, k) for standardised inputs; NaN-safe for diverged nets."""
    with np.errstate(all="ignore"):
        return model.forward(x)[0].astype(np.float64)


def prediction_tables(model: MLP, prep: Prepared, activation: str) -> dict[str, pd.DataFrame]:
    """decision_grid (2-D classification) or fit_curve (1-D regression) of member 0."""
    X = prep.dataset.X
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.1 * np.where(hi > lo, hi - lo, 1.0)
    lo, hi = lo - pad, hi + pad
    if prep.dataset.task == "classification" and X.shape[1] == 2:
        g1, g2 = np.meshgrid(
            np.linspace(lo[0], hi[0], GRID_POINTS), np.linspace(lo[1], hi[1], GRID_POINTS)
        )
        grid = np.column_stack([g1.ravel(), g2.ravel()])
        out = _outputs(model, prep.x_scale(grid))
        p = out[:, 0] if out.shape[1] == 1 else out.max(axis=1)
        with np.errstate(invalid="ignore"):
            predicted = (out[:, 0] > 0.5) if out.shape[1] == 1 else np.argmax(out, axis=1)
        return {
            "decision_grid": pd.DataFrame(
                {
                    "activation": activation,
                    "x1": grid[:, 0],
                    "x2": grid[:, 1],
                    "p": p,
                    "predicted": predicted.astype(np.int64),
                }
            )
        }
    if prep.dataset.task == "regression" and X.shape[1] == 1 and prep.y_scale is not None:
        x = np.linspace(lo[0], hi[0], CURVE_POINTS)[:, None]
        y_hat = prep.y_scale.inverse(_outputs(model, prep.x_scale(x)))
        return {
            "fit_curve": pd.DataFrame(
                {"activation": activation, "x1": x[:, 0], "y_hat": y_hat[:, 0]}
            )
        }
    return {}


def composed_map(model: MLP) -> tuple[Array, Array]:
    """(A, c) per member with z_out = x A^T + c for a net whose hidden layers are identity:
    A = W_{L+1} ... W_1 (E, d_out, d_in), c = W_{L+1}(...(W_2 b_1 + b_2)...) + b_{L+1}
    (E, d_out)."""
    A = model.params["W1"].copy()
    c = model.params["b1"].copy()
    for l in range(2, model.n_layers + 1):
        W = model.params[f"W{l}"]
        A = np.matmul(W, A)
        c = np.einsum("eoi,ei->eo", W, c) + model.params[f"b{l}"]
    return A, c


def _metric(y_hat: Array, prep: Prepared, part: str) -> Array:
    """Accuracy or R^2 of predictions y_hat (E, N, k) on the train or test part."""
    data = prep.data
    if prep.metric == "accuracy":
        labels = data.labels_train if part == "train" else data.labels_test
        assert labels is not None
        pred = (y_hat[..., 0] > 0.5) if y_hat.shape[-1] == 1 else np.argmax(y_hat, axis=-1)
        return np.mean(pred == labels, axis=-1)
    y = data.Y_train if part == "train" else data.Y_test
    assert y is not None
    return r2_score(y_hat, y)


def linear_baseline(model: MLP, prep: Prepared) -> pd.DataFrame:
    """The identity net as one linear map, against least squares on the same training data.

    Per seed: collapse_error = max |z_out(x) - (A x + c)| / max |z_out| on the test set (two
    linear layers are one linear map: rounding only); map_distance = ||[A c] - [A_ls c_ls]||_F /
    ||[A_ls c_ls]||_F and bias_distance = |c - c_ls| / max(1, |c_ls|), where (A_ls, c_ls) solves
    min ||[X 1][A c]^T - Y||^2 on the standardised training set (np.linalg.lstsq; the net's own
    optimum when its output is identity and its loss MSE, NaN otherwise); test_metric of the net
    and test_metric_lstsq of the least-squares map (thresholded at 0.5 / argmax for
    classification: the linear classifier a linear net can at best become).
    """
    data = prep.data
    assert data.X_test is not None
    A, c = composed_map(model)
    with np.errstate(all="ignore"):
        model.forward(data.X_test)
        z_out = model.zs[-1]
        direct = np.matmul(data.X_test, A.transpose(0, 2, 1)) + c[:, None, :]
        scale = np.maximum(np.max(np.abs(z_out), axis=(1, 2)), np.finfo(np.float64).tiny)
        collapse = np.max(np.abs(z_out - direct), axis=(1, 2)) / scale
        y_hat_net = model.forward(data.X_test)
    design = np.column_stack([data.X_train, np.ones(len(data.X_train))])
    coef = np.linalg.lstsq(design, data.Y_train, rcond=None)[0]  # (d_in + 1, k)
    A_ls, c_ls = coef[:-1].T, coef[-1]
    ls_test = (np.column_stack([data.X_test, np.ones(len(data.X_test))]) @ coef)[None]
    comparable = model.g.name == "identity" and prep.metric == "r2"
    if comparable:
        full = np.concatenate([A, c[:, :, None]], axis=2)
        full_ls = np.concatenate([A_ls, c_ls[:, None]], axis=1)[None]
        map_distance = np.linalg.norm(full - full_ls, axis=(1, 2)) / np.linalg.norm(full_ls)
        bias_distance = np.abs(c - c_ls).max(axis=1) / max(1.0, float(np.abs(c_ls).max()))
    else:
        map_distance = bias_distance = np.full(model.members, np.nan)
    return pd.DataFrame(
        {
            "activation": "identity",
            "seed": np.arange(model.members),
            "collapse_error": collapse,
            "map_distance": map_distance,
            "bias_distance": bias_distance,
            "test_metric": _metric(y_hat_net, prep, "test"),
            "test_metric_lstsq": np.repeat(_metric(ls_test, prep, "test"), model.members),
        }
    )
