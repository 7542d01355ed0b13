"""Measurements for `nnhw verify` that need only the core: zero initialisation (1.2(a)), linear
collapse (1.4(c)) and the outputs of sigmoid and tanh (1.4(d)), each over `seeds` nets trained as
one ensemble (member e = seed e: its own initialisation and data order, the same data), and the
helpers the other verify measurements share.

Each function returns one tidy DataFrame with a `seed` column; the verdicts are drawn from these
tables alone by `verify.findings`, so a report rebuilt from the saved CSVs says the same.

- symmetry: zero against random initialisation of both presets: the largest distance between two
  hidden units' incoming weights after training (0 means every unit computes the same function).
- linear_collapse: a net Linear, identity, Linear is the one affine map x -> A x + c with
  A = W2 W1, c = W2 b1 + b2 (`algebraic`: how far the net's output is from it, rounding only);
  trained on the `linear` data it lands on the least-squares map (`trained`).
- activation_ranges: outputs of a trained sigmoid (and tanh) hidden layer: min, max, mean, std,
  per seed; and both functions over z in [-50, 50] (seed -1: no training involved).

Helpers: `child(seed, *keys)` (a SeedSequence derived from `seed` without advancing it, so the
same call gives the same stream: paired comparisons draw the same nets), `member_rngs`,
`preset_data`, `preset_net`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nnhw.core.data import Standardizer, make_dataset, split, targets
from nnhw.core.mlp import MLP
from nnhw.core.optim import make_optimizer
from nnhw.core.presets import PRESETS
from nnhw.core.train import History, TrainData, fit

Array = np.ndarray
NETS = ("regression", "classification")


def child(seed: np.random.SeedSequence, *keys: int) -> np.random.SeedSequence:
    """The stream `keys` below `seed` (as seed.spawn would give, but a pure function of both)."""
    return np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, *keys))


def member_rngs(seed: np.random.SeedSequence, n: int) -> list[np.random.Generator]:
    """One generator per ensemble member e = 0..n-1: child(seed, e)."""
    return [np.random.default_rng(child(seed, e)) for e in range(n)]


def preset_net(
    task: str,
    rngs: list[np.random.Generator],
    init: str | None = None,
    activation: str | None = None,
) -> MLP:
    """The course's net of `task` (1.2: regression, 1.3: classification), one member per rng."""
    p = PRESETS[task]
    d_in = 1 if p.dataset == "sine" else 2
    sizes = [d_in, *p.hidden, 1]
    return MLP(sizes, activation or p.activation, p.output_activation, rngs, init=init or p.init)


def preset_data(task: str, seed: np.random.SeedSequence, n_samples: int) -> TrainData:
    """The preset's dataset: n_samples points, 20% held out, inputs standardised."""
    p = PRESETS[task]
    data_rng, split_rng = (np.random.default_rng(child(seed, k)) for k in (0, 1))
    ds = make_dataset(p.dataset, n_samples, data_rng)
    tr, te = split(ds, 0.2, split_rng)
    st = Standardizer.fit(tr.X)
    return TrainData(st(tr.X), targets(tr, 1), st(te.X), targets(te, 1), tr.labels, te.labels)


def train_preset(
    model: MLP, data: TrainData, task: str, epochs: int, orders: list[np.random.Generator]
) -> History:
    """Train `model` with the preset's loss, optimiser, rate and batch size."""
    p = PRESETS[task]
    opt = make_optimizer(p.optimizer, p.lr)
    return fit(model, data, loss=p.loss, reduction="mean", optimizer=opt, epochs=epochs,
               batch_size=p.batch_size, rngs=orders)  # fmt: skip


def unit_spread(model: MLP) -> Array:
    """(E,): largest distance between two hidden units' incoming weights (W1 rows with b1)."""
    w = np.concatenate([model.params["W1"], model.params["b1"][:, :, None]], axis=-1)
    d = np.linalg.norm(w[:, :, None, :] - w[:, None, :, :], axis=-1)
    return d.max(axis=(1, 2))


def symmetry(seed: np.random.SeedSequence, seeds: int, epochs: int, n_samples: int) -> pd.DataFrame:
    """Zero vs random initialisation of both presets: unit spread and loss after training."""
    rows = []
    for k, task in enumerate(NETS):
        data = preset_data(task, child(seed, k, 0), n_samples)
        for init in ("zero", PRESETS[task].init):
            model = preset_net(task, member_rngs(child(seed, k, 1), seeds), init=init)
            before = unit_spread(model)
            hist = train_preset(model, data, task, epochs, member_rngs(child(seed, k, 2), seeds))
            after, loss = unit_spread(model), hist.array("train_loss")
            rows += [{"seed": e, "net": task, "init": init, "spread_before": float(before[e]),
                      "spread_after": float(after[e]), "train_loss_first": float(loss[0, e]),
                      "train_loss_last": float(loss[-1, e])} for e in range(seeds)]  # fmt: skip
    return pd.DataFrame(rows)


def _r2(pred: Array, y: Array) -> float:
    return float(1 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2))


def linear_collapse(
    seed: np.random.SeedSequence, seeds: int, epochs: int, n_samples: int
) -> pd.DataFrame:
    """Linear, identity, Linear on the `linear` data against ordinary least squares, per seed.

    Rows: `algebraic` (how far the net's output is from x A^T + c for its own A, c: rounding
    only) and `trained` (distance of A, c to the least-squares map, and both test R^2).
    """
    data_rng, split_rng = (np.random.default_rng(child(seed, 0, k)) for k in (0, 1))
    ds = make_dataset("linear", n_samples, data_rng)
    tr, te = split(ds, 0.2, split_rng)
    st = Standardizer.fit(tr.X)
    x_tr, x_te = st(tr.X), st(te.X)
    assert tr.y is not None and te.y is not None
    data = TrainData(x_tr, tr.y, x_te, te.y)
    model = MLP([x_tr.shape[1], 16, 1], "identity", "identity", member_rngs(child(seed, 1), seeds))

    def affine(e: int) -> tuple[Array, Array]:
        W1, b1, W2, b2 = (model.params[k][e] for k in ("W1", "b1", "W2", "b2"))
        return W2 @ W1, W2 @ b1 + b2

    out = model.forward(x_te)
    algebraic = []
    for e in range(seeds):
        A, c = affine(e)
        algebraic.append(float(np.max(np.abs(out[e] - (x_te @ A.T + c))) / np.max(np.abs(out[e]))))
    fit(
        model,
        data,
        loss="mse",
        reduction="mean",
        optimizer=make_optimizer("adam", 0.01),
        epochs=epochs,
        batch_size=x_tr.shape[0],
        rngs=member_rngs(child(seed, 2), seeds),
    )
    design = np.column_stack([x_tr, np.ones(len(x_tr))])
    coef = np.linalg.lstsq(design, tr.y, rcond=None)[0]
    A_ls, c_ls = coef[:-1].T, coef[-1]
    theta_ls = np.concatenate([A_ls.ravel(), c_ls])
    pred = model.forward(x_te)
    rows = []
    for e in range(seeds):
        A, c = affine(e)
        theta = np.concatenate([A.ravel(), c])
        rows += [
            {"seed": e, "check": "algebraic", "rel_distance": algebraic[e], "net_test_r2": np.nan,
             "lstsq_test_r2": np.nan},
            {"seed": e, "check": "trained",
             "rel_distance": float(np.linalg.norm(theta - theta_ls) / np.linalg.norm(theta_ls)),
             "net_test_r2": _r2(pred[e], te.y), "lstsq_test_r2": _r2(x_te @ A_ls.T + c_ls, te.y)},
        ]  # fmt: skip
    return pd.DataFrame(rows)


def activation_ranges(
    seed: np.random.SeedSequence, seeds: int, epochs: int, n_samples: int
) -> pd.DataFrame:
    """Hidden outputs of the classification preset trained with sigmoid and with tanh, per seed;
    and both functions over z in [-50, 50] (seed -1)."""
    rows = []
    data = preset_data("classification", child(seed, 0), n_samples)
    for act in ("sigmoid", "tanh"):
        model = preset_net("classification", member_rngs(child(seed, 1), seeds), activation=act)
        train_preset(model, data, "classification", epochs, member_rngs(child(seed, 2), seeds))
        model.forward(data.X_train)
        a = model.acts[1]  # (E, N, m)
        rows += [{"seed": e, "activation": act, "min": float(a[e].min()),
                  "max": float(a[e].max()), "mean": float(a[e].mean()),
                  "std": float(a[e].std())} for e in range(seeds)]  # fmt: skip
    z = np.linspace(-50, 50, 100_001)
    for act in ("sigmoid", "tanh"):
        a = MLP([1, 1, 1], act, "identity", [np.random.default_rng(0)]).f.forward(z)
        rows.append(
            {
                "seed": -1,
                "activation": f"{act} on [-50, 50]",
                "min": float(a.min()),
                "max": float(a.max()),
                "mean": float(a.mean()),
                "std": float(a.std()),
            }
        )
    return pd.DataFrame(rows)
