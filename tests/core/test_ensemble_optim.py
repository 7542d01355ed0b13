"""An ensemble of E members trains member for member like E single runs, and the optimisers
step exactly like torch.optim.SGD (momentum) and torch.optim.Adam."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nnhw.core.data import Standardizer, make_dataset, split, targets
from nnhw.core.losses import get_loss
from nnhw.core.mlp import MLP
from nnhw.core.optim import make_optimizer
from nnhw.core.train import TrainData, fit
from tests.core.torch_ref import linear_layers, torch_loss

SEEDS = [11, 12, 13]


def _data() -> TrainData:
    ds = make_dataset("moons", 90, np.random.default_rng(0))
    train, test = split(ds, 0.2, np.random.default_rng(1))
    scale = Standardizer.fit(train.X)
    return TrainData(
        scale(train.X), targets(train, 1), scale(test.X), targets(test, 1),
        train.labels, test.labels,
    )  # fmt: skip


def _train(seeds: list[int], optimizer: str, data: TrainData):
    model = MLP([2, 8, 8, 1], "tanh", "sigmoid", [np.random.default_rng([s, 0]) for s in seeds])
    opt = make_optimizer(optimizer, lr=0.05, momentum=0.9 if optimizer == "sgd" else 0.0)
    history = fit(
        model, data, loss="bce", reduction="mean", optimizer=opt, epochs=4, batch_size=16,
        rngs=[np.random.default_rng([s, 1]) for s in seeds],
    )  # fmt: skip
    return model, history


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_ensemble_trains_like_separate_runs(optimizer):
    data = _data()
    ensemble, hist = _train(SEEDS, optimizer, data)
    assert ensemble.members == len(SEEDS)
    for e, seed in enumerate(SEEDS):
        single, single_hist = _train([seed], optimizer, data)
        for name in ensemble.names:
            diff = np.max(np.abs(ensemble.params[name][e] - single.params[name][0]))
            assert diff <= 1e-12, f"{optimizer} member {e} {name}: {diff:.1e}"
        np.testing.assert_allclose(
            hist.array("train_loss")[:, e], single_hist.array("train_loss")[:, 0], rtol=1e-12
        )
    # and the members really differ (own init and own data order), so the test can fail
    assert np.max(np.abs(ensemble.params["W1"][0] - ensemble.params["W1"][1])) > 0.1
    assert hist.array("train_loss")[-1].mean() < hist.array("train_loss")[0].mean()


def _steps(optimizer: str, n_steps: int = 5):
    """Our optimiser and torch's over the same batches: returns (ours, torch's) final params."""
    rng = np.random.default_rng(3)
    model = MLP([3, 5, 2], "relu", "identity", [np.random.default_rng(4)])
    layers = linear_layers(model, 0)
    params = [p for lin in layers for p in (lin.weight, lin.bias)]
    if optimizer == "sgd":
        ours = make_optimizer("sgd", lr=0.1, momentum=0.9)
        theirs: torch.optim.Optimizer = torch.optim.SGD(params, lr=0.1, momentum=0.9)
    else:
        ours = make_optimizer("adam", lr=0.01)
        theirs = torch.optim.Adam(params, lr=0.01)
    for _ in range(n_steps):
        x, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
        _, d = get_loss("mse")(model.forward(x), y, "mean")
        model.backward(d)
        ours.step(model)
        theirs.zero_grad()
        a = torch.from_numpy(x)
        a = torch.relu(layers[0](a))
        torch_loss("mse", layers[1](a), torch.from_numpy(y), "mean").backward()
        theirs.step()
    return model, layers


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_optimizer_steps_match_torch(optimizer):
    model, layers = _steps(optimizer)
    start = MLP([3, 5, 2], "relu", "identity", [np.random.default_rng(4)])
    for l, lin in enumerate(layers, start=1):
        for name, tensor in ((f"W{l}", lin.weight), (f"b{l}", lin.bias)):
            theirs = tensor.detach().numpy()
            np.testing.assert_allclose(model.params[name][0], theirs, rtol=1e-12, atol=1e-14)
            assert not np.allclose(model.params[name], start.params[name])  # it moved


def test_sgd_without_momentum_is_plain_gradient_descent():
    model = MLP([2, 3, 1], "sigmoid", "identity", [np.random.default_rng(0)])
    model.grad_flat[...] = np.random.default_rng(1).normal(size=model.grad_flat.shape)
    before = model.flat.copy()
    make_optimizer("SGD", lr=0.25).step(model)
    np.testing.assert_array_equal(model.flat, before - 0.25 * model.grad_flat)


def test_unknown_optimizer_refused():
    from nnhw.core.errors import NnhwError

    with pytest.raises(NnhwError, match=r"unknown optimizer 'rmsprop'; choose one of sgd, adam"):
        make_optimizer("rmsprop", 0.1)
