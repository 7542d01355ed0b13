"""Zero initialisation keeps every hidden unit of a layer identical through training (the symmetry
problem of homework 1.2(a)); random initialisation breaks the symmetry."""

from __future__ import annotations

import numpy as np
import pytest

from nnhw.core.data import make_dataset, targets
from nnhw.core.mlp import MLP
from nnhw.core.optim import make_optimizer
from nnhw.core.train import TrainData, fit


def _train(init: str, activation: str, optimizer: str, depth: int) -> tuple[MLP, MLP]:
    ds = make_dataset("moons", 64, np.random.default_rng(0))
    data = TrainData(ds.X, targets(ds, 1), labels_train=ds.labels)
    sizes = [2] + [6] * depth + [1]
    model = MLP(sizes, activation, "sigmoid", [np.random.default_rng(1)], init=init)
    start = MLP(sizes, activation, "sigmoid", [np.random.default_rng(1)], init=init)
    fit(
        model, data, loss="mse", reduction="mean",
        optimizer=make_optimizer(optimizer, lr=0.5 if optimizer == "sgd" else 0.01),
        epochs=5, batch_size=8, rngs=[np.random.default_rng(2)],
    )  # fmt: skip
    return model, start


def _spread(a: np.ndarray, axis: int) -> float:
    """Largest difference between slices of `a` along `axis` (0: rows, 1: columns)."""
    return float(np.max(np.abs(a - np.take(a, [0], axis=axis))))


def _hidden_units_identical(model: MLP, tol: float = 1e-12) -> bool:
    """Every row of W_l and entry of b_l equal within a hidden layer; every column of W_{l+1}
    equal (the outgoing weights of the units). Equal up to `tol`: BLAS may sum the rows of a
    product in different orders, so identical units can differ by an ulp (about 1e-17 here)."""
    for l in range(1, model.n_layers):
        W, b, W_next = (model.params[n][0] for n in (f"W{l}", f"b{l}", f"W{l + 1}"))
        if max(_spread(W, 0), _spread(b[None, :], 1), _spread(W_next, 1)) > tol:
            return False
    return True


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("depth", [1, 2])
def test_zero_init_keeps_hidden_units_identical(depth, optimizer):
    # sigmoid(0) = 1/2 is non-zero, so the units do receive gradients and move: they move together
    model, start = _train("zero", "sigmoid", optimizer, depth)
    assert _hidden_units_identical(model)
    for name in model.names:
        assert not np.array_equal(model.params[name], start.params[name]), f"{name} never moved"


def test_zero_init_relu_and_tanh_are_stuck_entirely():
    """relu'(0) = 0 and tanh(0) = 0: with all-zero weights no hidden parameter gets a gradient."""
    for activation in ("relu", "tanh"):
        model, start = _train("zero", activation, "sgd", 1)
        np.testing.assert_array_equal(model.params["W1"], start.params["W1"])
        np.testing.assert_array_equal(model.params["W2"], start.params["W2"])
        assert model.params["b2"][0, 0] != 0.0  # only the output bias learns


@pytest.mark.parametrize("init", ["standard", "xavier-normal", "he-uniform"])
def test_random_init_breaks_symmetry(init):
    model, _ = _train(init, "sigmoid", "sgd", 2)
    assert not _hidden_units_identical(model)
    W1 = model.params["W1"][0]
    assert np.min(np.abs(W1[:, None, :] - W1[None, :, :]).sum(-1) + np.eye(len(W1))) > 1e-3
