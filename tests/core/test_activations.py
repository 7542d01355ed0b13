"""Activations against PyTorch (forward and autograd derivative) and, for the ones beyond the
course's, against mpmath at 30 digits; the settable LeakyReLU slope and ELU alpha; every activation
at |z| = 1e4 in float16, float32 and float64 without a floating-point warning; the registry's
metadata (largest slope, range, saturation) against the functions themselves; SELU's constants
against the fixed point they were chosen for."""

from __future__ import annotations

import warnings

import mpmath as mp
import numpy as np
import pytest
import torch

from nnhw.core.activations import (
    ACTIVATION_NAMES,
    COURSE_ACTIVATIONS,
    SELU_ALPHA,
    SELU_SCALE,
    get_activation,
    saturation_edge,
)
from nnhw.core.errors import NnhwError
from tests.core.torch_ref import TORCH_ACTIVATIONS


def _z(dtype=np.float64) -> np.ndarray:
    rng = np.random.default_rng(0)
    # Random values, exact zeros (the kink: torch's derivative there is the z <= 0 branch) and
    # a few large magnitudes.
    z = np.concatenate([rng.normal(0, 3, 200), [0.0, -0.0, 30.0, -30.0, 1e-300, -1e-300]])
    return z.astype(dtype)


def _torch_forward_and_derivative(name: str, z: np.ndarray, slope: float, alpha: float = 1.0):
    t = torch.tensor(z, requires_grad=True)
    a = TORCH_ACTIVATIONS[name](t, slope, alpha)
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
    # Forward: within a few ulp of torch (libm and torch round tanh differently by an ulp). torch's
    # GELUs compute 0.5 z (1 + erf(.)) and 0.5 z (1 + tanh(.)), which cancel in the left tail
    # (0 at z = -30, where z Phi(z) = -1.5e-196): there the agreement is absolute.
    tail = 8 * eps if name in ("gelu", "gelu-tanh") else np.finfo(dtype).tiny
    np.testing.assert_allclose(a, t_a, rtol=8 * eps, atol=tail)
    # Derivatives are of order 1; 1 - a^2 near |a| = 1 cancels, so an ulp of difference in a
    # becomes an absolute (not relative) difference of about 2 eps: compare absolutely. torch's
    # new ones cancel more (silu: x (1 - sigmoid(x)) at x = 30), so they get 32 eps; their
    # accuracy is held against mpmath below.
    atol = (4 if name in COURSE_ACTIVATIONS else 32) * eps
    np.testing.assert_allclose(da, t_da, rtol=0, atol=atol)


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


# f(-1e4), f(1e4), f'(-1e4), f'(1e4): the limits, which every dtype must return
LIMITS = {
    "relu": (0.0, 1e4, 0.0, 1.0),
    "leaky-relu": (-100.0, 1e4, 0.01, 1.0),
    "tanh": (-1.0, 1.0, 0.0, 0.0),
    "sigmoid": (0.0, 1.0, 0.0, 0.0),
    "identity": (-1e4, 1e4, 1.0, 1.0),
    "gelu": (0.0, 1e4, 0.0, 1.0),
    "gelu-tanh": (0.0, 1e4, 0.0, 1.0),
    "silu": (0.0, 1e4, 0.0, 1.0),
    "elu": (-1.0, 1e4, 0.0, 1.0),
    "selu": (-SELU_SCALE * SELU_ALPHA, SELU_SCALE * 1e4, 0.0, SELU_SCALE),
    "softplus": (0.0, 1e4, 0.0, 1.0),
    "mish": (0.0, 1e4, 0.0, 1.0),
}


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_every_activation_is_finite_and_silent_at_1e4(name, dtype):
    """No overflow, division by zero or invalid operation (raised as errors here), no warning of
    any kind (turned into errors), finite results of z's dtype, and the right limits."""
    act = get_activation(name)
    z = np.array([-1e4, -1e3, -100.0, -30.0, 0.0, 30.0, 100.0, 1e3, 1e4], dtype=dtype)
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        a = act.forward(z)
        da = act.derivative(z, a)
        out = np.full_like(z, np.nan)
        act.derivative(z, a, out=out)
    assert a.dtype == dtype and da.dtype == dtype
    assert np.all(np.isfinite(a)) and np.all(np.isfinite(da))
    np.testing.assert_array_equal(out, da)
    expected = np.array(LIMITS[name], dtype=dtype)
    got = np.array([a[0], a[-1], da[0], da[-1]])
    np.testing.assert_allclose(got, expected, rtol=np.finfo(dtype).eps, atol=0)


def _mp_reference(name: str, z: float, alpha: float) -> tuple[float, float]:
    """(f(z), f'(z)) of the activations beyond the course's, in 30-digit arithmetic."""
    x = mp.mpf(z)
    sig = 1 / (1 + mp.exp(-x))
    sp = mp.log1p(mp.exp(x)) if x < 0 else x + mp.log1p(mp.exp(-x))
    if name == "gelu":
        return x * mp.ncdf(x), mp.ncdf(x) + x * mp.npdf(x)
    if name == "gelu-tanh":
        c, k = mp.sqrt(2 / mp.pi), mp.mpf("0.044715")
        s = 1 / (1 + mp.exp(-2 * c * (x + k * x**3)))
        return x * s, s + 2 * x * s * (1 - s) * c * (1 + 3 * k * x * x)
    if name == "silu":
        return x * sig, sig * (1 + x * (1 - sig))
    if name in ("elu", "selu"):
        a, lam = (alpha, 1) if name == "elu" else (mp.mpf(SELU_ALPHA), mp.mpf(SELU_SCALE))
        return (lam * x, lam) if x > 0 else (lam * a * mp.expm1(x), lam * a * mp.exp(x))
    if name == "softplus":
        return sp, sig
    if name == "mish":
        t = mp.tanh(sp)
        return x * t, t + x * sig * (1 - t * t)
    raise ValueError(name)


@pytest.mark.parametrize("name", [n for n in ACTIVATION_NAMES if n not in COURSE_ACTIVATIONS])
def test_new_activations_match_mpmath(name):
    """Float64 forward to 8 ulp relative (tails included: GELU at z = -30 is -1.5e-196) and the
    derivative to 8 eps relative or 4 eps absolute (it crosses 0 for GELU, SiLU, Mish)."""
    alpha = 0.7
    act = get_activation(name, elu_alpha=alpha)
    z = np.concatenate([np.linspace(-37, 37, 741), _z()])
    a, d = act.forward(z), act.derivative(z, act.forward(z))
    with mp.workdps(30):
        ref = np.array([[float(v) for v in _mp_reference(name, float(x), alpha)] for x in z])
    eps = np.finfo(np.float64).eps
    # gelu-tanh's sigma(2y), y = sqrt(2/pi) (z + 0.044715 z^3), inherits the rounding of y: a
    # relative error of |2y| eps in the left tail (1e-13 at z = -20), the formula's conditioning
    cond = 1.0
    if name == "gelu-tanh":
        cond = 1 + np.abs(2 * np.sqrt(2 / np.pi) * (z + 0.044715 * z**3))
    tiny = np.finfo(np.float64).tiny
    assert np.all(np.abs(a - ref[:, 0]) <= 8 * eps * cond * np.abs(ref[:, 0]) + tiny)
    assert np.all(np.abs(d - ref[:, 1]) <= 8 * eps * cond * np.abs(ref[:, 1]) + 4 * eps)


@pytest.mark.parametrize("alpha", [0.1, 0.7, 1.0, 2.0])
def test_elu_alpha_is_settable_and_matches_torch(alpha):
    act = get_activation("elu", elu_alpha=alpha)
    z = _z()
    a = act.forward(z)
    t_a, t_da = _torch_forward_and_derivative("elu", z, 0.01, alpha)
    np.testing.assert_allclose(a, t_a, rtol=4e-16, atol=1e-300)
    np.testing.assert_allclose(act.derivative(z, a), t_da, rtol=4e-16, atol=1e-300)
    assert act.forward(np.array([-50.0]))[0] == -alpha
    assert act.output_range == (-alpha, np.inf) and act.max_derivative == max(1.0, alpha)
    # SELU's alpha is fixed: the setting does not reach it
    selu = get_activation("selu", elu_alpha=alpha)
    assert selu.forward(np.array([-50.0]))[0] == pytest.approx(-SELU_SCALE * SELU_ALPHA)


def test_piecewise_derivatives_at_zero_take_the_left_branch():
    """As torch: ReLU 0, LeakyReLU its slope, ELU alpha, SELU lambda alpha."""
    z = np.array([0.0, -0.0])
    for name, expected in (("elu", 0.5), ("selu", SELU_SCALE * SELU_ALPHA)):
        act = get_activation(name, elu_alpha=0.5)
        np.testing.assert_allclose(act.derivative(z, act.forward(z)), expected, rtol=1e-15)
        _, t_da = _torch_forward_and_derivative(name, z, 0.01, 0.5)
        np.testing.assert_allclose(t_da, expected, rtol=1e-15)


def test_selu_constants_are_the_self_normalising_fixed_point():
    """Klambauer et al.'s alpha and lambda make E[selu(z)] = 0 and E[selu(z)^2] = 1 for
    z ~ N(0, 1): computed here by 30-digit quadrature, to float64's rounding."""
    with mp.workdps(30):
        a, lam = mp.mpf(SELU_ALPHA), mp.mpf(SELU_SCALE)

        def moment(k: int) -> mp.mpf:
            neg = mp.quad(lambda x: (lam * a * mp.expm1(x)) ** k * mp.npdf(x), [-mp.inf, 0])
            pos = mp.quad(lambda x: (lam * x) ** k * mp.npdf(x), [0, mp.inf])
            return neg + pos

        assert abs(moment(1)) < 1e-15
        assert abs(moment(2) - 1) < 1e-15


def test_sigmoid_is_in_zero_one_not_minus_one_one():
    """The course says sigmoid is 'normalized to [-1, 1]'; its range is (0, 1)."""
    sig = get_activation("sigmoid")
    a = sig.forward(np.linspace(-30, 30, 1001))
    assert a.min() > 0.0 and a.max() < 1.0 and sig.output_range == (0.0, 1.0)
    assert sig.forward(np.array([0.0]))[0] == 0.5


def test_registry_metadata():
    assert ACTIVATION_NAMES == (
        "relu", "leaky-relu", "tanh", "sigmoid", "identity",
        "gelu", "gelu-tanh", "silu", "elu", "selu", "softplus", "mish",
    )  # fmt: skip
    assert ACTIVATION_NAMES[: len(COURSE_ACTIVATIONS)] == COURSE_ACTIVATIONS
    kinds = {n: get_activation(n).kind for n in ACTIVATION_NAMES}
    assert kinds == {
        "relu": "dying", "leaky-relu": "leaky", "tanh": "saturating",
        "sigmoid": "saturating", "identity": "linear", "gelu": "smooth", "gelu-tanh": "smooth",
        "silu": "smooth", "elu": "exponential", "selu": "exponential", "softplus": "smooth",
        "mish": "smooth",
    }  # fmt: skip
    tails = {n for n in ACTIVATION_NAMES if get_activation(n).saturation == "left tail"}
    assert tails == {"gelu", "gelu-tanh", "silu", "elu", "selu", "softplus", "mish"}
    assert {n for n in ACTIVATION_NAMES if get_activation(n).saturation == "two-sided"} == {
        "tanh", "sigmoid"
    }  # fmt: skip
    assert get_activation("sigmoid").max_derivative == 0.25
    assert get_activation("tanh").max_derivative == 1.0
    # max_derivative is the sup of the derivative, and output_range[0] the inf of f, checked on a
    # fine grid (softplus' slope tends to 1 as z -> inf: sigma(40) rounds to 1)
    z = np.linspace(-10, 40, 50001)
    for name in ACTIVATION_NAMES:
        act = get_activation(name)
        a = act.forward(z)
        assert act.derivative(z, a).max() == pytest.approx(act.max_derivative, rel=1e-6), name
        assert a.min() >= act.output_range[0], name
        if name in ("gelu", "gelu-tanh", "silu", "mish"):  # a minimum inside, not a limit
            assert a.min() == pytest.approx(act.output_range[0], rel=1e-6), name


def test_saturation_edge_is_where_the_left_tail_starts():
    """ELU: alpha e^z < t alpha below ln t; softplus: sigma(z) < t below logit(t); GELU's f' is 0
    at z = -0.752 (its minimum), which is no tail: the edge lies below it."""
    for t in (0.05, 0.2):
        elu = get_activation("elu", elu_alpha=2.0)  # max slope 2: alpha e^z < 2 t below ln t
        assert saturation_edge(elu, t) == pytest.approx(np.log(t), abs=1e-3)
        softplus = get_activation("softplus")
        assert saturation_edge(softplus, t) == pytest.approx(np.log(t / (1 - t)), abs=1e-3)
    gelu = get_activation("gelu")
    edge = saturation_edge(gelu, 0.05)
    z = np.linspace(-60, edge, 10001)[:-1]  # saturated: z < edge
    assert np.all(np.abs(gelu.derivative(z, gelu.forward(z))) < 0.05 * gelu.max_derivative)
    assert (
        edge < -2.0
        and abs(gelu.derivative(np.array([-0.75179]), gelu.forward(np.array([-0.75179])))[0]) < 1e-5
    )
    with pytest.raises(ValueError):
        saturation_edge(get_activation("relu"), 0.05)


def test_names_are_case_insensitive_and_unknown_ones_refused():
    assert get_activation("ReLU").name == "relu"
    assert get_activation("GELU-Tanh").name == "gelu-tanh"
    with pytest.raises(NnhwError, match=r"unknown activation 'swish'; choose one of relu, .*mish"):
        get_activation("swish")
