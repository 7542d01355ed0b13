"""Measurements for `nnhw verify` that need only the core (homework sections 1.2, 1.3, 1.4(c, d)).

Each function returns one tidy DataFrame; the verdicts are drawn from these tables alone by
`verify.findings`, so a report rebuilt from the saved CSVs says the same.

- gradient_checks: the hand-written backward pass of the course's two nets against central
  finite differences and, when PyTorch is installed, autograd (relative error per parameter).
- training_curves: the loss per epoch of both presets (does the training loop decrease it?).
- symmetry: zero against random initialisation: the largest distance between two hidden units'
  incoming weights after training (0 means every unit computes the same function).
- linear_collapse: a net Linear, identity, Linear is the one affine map x -> A x + c with
  A = W2 W1, c = W2 b1 + b2; trained, it lands on the least-squares solution.
- activation_ranges: outputs of a trained sigmoid (and tanh) layer: min, max, mean.
- dead_units: ReLU against LeakyReLU after a negative bias shift, before and after training.
- activation_cost: forward plus backward time of each activation on the same array.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from nnhw.core.activations import get_activation
from nnhw.core.data import Standardizer, make_dataset, split, targets
from nnhw.core.gradcheck import loss_and_gradients, numerical_gradients, relative_error
from nnhw.core.mlp import MLP
from nnhw.core.optim import make_optimizer
from nnhw.core.presets import PRESETS
from nnhw.core.train import TrainData, fit

Array = np.ndarray
NETS = ("regression", "classification")


def _rngs(seed: np.random.SeedSequence, n: int) -> list[np.random.Generator]:
    return [np.random.default_rng(s) for s in seed.spawn(n)]


def _preset_net(task: str, rng: np.random.Generator, init: str | None = None) -> MLP:
    p = PRESETS[task]
    d_in = 1 if p.dataset == "sine" else 2
    sizes = [d_in, *p.hidden, 1]
    return MLP(sizes, p.activation, p.output_activation, [rng], init=init or p.init)


def _preset_data(task: str, seed: np.random.SeedSequence, n_samples: int) -> TrainData:
    p = PRESETS[task]
    data_rng, split_rng = _rngs(seed, 2)
    ds = make_dataset(p.dataset, n_samples, data_rng)
    tr, te = split(ds, 0.2, split_rng)
    st = Standardizer.fit(tr.X)
    return TrainData(st(tr.X), targets(tr, 1), st(te.X), targets(te, 1), tr.labels, te.labels)


def _torch_gradients(model: MLP, x: Array, y: Array, loss: str) -> dict[str, Array] | None:
    """Autograd's gradients of the same net, or None when PyTorch is not installed."""
    try:
        import torch  # optional (the test extra) and slow to import: only when checking
    except ImportError:
        return None
    act = {"relu": torch.relu, "sigmoid": torch.sigmoid, "identity": lambda t: t}
    params = {k: torch.tensor(v[0], requires_grad=True) for k, v in model.params.items()}
    a = torch.tensor(x)
    for l in range(1, model.n_layers + 1):
        z = a @ params[f"W{l}"].T + params[f"b{l}"]
        a = act[(model.f if l < model.n_layers else model.g).name](z)
    target = torch.tensor(y)
    if loss == "mse":
        value = torch.nn.functional.mse_loss(a, target)
    else:
        value = torch.nn.functional.binary_cross_entropy(a, target)
    value.backward()
    return {k: p.grad.numpy()[None] for k, p in params.items() if p.grad is not None}


def gradient_checks(seed: np.random.SeedSequence, batch: int = 8) -> pd.DataFrame:
    """Relative error of the manual gradients of both course nets, per parameter."""
    rows = []
    for task, s in zip(NETS, seed.spawn(len(NETS))):
        net_rng, data_rng = _rngs(s, 2)
        model = _preset_net(task, net_rng)
        d_in = model.sizes[0]
        x = data_rng.standard_normal((batch, d_in))
        y = data_rng.uniform(0, 1, (batch, 1)) if task == "classification" else x[:, :1] ** 2
        for loss in ("mse", "bce") if task == "classification" else ("mse",):
            _, analytic = loss_and_gradients(model, x, y, loss)
            numeric = numerical_gradients(model, x, y, loss)
            oracle = _torch_gradients(model, x, y, loss)
            for name in model.names:
                rows.append(
                    {
                        "net": task,
                        "loss": loss,
                        "parameter": name,
                        "fd_rel_error": relative_error(analytic[name], numeric[name]),
                        "torch_rel_error": np.nan
                        if oracle is None
                        else relative_error(analytic[name], oracle[name]),
                    }
                )
    return pd.DataFrame(rows)


def _train(
    model: MLP,
    data: TrainData,
    task: str,
    epochs: int,
    seed: np.random.SeedSequence,
    lr: float | None = None,
    optimizer: str | None = None,
):  # type: ignore[no-untyped-def]
    p = PRESETS[task]
    opt = make_optimizer(optimizer or p.optimizer, lr or p.lr)
    return fit(
        model,
        data,
        loss=p.loss,
        reduction="mean",
        optimizer=opt,
        epochs=epochs,
        batch_size=p.batch_size,
        rngs=_rngs(seed, model.members),
    )


def training_curves(seed: np.random.SeedSequence, epochs: int, n_samples: int) -> pd.DataFrame:
    """Train and test loss per epoch of both presets."""
    frames = []
    for task, s in zip(NETS, seed.spawn(len(NETS))):
        data_s, net_s, order_s = s.spawn(3)
        model = _preset_net(task, np.random.default_rng(net_s))
        hist = _train(model, _preset_data(task, data_s, n_samples), task, epochs, order_s)
        frames.append(
            pd.DataFrame(
                {
                    "net": task,
                    "epoch": hist.epochs,
                    "train_loss": hist.array("train_loss")[:, 0],
                    "test_loss": hist.array("test_loss")[:, 0],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _unit_spread(model: MLP) -> float:
    """Largest distance between two hidden units' incoming weights (W1 rows with b1)."""
    w = np.column_stack([model.params["W1"][0], model.params["b1"][0]])
    return float(np.max(np.linalg.norm(w[:, None, :] - w[None, :, :], axis=-1)))


def symmetry(seed: np.random.SeedSequence, epochs: int, n_samples: int) -> pd.DataFrame:
    """Zero vs random initialisation of both presets: unit spread and loss after training."""
    rows = []
    for task, s in zip(NETS, seed.spawn(len(NETS))):
        data_s, net_s, order_s = s.spawn(3)
        data = _preset_data(task, data_s, n_samples)
        for init in ("zero", PRESETS[task].init):
            model = _preset_net(task, np.random.default_rng(net_s), init=init)
            before = _unit_spread(model)
            hist = _train(model, data, task, epochs, order_s)
            rows.append(
                {
                    "net": task,
                    "init": init,
                    "spread_before": before,
                    "spread_after": _unit_spread(model),
                    "train_loss_first": float(hist.array("train_loss")[0, 0]),
                    "train_loss_last": float(hist.array("train_loss")[-1, 0]),
                }
            )
    return pd.DataFrame(rows)


def linear_collapse(seed: np.random.SeedSequence, epochs: int, n_samples: int) -> pd.DataFrame:
    """Linear, identity, Linear on the `linear` data against ordinary least squares.

    Rows: `algebraic` (how far the net's output is from x A^T + c for its own A, c: rounding
    only) and `trained` (distance of A, c to the least-squares map, and both test R^2).
    """
    data_s, net_s, order_s = seed.spawn(3)
    data_rng, split_rng = _rngs(data_s, 2)
    ds = make_dataset("linear", n_samples, data_rng)
    tr, te = split(ds, 0.2, split_rng)
    st = Standardizer.fit(tr.X)
    x_tr, x_te = st(tr.X), st(te.X)
    assert tr.y is not None and te.y is not None
    data = TrainData(x_tr, tr.y, x_te, te.y)
    model = MLP([x_tr.shape[1], 16, 1], "identity", "identity", [np.random.default_rng(net_s)])

    def affine() -> tuple[Array, Array]:
        W1, b1, W2, b2 = (model.params[k][0] for k in ("W1", "b1", "W2", "b2"))
        return W2 @ W1, W2 @ b1 + b2

    A, c = affine()
    out = model.forward(x_te)[0]
    algebraic = float(np.max(np.abs(out - (x_te @ A.T + c))) / np.max(np.abs(out)))
    opt = make_optimizer("adam", 0.01)
    fit(
        model,
        data,
        loss="mse",
        reduction="mean",
        optimizer=opt,
        epochs=epochs,
        batch_size=x_tr.shape[0],
        rngs=_rngs(order_s, 1),
    )
    A, c = affine()
    design = np.column_stack([x_tr, np.ones(len(x_tr))])
    coef = np.linalg.lstsq(design, tr.y, rcond=None)[0]
    A_ls, c_ls = coef[:-1].T, coef[-1]
    theta, theta_ls = np.concatenate([A.ravel(), c]), np.concatenate([A_ls.ravel(), c_ls])

    def r2(pred: Array, y: Array) -> float:
        return float(1 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2))

    return pd.DataFrame(
        [
            {
                "check": "algebraic",
                "rel_distance": algebraic,
                "net_test_r2": np.nan,
                "lstsq_test_r2": np.nan,
            },
            {
                "check": "trained",
                "rel_distance": float(np.linalg.norm(theta - theta_ls) / np.linalg.norm(theta_ls)),
                "net_test_r2": r2(model.forward(x_te)[0], te.y),
                "lstsq_test_r2": r2(x_te @ A_ls.T + c_ls, te.y),
            },
        ]
    )


def activation_ranges(seed: np.random.SeedSequence, epochs: int, n_samples: int) -> pd.DataFrame:
    """Hidden outputs of the classification preset trained with sigmoid and with tanh."""
    rows = []
    data_s, net_s, order_s = seed.spawn(3)
    data = _preset_data("classification", data_s, n_samples)
    for act in ("sigmoid", "tanh"):
        model = MLP([2, 64, 1], act, "sigmoid", [np.random.default_rng(net_s)])
        _train(model, data, "classification", epochs, order_s)
        model.forward(data.X_train)
        a = model.acts[1]
        rows.append(
            {
                "activation": act,
                "min": float(a.min()),
                "max": float(a.max()),
                "mean": float(a.mean()),
                "std": float(a.std()),
            }
        )
    z = np.linspace(-50, 50, 100_001)
    for act in ("sigmoid", "tanh"):
        f = MLP([1, 1, 1], act, "identity", [np.random.default_rng(0)]).f
        a = f.forward(z)
        rows.append(
            {
                "activation": f"{act} on [-50, 50]",
                "min": float(a.min()),
                "max": float(a.max()),
                "mean": float(a.mean()),
                "std": float(a.std()),
            }
        )
    return pd.DataFrame(rows)


def dead_units(
    seed: np.random.SeedSequence, epochs: int, n_samples: int, bias_shift: float = -3.0
) -> pd.DataFrame:
    """ReLU vs LeakyReLU on the regression preset after shifting every hidden bias by
    `bias_shift`: dead fraction and loss before and after training (same init, same data)."""
    rows = []
    data_s, net_s, order_s = seed.spawn(3)
    data = _preset_data("regression", data_s, n_samples)
    for act in ("relu", "leaky-relu"):
        model = MLP([1, 64, 1], act, "identity", [np.random.default_rng(net_s)])
        model.params["b1"] += bias_shift
        hist = _train(model, data, "regression", epochs, order_s)
        dead = hist.array("dead_fraction")[:, 0, 0]
        loss = hist.array("train_loss")[:, 0]
        rows.append(
            {
                "activation": act,
                "bias_shift": bias_shift,
                "dead_before": dead[0],
                "dead_after": dead[-1],
                "loss_before": loss[0],
                "loss_after": loss[-1],
            }
        )
    return pd.DataFrame(rows)


def activation_cost(
    seed: np.random.SeedSequence, shape: tuple[int, int] = (256, 256), repeats: int = 200
) -> pd.DataFrame:
    """Median forward + backward time of each activation on the same array (interleaved)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(shape)
    dout = rng.standard_normal(shape)
    names = ("relu", "leaky-relu", "tanh", "sigmoid")
    acts = [get_activation(n) for n in names]
    times: dict[str, list[float]] = {n: [] for n in names}
    for _ in range(repeats):
        for name, f in zip(names, acts):
            t0 = time.perf_counter()
            a = f.forward(z)
            _ = dout * f.derivative(z, a)
            times[name].append(time.perf_counter() - t0)
    base = float(np.median(times["relu"]))
    return pd.DataFrame(
        [
            {
                "activation": n,
                "median_us": 1e6 * float(np.median(times[n])),
                "ratio_to_relu": float(np.median(times[n])) / base,
            }
            for n in names
        ]
    )
