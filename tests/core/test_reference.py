"""core.reference, the course's net as a layer library, against PyTorch autograd (float64,
relative error <= 1e-10) for every hidden x output activation of the registry and both of the
course's losses, and on a tiny net worked by hand.

Relative error is core.gradcheck.relative_error: max |a - b| over a whole tensor divided by that
tensor's largest entry.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812 (the PyTorch convention)

from nnhw.core.activations import ACTIVATION_NAMES
from nnhw.core.gradcheck import relative_error
from nnhw.core.reference import (
    REFERENCE_LOSSES,
    affine_backward,
    affine_forward,
    reference_forward_backward,
)
from tests.core.torch_ref import TORCH_ACTIVATIONS

torch.set_num_threads(1)

N, n, m, K = 7, 3, 5, 4  # examples, inputs, hidden units, outputs: all > 1
SLOPE = 0.2  # LeakyReLU's negative slope, large enough to show in every gradient
ALPHA = 0.7  # ELU's alpha, not its default 1


def _problem(seed: int, n_out: int = K) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    params = {
        "W1": rng.normal(0, 0.7, (m, n)),
        "b1": rng.normal(0, 0.3, m),
        "W2": rng.normal(0, 0.7, (n_out, m)),
        "b2": rng.normal(0, 0.3, n_out),
    }
    return params, rng.normal(size=(N, n)), rng.uniform(size=(N, n_out))


def _autograd(params, x, y, f: str, g: str, loss: str):
    """(l, y_hat, {param: dl/dparam}, {z1, z2, z3, y_hat: dl/d them}) from torch autograd."""
    t = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    z1 = torch.from_numpy(x) @ t["W1"].T + t["b1"]
    z2 = TORCH_ACTIVATIONS[f](z1, SLOPE, ALPHA)
    z3 = z2 @ t["W2"].T + t["b2"]
    y_hat = TORCH_ACTIVATIONS[g](z3, SLOPE, ALPHA)
    signals = {"z1": z1, "z2": z2, "z3": z3, "y_hat": y_hat}
    for s in signals.values():
        if s.requires_grad:
            s.retain_grad()
    reduction = "sum" if loss == "squared-error" else "mean"  # ||y_hat - y||^2, or over N K
    value = F.mse_loss(y_hat, torch.from_numpy(y), reduction=reduction)
    value.backward()
    grads = {k: p.grad.numpy() for k, p in t.items()}
    dsignals = {k: s.grad.numpy() for k, s in signals.items()}
    return value.item(), y_hat.detach().numpy(), grads, dsignals


def _assert_matches_autograd(params, x, y, f: str, g: str, loss: str) -> None:
    ours = reference_forward_backward(params, x, y, f, g, loss, SLOPE, ALPHA)
    value, y_hat, grads, dsignals = _autograd(params, x, y, f, g, loss)
    assert ours.loss == pytest.approx(value, rel=1e-12, abs=1e-14)
    np.testing.assert_allclose(ours.y_hat, y_hat, rtol=1e-13, atol=1e-15)
    assert sorted(ours.grads) == sorted(grads)
    for name, grad in grads.items():
        assert ours.grads[name].shape == params[name].shape
        err = relative_error(ours.grads[name], grad)
        assert err <= 1e-10, f"d{name}: relative error {err:.2e} vs autograd"
    for name, dsignal in dsignals.items():
        err = relative_error(ours.backward[name], dsignal)
        assert err <= 1e-10, f"dl/d{name}: relative error {err:.2e} vs autograd"


PAIRS = [(f, g) for f in ACTIVATION_NAMES for g in ACTIVATION_NAMES]


@pytest.mark.parametrize("loss", sorted(REFERENCE_LOSSES))
@pytest.mark.parametrize(("f", "g"), PAIRS, ids=[f"{f}-{g}" for f, g in PAIRS])
def test_reference_net_matches_autograd(f: str, g: str, loss: str) -> None:
    params, x, y = _problem(seed=PAIRS.index((f, g)))
    _assert_matches_autograd(params, x, y, f, g, loss)


def test_course_regression_net_1_2() -> None:
    """1.2: f = ReLU, g = identity, l = ||y_hat - y||^2; several outputs, real-valued targets."""
    params, x, _ = _problem(seed=100)
    y = np.random.default_rng(101).normal(size=(N, K))
    _assert_matches_autograd(params, x, y, "relu", "identity", "squared-error")


def test_course_classification_net_1_3() -> None:
    """1.3: f = g = sigmoid, the same squared error, one-hot targets of K classes."""
    params, x, _ = _problem(seed=102)
    y = np.eye(K)[np.random.default_rng(103).integers(0, K, size=N)]
    _assert_matches_autograd(params, x, y, "sigmoid", "sigmoid", "squared-error")


def test_mse_is_the_squared_error_over_n_k() -> None:
    params, x, y = _problem(seed=104)
    total = reference_forward_backward(params, x, y, "tanh", "identity", "squared-error")
    mean = reference_forward_backward(params, x, y, "tanh", "identity", "mse")
    assert mean.loss == pytest.approx(total.loss / (N * K), rel=1e-14)
    for name in total.grads:
        np.testing.assert_allclose(mean.grads[name], total.grads[name] / (N * K), rtol=1e-13)


def test_affine_layer_shapes_and_transposes() -> None:
    """A non-square W: a missing transpose would fail on the shapes."""
    rng = np.random.default_rng(105)
    x, W, b = rng.normal(size=(N, 3)), rng.normal(size=(2, 3)), rng.normal(size=2)
    z, cache = affine_forward(x, W, b)
    assert z.shape == (N, 2)
    np.testing.assert_allclose(z[0], W @ x[0] + b, rtol=1e-14)  # row i is W x_i + b
    dz = rng.normal(size=(N, 2))
    dx, dW, db = affine_backward(dz, cache)
    assert (dx.shape, dW.shape, db.shape) == ((N, 3), (2, 3), (2,))
    np.testing.assert_allclose(dW, sum(np.outer(dz[i], x[i]) for i in range(N)), rtol=1e-13)


def test_tiny_net_worked_by_hand() -> None:
    """The example of tests/core/test_course_nets.py (2 inputs, 2 ReLU units, 1 identity output,
    batch 2), with the mean squared error; every number is a short binary fraction, so exact."""
    params = {
        "W1": np.array([[1.0, -1.0], [0.5, 1.0]]),
        "b1": np.array([0.0, -1.0]),
        "W2": np.array([[2.0, -1.0]]),
        "b2": np.array([0.5]),
    }
    x = np.array([[1.0, 2.0], [-1.0, 0.0]])
    y = np.array([[1.0], [0.5]])
    out = reference_forward_backward(params, x, y, "relu", "identity", "mse")
    # z1 = W1 x + b1 = (-1, 1.5) and (-1, -1.5); z2 = relu(z1); y_hat = W2 z2 + b2 = -1 and 0.5.
    np.testing.assert_array_equal(out.forward["z1"], [[-1.0, 1.5], [-1.0, -1.5]])
    np.testing.assert_array_equal(out.y_hat, [[-1.0], [0.5]])
    assert out.loss == 2.0  # ((-1 - 1)^2 + 0^2) / 2
    # dl/dz3 = (-2, 0); dW2 = dz3^T z2 = (0, -3); dz1 = (dz3 W2) * relu'(z1) = (0, 2) and 0.
    np.testing.assert_array_equal(out.grads["W2"], [[0.0, -3.0]])
    np.testing.assert_array_equal(out.grads["b2"], [-2.0])
    np.testing.assert_array_equal(out.grads["W1"], [[0.0, 0.0], [2.0, 4.0]])
    np.testing.assert_array_equal(out.grads["b1"], [0.0, 2.0])
