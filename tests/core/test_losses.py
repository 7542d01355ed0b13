"""Losses alone against PyTorch: values and gradients, both reductions, BCE's clamp at 0 and 1."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nnhw.core.errors import NnhwError
from nnhw.core.gradcheck import relative_error
from nnhw.core.losses import LOSS_NAMES, check_reduction, get_loss
from tests.core.torch_ref import torch_loss


def _inputs(loss: str, rng: np.random.Generator, E: int = 2, N: int = 7, k: int = 3):
    if loss == "mse":
        return rng.normal(size=(E, N, k)), rng.normal(size=(N, k))
    if loss == "bce":
        return rng.uniform(0.01, 0.99, size=(E, N, k)), rng.uniform(size=(N, k))
    logits = rng.normal(0, 3, size=(N, k))
    return rng.normal(0, 5, size=(E, N, k)), np.exp(logits) / np.exp(logits).sum(1, keepdims=True)


def _torch_value_and_grad(loss: str, y_hat: np.ndarray, y: np.ndarray, reduction: str):
    t = torch.tensor(y_hat, requires_grad=True)
    value = torch_loss(loss, t, torch.tensor(y), reduction)
    value.backward()
    assert t.grad is not None
    return value.item(), t.grad.numpy()


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_loss_value_and_gradient_match_torch(loss, reduction):
    y_hat, y = _inputs(loss, np.random.default_rng(len(loss)))
    value, d = get_loss(loss)(y_hat, y, reduction)
    assert value.shape == (2,) and d.shape == y_hat.shape
    for e in range(2):
        t_value, t_grad = _torch_value_and_grad(loss, y_hat[e], y, reduction)
        assert value[e] == pytest.approx(t_value, rel=1e-13)
        assert relative_error(d[e], t_grad) <= 1e-13


@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_mean_is_sum_over_its_count(loss):
    y_hat, y = _inputs(loss, np.random.default_rng(1), N=5, k=4)
    mean, d_mean = get_loss(loss)(y_hat, y, "mean")
    total, d_sum = get_loss(loss)(y_hat, y, "sum")
    count = 5 if loss == "softmax-cross-entropy" else 5 * 4  # CE averages over the batch only
    np.testing.assert_allclose(mean * count, total, rtol=1e-14)
    np.testing.assert_allclose(d_mean * count, d_sum, rtol=1e-14)


def test_per_member_targets_are_accepted():
    rng = np.random.default_rng(2)
    y_hat, y = rng.normal(size=(3, 4, 2)), rng.normal(size=(3, 4, 2))
    value, _ = get_loss("mse")(y_hat, y, "mean")
    np.testing.assert_allclose(value, ((y_hat - y) ** 2).mean(axis=(1, 2)), rtol=1e-14)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_bce_at_zero_and_one_is_clamped_like_torch(reduction):
    """log(0) is clamped at -100 (torch.nn.BCELoss), so a confident wrong answer costs 100."""
    p = np.array([[[0.0, 1.0, 0.0, 1.0]]])
    y = np.array([[1.0, 0.0, 0.0, 1.0]])  # wrong, wrong, right, right
    value, d = get_loss("bce")(p, y, reduction)
    t_value, t_grad = _torch_value_and_grad("bce", p[0], y, reduction)
    assert np.isfinite(value).all() and np.isfinite(d).all()
    assert value[0] == pytest.approx(t_value, rel=1e-15)
    assert value[0] == pytest.approx(200.0 / (4 if reduction == "mean" else 1))
    np.testing.assert_allclose(d[0], t_grad, rtol=1e-15)


def test_softmax_cross_entropy_is_stable_for_huge_logits():
    z = np.array([[[1e4, 0.0, -1e4], [-1e4, -1e4, 1e4]]])
    y = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    value, d = get_loss("softmax-cross-entropy")(z, y, "sum")
    t_value, t_grad = _torch_value_and_grad("softmax-cross-entropy", z[0], y, "sum")
    assert value[0] == pytest.approx(2e4) and value[0] == pytest.approx(t_value, rel=1e-15)
    np.testing.assert_allclose(d[0], t_grad, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_losses_keep_the_dtype(loss, dtype):
    y_hat, y = _inputs(loss, np.random.default_rng(3))
    value, d = get_loss(loss)(y_hat.astype(dtype), y.astype(dtype), "mean")
    assert value.dtype == dtype and d.dtype == dtype


def test_unknown_names_are_refused_with_the_choices():
    with pytest.raises(NnhwError, match=r"unknown loss 'hinge'.*mse"):
        get_loss("hinge")
    with pytest.raises(NnhwError, match=r"unknown reduction 'avg'.*mean, sum"):
        check_reduction("avg")
    assert get_loss("MSE") is get_loss("mse") and check_reduction("SUM") == "sum"
