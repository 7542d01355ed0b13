"""The training loop: divergence is a result (stops at the first non-finite loss), the history's
records, and the course's presets learn."""

from __future__ import annotations

import numpy as np
import pytest

from nnhw.core.data import Standardizer, make_dataset, split, targets
from nnhw.core.mlp import MLP
from nnhw.core.optim import make_optimizer
from nnhw.core.presets import PRESETS, get_preset
from nnhw.core.train import History, TrainData, fit


def _preset_run(
    task: str, epochs: int | None = None, lr: float | None = None, optimizer: str | None = None
):
    p = get_preset(task)
    ds = make_dataset(p.dataset, p.n_samples, np.random.default_rng(0))
    train, test = split(ds, 0.2, np.random.default_rng(1))
    scale = Standardizer.fit(train.X)
    k = 1
    data = TrainData(
        scale(train.X), targets(train, k), scale(test.X), targets(test, k),
        train.labels, test.labels,
    )  # fmt: skip
    model = MLP(
        [train.X.shape[1], *p.hidden, k], p.activation, p.output_activation,
        [np.random.default_rng(2)], init=p.init,
    )  # fmt: skip
    hist = fit(
        model, data, loss=p.loss, reduction="mean",
        optimizer=make_optimizer(optimizer or p.optimizer, p.lr if lr is None else lr),
        epochs=p.epochs if epochs is None else epochs, batch_size=p.batch_size,
        rngs=[np.random.default_rng(3)],
    )  # fmt: skip
    return model, hist


def test_regression_preset_learns_sine():
    p = PRESETS["regression"]
    assert (p.activation, p.output_activation, p.loss, p.dataset) == (
        "relu", "identity", "mse", "sine",
    )  # fmt: skip
    _, hist = _preset_run("regression")
    assert hist.array("test_r2")[-1, 0] >= 0.95
    assert not hist.diverged and len(hist.epochs) == p.epochs + 1


def test_classification_preset_learns_moons():
    p = PRESETS["classification"]
    assert (p.activation, p.output_activation, p.loss, p.dataset) == (
        "sigmoid", "sigmoid", "mse", "moons",
    )  # fmt: skip
    _, hist = _preset_run("classification")
    assert hist.array("test_accuracy")[-1, 0] >= 0.95
    assert hist.array("train_loss")[-1, 0] < 0.5 * hist.array("train_loss")[0, 0]


def test_divergence_stops_at_the_first_non_finite_loss():
    # plain SGD with a huge step: the weights grow geometrically until the loss overflows
    # (Adam's steps are bounded by lr, so it would not blow up)
    _, hist = _preset_run("regression", epochs=30, lr=1e3, optimizer="sgd")
    loss = hist.array("train_loss")[:, 0]
    assert hist.diverged
    epoch = int(hist.diverged_epoch[0])
    assert epoch >= 1 and hist.epochs[-1] == epoch and len(loss) == epoch + 1
    assert np.all(np.isfinite(loss[:-1])) and not np.isfinite(loss[-1])


def test_an_ensemble_trains_on_until_every_member_has_diverged():
    data = TrainData(np.ones((4, 1)), np.ones((4, 1)))
    model = MLP([1, 2, 1], "relu", "identity", [np.random.default_rng(s) for s in (0, 1)])
    model.params["W1"][1] = 1e200  # member 1 overflows on its first forward pass
    model.params["b1"][1] = 1e200
    hist = fit(
        model, data, loss="mse", reduction="mean", optimizer=make_optimizer("sgd", 1e-3),
        epochs=3, batch_size=2, rngs=[np.random.default_rng(s) for s in (2, 3)],
    )  # fmt: skip
    np.testing.assert_array_equal(hist.diverged_epoch, [-1, 0])
    assert hist.epochs == [0, 1, 2, 3]  # member 0 kept training


def test_history_records_and_on_epoch_callback():
    data = TrainData(
        np.random.default_rng(0).normal(size=(20, 2)), np.zeros((20, 1)),
        np.zeros((5, 2)), np.zeros((5, 1)),
    )  # fmt: skip
    model = MLP([2, 3, 3, 1], "tanh", "identity", [np.random.default_rng(s) for s in (0, 1, 2)])
    seen: list[int] = []
    history = History()
    out = fit(
        model, data, loss="mse", reduction="sum", optimizer=make_optimizer("sgd", 0.01),
        epochs=2, batch_size=7, rngs=[np.random.default_rng(s) for s in (3, 4, 5)],
        history=history, on_epoch=lambda epoch, rec: seen.append(epoch),
    )  # fmt: skip
    assert out is history and seen == [0, 1, 2] == history.epochs
    assert history.array("train_loss").shape == (3, 3)
    assert history.array("grad_norm").shape == (3, 3, 3)  # records x members x weight layers
    assert history.array("dead_fraction").shape == (3, 3, 2)  # x hidden layers
    for key in ("test_loss", "train_r2", "test_r2", "signal_norm", "act_mean", "act_std"):
        assert key in history.metrics


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_loss_decreases_with_either_reduction(reduction):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3))
    data = TrainData(x, x @ np.array([[1.0], [-1.0], [0.5]]))
    model = MLP([3, 8, 1], "leaky-relu", "identity", [np.random.default_rng(1)])
    lr = 0.05 if reduction == "mean" else 0.05 / 16
    hist = fit(
        model, data, loss="mse", reduction=reduction, optimizer=make_optimizer("sgd", lr),
        epochs=10, batch_size=16, rngs=[np.random.default_rng(2)],
    )  # fmt: skip
    loss = hist.array("train_loss")[:, 0]
    assert loss[-1] < 0.2 * loss[0]
