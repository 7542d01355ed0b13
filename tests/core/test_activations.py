"""Activations against PyTorch (forward and autograd derivative), the settable LeakyReLU slope,
and sigmoid/tanh at |z| = 1e4 without a floating-point warning."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from nnhw.core.activations import ACTIVATION_NAMES, get_activation
from nnhw.core.errors import NnhwError
from tests.core.torch_ref import TORCH_ACTIVATIONS


def _z(dtype=np.float64) -> np.ndarray:
    rng = np.random.default_rng(0)
    # Random values, exact zeros (the kink: torch's derivative there is the z <= 0 branch) and
    # a few large magnitudes.
    z = np.concatenate([rng.normal(0, 3, 200), [0.0, -0.0, 30.0, -30.0, 1e-300, -1e-300]])
    return z.astype(dtype)


def _torch_forward_and_derivative(name: str, z: np.ndarray, slope: float):
    t = torch.tensor(z, requires_grad=True)
    a = TORCH_ACTIVATIONS[name](t, slope)
    a.sum().backward()
    assert t.grad is not None
    return a.detach().numpy(), t.grad.numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_forward_and_derivative_match_torch(name, dtype):
    act = get_activation(name)
    z = _z(dtype)
    a = act.forward(z)
    da = act.derivative(z, a)
    t_a, t_da = _torch_forward_and_derivative(name, z, 0.01)
    assert a.dtype == dtype and da.dtype == dtype and a.shape == z.shape
    eps = np.finfo(dtype).eps
    # Forward: within a few ulp of torch (libm and torch round tanh differently by an ulp).
    np.testing.assert_allclose(a, t_a, rtol=4 * eps, atol=np.finfo(dtype).tiny)
    # Derivatives lie in [0, 1]; 1 - a^2 near |a| = 1 cancels, so an ulp of difference in a
    # becomes an absolute (not relative) difference of about 2 eps: compare absolutely.
    np.testing.assert_allclose(da, t_da, rtol=0, atol=4 * eps)


@pytest.mark.parametrize("slope", [0.0, 0.01, 0.2, 1.0, 1.5, -0.5])
def test_leaky_relu_slope_is_settable_and_matches_torch(slope):
    act = get_activation("leaky-relu", negative_slope=slope)
    z = _z()
    a = act.forward(z)
    t_a, t_da = _torch_forward_and_derivative("leaky-relu", z, slope)
    np.testing.assert_allclose(a, t_a, rtol=1e-15)
    np.testing.assert_allclose(act.derivative(z, a), t_da, rtol=1e-15)
    assert act.forward(np.array([-2.0]))[0] == -2.0 * slope


def test_relu_derivative_at_zero_is_zero_and_leaky_is_its_slope():
    z = np.array([0.0, -1.0, 1.0])
    relu, leaky = get_activation("relu"), get_activation("leaky-relu", 0.1)
    np.testing.assert_array_equal(relu.derivative(z, relu.forward(z)), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(leaky.derivative(z, leaky.forward(z)), [0.1, 0.1, 1.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_saturating_activations_are_finite_and_silent_at_1e4(name, dtype):
    act = get_activation(name)
    z = np.array([-1e4, -1e3, -100.0, 0.0, 100.0, 1e3, 1e4], dtype=dtype)
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        a = act.forward(z)
        da = act.derivative(z, a)
    assert np.all(np.isfinite(a)) and np.all(np.isfinite(da))
    low = 0.0 if name == "sigmoid" else -1.0
    assert a[0] == low and a[-1] == 1.0 and da[0] == 0.0 and da[-1] == 0.0
    assert a.dtype == dtype


def test_sigmoid_is_in_zero_one_not_minus_one_one():
    """The course says sigmoid is 'normalized to [-1, 1]'; its range is (0, 1)."""
    sig = get_activation("sigmoid")
    a = sig.forward(np.linspace(-30, 30, 1001))
    assert a.min() > 0.0 and a.max() < 1.0 and sig.output_range == (0.0, 1.0)
    assert sig.forward(np.array([0.0]))[0] == 0.5


def test_registry_metadata():
    assert ACTIVATION_NAMES == ("relu", "leaky-relu", "tanh", "sigmoid", "identity")
    kinds = {n: get_activation(n).kind for n in ACTIVATION_NAMES}
    assert kinds == {
        "relu": "dying", "leaky-relu": "leaky", "tanh": "saturating",
        "sigmoid": "saturating", "identity": "linear",
    }  # fmt: skip
    assert get_activation("sigmoid").max_derivative == 0.25
    assert get_activation("tanh").max_derivative == 1.0
    # max_derivative is the sup of the derivative, checked on a fine grid
    z = np.linspace(-10, 10, 20001)
    for name in ACTIVATION_NAMES:
        act = get_activation(name)
        assert act.derivative(z, act.forward(z)).max() == pytest.approx(act.max_derivative)


def test_names_are_case_insensitive_and_unknown_ones_refused():
    assert get_activation("ReLU").name == "relu"
    with pytest.raises(NnhwError, match=r"unknown activation 'gelu'; choose one of relu"):
        get_activation("gelu")
