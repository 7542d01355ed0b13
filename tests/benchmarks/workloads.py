"""Benchmark workloads: the nets, their data, and the NumPy contenders (nnhw and the NumPy limit).

A contender is a `prepare()` that builds fresh state (untimed) and returns `run()`, the timed
training. Every contender of a workload trains the same net (sizes, activations, loss, batch size,
epochs, learning rate, dtype) on the same data with plain SGD; `steps` is the number of optimiser
steps one net takes in one `run()` and `nets` the number of nets it trains, so times compare per
net and step.

`numpy_train` is the NumPy limit: the minimal loop a person writes by hand for this net (2-D
arrays, one fancy-indexed gather per step, the output layer's gradient fused with the loss, four
in-place parameter updates). `tests/core/test_bench_smoke.py` checks that it and nnhw's step loop
reach the same parameters, so the comparison is between two implementations of the same maths.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nnhw.core.mlp import MLP
from nnhw.core.optim import SGD
from nnhw.core.train import TrainData, fit, train_epoch
from nnhw.experiments.runs.executors import available_cores

Array = np.ndarray
Run = Callable[[], object]
# Threads nnhw's step loop may use to split an ensemble (core.train.train_epoch): the machine's
# cores, as nnhw uses them for a serial sweep, or bench.py --threads N. A single net never splits.
NNHW_THREADS = available_cores()


@dataclass(frozen=True)
class Net:
    """One benchmark net and the training settings every contender uses."""

    name: str
    n: int
    d_in: int
    hidden: int
    d_out: int
    activation: str  # hidden layer: relu or sigmoid
    output: str  # identity or sigmoid
    loss: str  # mse (identity), bce (sigmoid) or softmax-cross-entropy (identity)
    batch: int
    epochs: int
    lr: float
    dtype: str = "float64"

    @property
    def sizes(self) -> list[int]:
        return [self.d_in, self.hidden, self.d_out]

    @property
    def steps(self) -> int:
        """Optimiser steps of one net over all epochs (the last, shorter batch included)."""
        return self.epochs * math.ceil(self.n / self.batch)


SMALL_RELU = Net("small-relu", 2000, 2, 64, 1, "relu", "identity", "mse", 32, 20, 0.05)
SMALL_SIGMOID = Net("small-sigmoid", 2000, 2, 64, 1, "sigmoid", "sigmoid", "bce", 32, 20, 0.5)
LARGE = Net("large", 20000, 784, 256, 10, "relu", "identity", "softmax-cross-entropy", 128, 1, 0.05)


@dataclass(frozen=True)
class Data:
    X: Array  # (n, d_in)
    Y: Array  # (n, d_out), loss targets (one-hot for softmax-cross-entropy)
    labels: Array | None  # (n,) classes, classification only


@dataclass(frozen=True)
class Contender:
    name: str
    prepare: Callable[[], Run]
    steps: int  # optimiser steps per net in one run
    nets: int = 1  # nets trained in one run


def make_data(net: Net, seed: int = 0) -> Data:
    """Synthetic data for `net`: a smooth regression target, XOR-like classes, or the classes of a
    random linear teacher (softmax)."""
    rng = np.random.default_rng(seed)
    dt = np.dtype(net.dtype)
    if net.loss == "mse":
        X = rng.uniform(-3, 3, (net.n, net.d_in))
        Y = np.sin(X[:, :1]) + 0.5 * np.cos(X[:, -1:]) + 0.1 * rng.normal(size=(net.n, 1))
        return Data(X.astype(dt), np.repeat(Y, net.d_out, axis=1).astype(dt), None)
    if net.loss == "bce":
        X = rng.uniform(-3, 3, (net.n, net.d_in))
        labels = (X[:, 0] * X[:, -1] > 0) ^ (rng.random(net.n) < 0.05)
        return Data(X.astype(dt), labels[:, None].astype(dt), labels.astype(np.int64))
    X = rng.normal(size=(net.n, net.d_in))
    teacher = rng.normal(size=(net.d_in, net.d_out))
    labels = np.argmax(X @ teacher + rng.normal(size=(net.n, net.d_out)), axis=1)
    return Data(X.astype(dt), np.eye(net.d_out)[labels].astype(dt), labels)


def init_rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def order_rng(seed: int) -> np.random.Generator:
    """The data-order generator of the net with this seed (another stream than its init)."""
    return np.random.default_rng([seed, 1])


def make_model(net: Net, seeds: list[int]) -> MLP:
    """nnhw's net, one member per seed; PyTorch's default (`standard`) initialisation."""
    return MLP(net.sizes, net.activation, net.output, [init_rng(s) for s in seeds], dtype=net.dtype)


def init_params(net: Net, seed: int) -> list[Array]:
    """[W1, b1, W2, b2] as 2-D/1-D arrays: the same initial values nnhw draws for this seed."""
    model = make_model(net, [seed])
    return [model.params[name][0].copy() for name in model.names]


# --- the NumPy limit ---------------------------------------------------------------------------


def _sigmoid(z: Array) -> Array:
    return 1 / (1 + np.exp(-z))


def _output_delta(net: Net, z2: Array, y: Array) -> Array:
    """dL/dz2 with the output activation and the mean-reduced loss fused, as written by hand."""
    if net.loss == "mse":
        return (z2 - y) * (2 / y.size)
    if net.loss == "bce":
        return (_sigmoid(z2) - y) / y.size
    e = np.exp(z2 - z2.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True) - y) / y.shape[0]


def numpy_train(net: Net, data: Data, params: list[Array], rng: np.random.Generator) -> None:
    """Train [W1, b1, W2, b2] in place for net.epochs epochs of minibatch SGD."""
    W1, b1, W2, b2 = params
    X, Y, n, lr = data.X, data.Y, net.n, net.lr
    relu = net.activation == "relu"
    for _ in range(net.epochs):
        perm = rng.permutation(n)
        for start in range(0, n, net.batch):
            idx = perm[start : start + net.batch]
            x, y = X[idx], Y[idx]
            z1 = x @ W1.T + b1
            a1 = np.maximum(z1, 0) if relu else _sigmoid(z1)
            dz2 = _output_delta(net, a1 @ W2.T + b2, y)
            dz1 = (dz2 @ W2) * ((z1 > 0) if relu else a1 * (1 - a1))
            W2 -= lr * (dz2.T @ a1)
            b2 -= lr * dz2.sum(axis=0)
            W1 -= lr * (dz1.T @ x)
            b1 -= lr * dz1.sum(axis=0)


# --- contenders --------------------------------------------------------------------------------


def nnhw_train(net: Net, data: Data, model: MLP, rngs: list[np.random.Generator]) -> None:
    """nnhw's step loop (core.train.train_epoch) for net.epochs epochs, without evaluation."""
    opt = SGD(net.lr)
    for _ in range(net.epochs):
        train_epoch(
            model, data.X, data.Y, loss=net.loss, reduction="mean", optimizer=opt,
            batch_size=net.batch, rngs=rngs, threads=NNHW_THREADS,
        )  # fmt: skip


def numpy_contender(net: Net, data: Data, seed: int = 0, runs: int = 1) -> Contender:
    """`runs` separate minimal-loop trainings (seeds seed..seed+runs-1), one after the other."""

    def prepare() -> Run:
        states = [(init_params(net, seed + r), order_rng(seed + r)) for r in range(runs)]
        return lambda: [numpy_train(net, data, p, rng) for p, rng in states]

    name = "numpy" if runs == 1 else f"numpy x{runs} separate"
    return Contender(name, prepare, net.steps, runs)


def nnhw_contender(net: Net, data: Data, seed: int = 0, members: int = 1) -> Contender:
    """One nnhw model with `members` ensemble members (seeds seed..seed+members-1)."""
    seeds = list(range(seed, seed + members))

    def prepare() -> Run:
        model = make_model(net, seeds)
        rngs = [order_rng(s) for s in seeds]
        return lambda: nnhw_train(net, data, model, rngs)

    name = "nnhw" if members == 1 else f"nnhw ensemble E={members}"
    return Contender(name, prepare, net.steps, members)


def nnhw_separate_contender(net: Net, data: Data, seed: int = 0, runs: int = 2) -> Contender:
    """`runs` single-net nnhw trainings, one after the other."""

    def prepare() -> Run:
        states = [(make_model(net, [s]), [order_rng(s)]) for s in range(seed, seed + runs)]
        return lambda: [nnhw_train(net, data, m, rngs) for m, rngs in states]

    return Contender(f"nnhw x{runs} separate", prepare, net.steps, runs)


def nnhw_fit_contender(net: Net, data: Data, seed: int = 0) -> Contender:
    """core.train.fit: the same steps plus its evaluation after initialisation and every epoch."""
    train = TrainData(data.X, data.Y, labels_train=data.labels)

    def prepare() -> Run:
        model = make_model(net, [seed])
        return lambda: fit(
            model, train, loss=net.loss, reduction="mean", optimizer=SGD(net.lr),
            epochs=net.epochs, batch_size=net.batch, rngs=[order_rng(seed)],
        )  # fmt: skip

    return Contender("nnhw fit (with evaluation)", prepare, net.steps)
