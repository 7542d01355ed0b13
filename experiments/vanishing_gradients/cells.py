"""The sweep cells of `nnhw vanishing-gradients`: measurements of gradient flow in random nets.

Data: `gaussian_regression` draws x ~ N(0, I_d) (d = the net's width, so every hidden layer,
the first included, is a square n x n map) and a linear teacher y = x.w / sqrt(d) + 0.1 eps with
w ~ N(0, I_d); x and y are standardised (core.data.Standardizer), so E[x^2] = 1 as the variance
theory assumes. One data set per cell, shared by the cell's seeds; `batches` minibatches of
`batch_size` examples make up the whole training set.

`gradient_cell` (one activation x init x depth; the cell's seeds are the members of one ensemble,
member k's generator being child k + 1 of the cell's SeedSequence, child 0 drawing the data):
- At initialisation, for every batch one forward and backward pass of the MSE loss (mean
  reduction) and, per member and weight layer l = 1..L+1: ||dL/dW_l||_F, ||dL/dz_l|| over batch
  and units, the std of z_l and of a_l over batch and units. Averages over batches are root mean
  squares (the second moments variance propagation predicts).
- Then a short SGD run (core.train.fit, full-batch diagnostics after every epoch): per epoch and
  layer the same two gradient norms and the training loss.
`selfnorm_cell` (one activation, LeCun-normal weights, zero biases, depth `depth`): the cell's
`seeds` nets as one ensemble fed the same standardised Gaussian inputs (`samples` of them, of
dimension `width`); per member and hidden layer the mean and variance of a_l over inputs and
units (Klambauer et al.'s self-normalisation: SELU should keep them at 0 and 1).
`dead_relu_cell` (one width): `samples` independent ReLU nets of the largest depth, He-normal
weights and zero biases, each given one input x ~ N(0, I_width); an input is dead at depth D when
the D-th hidden layer's output is all zeros (with zero biases it then stays zero, and the net's
output no longer depends on the input). Nets of smaller depth are the first D layers of the
deep ones, so one deep net answers every depth.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from nnhw.core import diagnostics
from nnhw.core.data import Dataset, Standardizer
from nnhw.core.losses import get_loss
from nnhw.core.mlp import MLP
from nnhw.core.optim import SGD
from nnhw.core.train import TrainData, fit
from nnhw.experiments.vanishing_gradients.theory import dead_relu_probability

Array = np.ndarray
TEACHER_NOISE = 0.1
DEAD_CHUNK_PARAMS = 2_000_000  # weights per chunk of dead-ReLU nets (16 MB in float64)
LAYER_COLUMNS = (
    "activation",
    "init",
    "depth",
    "seed",
    "layer",
    "kind",
    "weight_grad_norm",
    "signal_norm",
    "preact_std",
    "act_std",
)
TRAINING_COLUMNS = (
    "activation",
    "init",
    "depth",
    "seed",
    "epoch",
    "layer",
    "weight_grad_norm",
    "signal_norm",
    "train_loss",
)
SELFNORM_COLUMNS = ("activation", "init", "depth", "seed", "layer", "act_mean", "act_var")
DEAD_COLUMNS = (
    "width",
    "depth",
    "samples",
    "dead",
    "dead_fraction",
    "predicted",
    "std_error",
    "z_score",
)


def gaussian_regression(n_samples: int, d_in: int, rng: np.random.Generator) -> Dataset:
    """Standardised Gaussian inputs with a noisy linear teacher (see the module docstring)."""
    x = rng.standard_normal((n_samples, d_in))
    w = rng.standard_normal((d_in, 1))
    y = x @ w / np.sqrt(d_in) + TEACHER_NOISE * rng.standard_normal((n_samples, 1))
    x_std, y_std = Standardizer.fit(x)(x), Standardizer.fit(y)(y)
    names = tuple(f"x{i + 1}" for i in range(d_in))
    return Dataset("gaussian-teacher", "regression", x_std, y=y_std, feature_names=names)


def measure_at_init(model: MLP, X: Array, Y: Array, batch_size: int) -> dict[str, Array]:
    """RMS over consecutive batches of (E, L+1) per-layer norms and stds, at the current params."""
    loss = get_loss("mse")
    sums: dict[str, Array] = {}
    count = 0
    for start in range(0, X.shape[0], batch_size):
        xb, yb = X[start : start + batch_size], Y[start : start + batch_size]
        _, d = loss(model.forward(xb), yb, "mean")
        model.backward(d, copy=False)
        hidden = diagnostics.activation_stats(model)["act_std"]
        out_std = model.acts[-1].std(axis=(1, 2))[:, None]
        values = {
            "weight_grad_norm": diagnostics.grad_norms(model),
            "signal_norm": diagnostics.signal_norms(model),
            "preact_std": np.stack([z.std(axis=(1, 2)) for z in model.zs], axis=1),
            "act_std": np.concatenate([hidden, out_std], axis=1),
        }
        for k, v in values.items():
            sums[k] = sums.get(k, 0.0) + v * v
        count += 1
    return {k: np.sqrt(v / count) for k, v in sums.items()}


def children(seed: np.random.SeedSequence, n: int) -> list[np.random.SeedSequence]:
    """The first n children of `seed`, as `seed.spawn(n)` gives them on a fresh SeedSequence, but
    without spawn's side effect, so a cell gives the same streams however often it runs."""
    key = tuple(seed.spawn_key)
    return [np.random.SeedSequence(seed.entropy, spawn_key=(*key, k)) for k in range(n)]


def _member_rngs(seed: np.random.SeedSequence, members: int) -> tuple[Any, list[Any]]:
    data_ss, *member_ss = children(seed, members + 1)
    return np.random.default_rng(data_ss), [np.random.default_rng(s) for s in member_ss]


def gradient_cell(params: dict[str, Any], seed: np.random.SeedSequence) -> dict[str, pd.DataFrame]:
    """Tables `layers` (at initialisation) and `training` (per epoch) for one cell."""
    act, init, depth, width = params["activation"], params["init"], params["depth"], params["width"]
    seeds, batch_size = params["seeds"], params["batch_size"]
    data_rng, rngs = _member_rngs(seed, seeds)
    ds = gaussian_regression(batch_size * params["batches"], width, data_rng)
    assert ds.y is not None
    model = MLP([width] * (depth + 1) + [1], act, "identity", rngs, init=init)
    L1 = depth + 1
    key = {"activation": act, "init": init, "depth": depth}
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        init_values = measure_at_init(model, ds.X, ds.y, batch_size)
    layer_grid = {
        "seed": np.repeat(np.arange(seeds), L1),
        "layer": np.tile(np.arange(1, L1 + 1), seeds),
    }
    layers = pd.DataFrame({**key, **layer_grid})
    layers["kind"] = np.where(layers["layer"] == L1, "output", "hidden")
    for name, v in init_values.items():
        layers[name] = v.ravel()  # (E, L+1) row-major: seed slowest, as in layer_grid

    history = fit(
        model,
        TrainData(ds.X, ds.y),
        loss="mse",
        reduction="mean",
        optimizer=SGD(params["lr"]),
        epochs=params["epochs"],
        batch_size=batch_size,
        rngs=rngs,
    )
    gn, sn = history.array("grad_norm"), history.array("signal_norm")  # (T, E, L+1)
    T = gn.shape[0]
    epochs = np.asarray(history.epochs)
    training = pd.DataFrame(
        {
            **key,
            "seed": np.tile(np.repeat(np.arange(seeds), L1), T),
            "epoch": np.repeat(epochs, seeds * L1),
            "layer": np.tile(np.arange(1, L1 + 1), T * seeds),
            "weight_grad_norm": gn.ravel(),
            "signal_norm": sn.ravel(),
            "train_loss": np.repeat(history.array("train_loss").ravel(), L1),
        }
    )
    return {"layers": layers[list(LAYER_COLUMNS)], "training": training[list(TRAINING_COLUMNS)]}


def dead_relu_cell(params: dict[str, Any], seed: np.random.SeedSequence) -> dict[str, pd.DataFrame]:
    """Table `dead_relu`: one row per depth for this cell's width."""
    width, samples = params["width"], params["samples"]
    depths = sorted(params["depths"])
    input_ss, *net_ss = children(seed, samples + 1)
    x = np.random.default_rng(input_ss).standard_normal((samples, 1, width))
    sizes = [width] * (depths[-1] + 1) + [1]
    # Nets are built in chunks to bound memory (each net's generator is its own, so chunking
    # does not change the result). alive[l-1, e]: net e's input has a non-zero unit at layer l.
    chunk = max(1, DEAD_CHUNK_PARAMS // (len(sizes) * width * width))
    alive_parts = []
    for start in range(0, samples, chunk):
        rngs = [np.random.default_rng(s) for s in net_ss[start : start + chunk]]
        model = MLP(sizes, "relu", "identity", rngs, init="he-normal")
        model.forward(x[start : start + chunk])
        alive_parts.append(np.stack([np.any(a[:, 0, :] != 0, axis=1) for a in model.acts[1:-1]]))
    alive = np.concatenate(alive_parts, axis=1)
    depth_col = np.asarray(depths)
    dead = np.array([samples - int(alive[d - 1].sum()) for d in depths])
    p = dead_relu_probability(width, depth_col)
    frac = dead / samples
    se = np.sqrt(p * (1 - p) / samples)
    z = np.divide(frac - p, se, out=np.zeros_like(p), where=se > 0)
    return {
        "dead_relu": pd.DataFrame(
            {
                "width": width,
                "depth": depth_col,
                "samples": samples,
                "dead": dead,
                "dead_fraction": frac,
                "predicted": p,
                "std_error": se,
                "z_score": z,
            }
        )[list(DEAD_COLUMNS)]
    }


def selfnorm_cell(params: dict[str, Any], seed: np.random.SeedSequence) -> dict[str, pd.DataFrame]:
    """Table `selfnorm`: per seed and hidden layer, the mean and variance of the activations."""
    act, init, depth, width = params["activation"], params["init"], params["depth"], params["width"]
    seeds = params["seeds"]
    data_rng, rngs = _member_rngs(seed, seeds)
    ds = gaussian_regression(params["samples"], width, data_rng)
    model = MLP([width] * (depth + 1) + [1], act, "identity", rngs, init=init)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        model.forward(ds.X)
    hidden = model.acts[1:-1]  # a_1 .. a_depth, each (E, N, width)
    mean = np.stack([a.mean(axis=(1, 2)) for a in hidden], axis=1)  # (E, depth)
    var = np.stack([a.var(axis=(1, 2)) for a in hidden], axis=1)
    table = pd.DataFrame(
        {
            "activation": act,
            "init": init,
            "depth": depth,
            "seed": np.repeat(np.arange(seeds), depth),
            "layer": np.tile(np.arange(1, depth + 1), seeds),
            "act_mean": mean.ravel(),
            "act_var": var.ravel(),
        }
    )
    return {"selfnorm": table[list(SELFNORM_COLUMNS)]}


def run_cell(params: dict[str, Any], seed: np.random.SeedSequence) -> dict[str, pd.DataFrame]:
    """The sweep's cell function: dispatch on params["study"] ("gradients", "selfnorm" or
    "dead-relu")."""
    if params["study"] == "dead-relu":
        return dead_relu_cell(params, seed)
    if params["study"] == "selfnorm":
        return selfnorm_cell(params, seed)
    return gradient_cell(params, seed)
