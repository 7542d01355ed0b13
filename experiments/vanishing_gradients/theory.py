"""Variance propagation at initialisation (Glorot & Bengio 2010, He et al. 2015): what the
per-layer scale of activations and gradients should be, for a given activation and initialiser.

Setting: an MLP with input dimension d_in and L hidden layers of width n, z_l = W_l a_{l-1} + b_l,
a_l = f(z_l), weights i.i.d. with mean 0 and variance Var(W_l), biases with variance Var(b_l).
Mean-field assumptions: every pre-activation z_l is Gaussian N(0, q_l) over the random weights
(and inputs), and the backward pass sees weights independent of the forward pass.

Forward (second moments; a_0 = x with E[x^2] = 1 for standardised inputs):
    q_1 = d_in Var(W_1) E[x^2] + Var(b_1),   q_{l+1} = n Var(W_{l+1}) E[f(z_l)^2] + Var(b_{l+1}).
    The std of a_l over units and inputs is sqrt(E[f(z_l)^2] - E[f(z_l)]^2), z_l ~ N(0, q_l).
Backward, for dz_{l} = (dz_{l+1} W_{l+1}) * f'(z_l):
    Var(dz_l) = n_out Var(W_{l+1}) E[f'(z_l)^2] Var(dz_{l+1}),   n_out = n for a hidden W_{l+1}.
    So the NORM of the back-propagated signal dL/dz (over batch and units; every hidden layer has n
    units) changes by  sqrt(n Var(W) E[f'(z)^2])  per layer towards the input. With Xavier on a
    square layer n Var(W) = 1 and the factor is sqrt(E[f'^2]): about 1/4 for sigmoid (f' <= 1/4,
    = 1/4 at z = 0); He (n Var(W) = 2) with ReLU (E[f'^2] = 1/2) gives exactly 1; Xavier with ReLU
    gives sqrt(1/2) for the signal and halves the activations' variance per layer.
Weight gradients, per example: dW_l = dz_l a_{l-1}^T is rank one, ||dW_l||_F = |dz_l| |a_{l-1}|,
    so ||dW_l|| / ||dW_{l+1}|| = (|dz_l| / |dz_{l+1}|) sqrt(E[a_{l-1}^2] / E[a_l^2]). This ignores
    correlations between the examples of a batch, which the measured batch gradient contains.

Expectations over z ~ N(0, q): closed forms for the piecewise-linear activations (relu: E[f] =
sqrt(q / 2 pi), E[f^2] = q / 2, E[f'^2] = 1 / 2; leaky-relu with slope s: (1 - s) sqrt(q / 2 pi),
(1 + s^2) q / 2, (1 + s^2) / 2; identity: 0, q, 1) and Gauss-Hermite quadrature with
`QUADRATURE_NODES` nodes for the smooth ones (sigmoid, tanh; error far below 1e-10 for the
variances met here). Predictions are per layer; a predicted factor is the geometric mean of the
predicted consecutive ratios over the same layers the measurement uses, so a layer-dependent
scale (e.g. tanh's slowly shrinking variance) is predicted exactly as it is measured.

Dead ReLU: with zero biases and weights from any symmetric continuous distribution, each unit of a
layer is off (z <= 0) with probability 1/2 independently given a non-zero input, so the whole
layer is zero with probability 2^-n and an input reaches the output of a depth-L net with
probability (1 - 2^-n)^L: P(dead) = 1 - (1 - 2^-n)^L.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.polynomial.hermite_e import hermegauss

from nnhw.core.activations import DEFAULT_NEGATIVE_SLOPE, get_activation
from nnhw.core.errors import NnhwError
from nnhw.core.init import DEFAULT_SCALE, check_init

Array = np.ndarray
QUADRATURE_NODES = 101
_NODES, _WEIGHTS = hermegauss(QUADRATURE_NODES)
_WEIGHTS = _WEIGHTS / math.sqrt(2 * math.pi)  # probabilists' Hermite: weight exp(-x^2/2)


def weight_variance(init: str, fan_out: int, fan_in: int) -> float:
    """Var of one weight of a (fan_out, fan_in) matrix drawn by `init` (see core.init)."""
    name = check_init(init)
    uniform = 1.0 / 3.0  # Var U(-c, c) = c^2 / 3
    return {
        "zero": 0.0,
        "normal": DEFAULT_SCALE**2,
        "uniform": DEFAULT_SCALE**2 * uniform,
        "standard": uniform / fan_in,
        "xavier-uniform": 6.0 / (fan_in + fan_out) * uniform,
        "xavier-normal": 2.0 / (fan_in + fan_out),
        "he-uniform": 6.0 / fan_in * uniform,
        "he-normal": 2.0 / fan_in,
    }[name]


def bias_variance(init: str, fan_in: int) -> float:
    """Var of one bias: U(+-1/sqrt(fan_in)) for `standard`, zero otherwise (core.init)."""
    return 1.0 / (3.0 * fan_in) if check_init(init) == "standard" else 0.0


@dataclass(frozen=True)
class Moments:
    """E[f(z)], E[f(z)^2] and E[f'(z)^2] for z ~ N(0, q)."""

    mean: float
    second: float
    slope2: float


def gaussian_moments(
    activation: str, q: float, negative_slope: float = DEFAULT_NEGATIVE_SLOPE
) -> Moments:
    """Moments of f and f' under z ~ N(0, q): closed form or Gauss-Hermite quadrature."""
    act = get_activation(activation, negative_slope)
    if q < 0 or not math.isfinite(q):
        raise NnhwError(f"pre-activation variance must be finite and >= 0, got {q}")
    if act.name in ("relu", "leaky-relu"):
        s = 0.0 if act.name == "relu" else float(negative_slope)
        if q == 0.0:  # z = 0 exactly: f = 0 and f' is the z <= 0 branch's slope (PyTorch)
            return Moments(0.0, 0.0, s * s)
        return Moments((1 - s) * math.sqrt(q / (2 * math.pi)), (1 + s * s) * q / 2, (1 + s * s) / 2)
    if act.name == "identity":
        return Moments(0.0, q, 1.0)
    z = math.sqrt(q) * _NODES
    a = act.forward(z)
    d = act.derivative(z, a)
    return Moments(float(_WEIGHTS @ a), float(_WEIGHTS @ (a * a)), float(_WEIGHTS @ (d * d)))


@dataclass(frozen=True)
class Propagation:
    """Predicted per-hidden-layer quantities for layers 1..L (arrays of length L).

    preact_var: q_l. act_std: std of a_l. act_second: E[a_l^2]. signal: |dz_l| relative to the
    last hidden layer's (signal[-1] = 1). weight_grad: ||dW_l|| relative to ||dW_L|| (per-example
    approximation)."""

    preact_var: Array
    act_std: Array
    act_second: Array
    signal: Array
    weight_grad: Array


def propagate(
    activation: str,
    init: str,
    depth: int,
    width: int,
    d_in: int,
    negative_slope: float = DEFAULT_NEGATIVE_SLOPE,
) -> Propagation:
    """The forward and backward variance recursions through `depth` hidden layers of `width`."""
    if depth < 1 or width < 1 or d_in < 1:
        raise NnhwError(f"depth, width and d_in must be >= 1, got {depth}, {width}, {d_in}")
    n = width
    q = np.empty(depth)
    m2 = np.empty(depth)
    std = np.empty(depth)
    slope2 = np.empty(depth)
    prev_second = 1.0  # E[x^2] of standardised inputs
    for l in range(depth):
        fan_in = d_in if l == 0 else n
        q[l] = fan_in * weight_variance(init, n, fan_in) * prev_second + bias_variance(init, fan_in)
        mo = gaussian_moments(activation, float(q[l]), negative_slope)
        m2[l], slope2[l] = mo.second, mo.slope2
        std[l] = math.sqrt(max(mo.second - mo.mean**2, 0.0))
        prev_second = mo.second
    # Backward: the factor from layer l+1 to layer l is sqrt(n Var(W_{l+1}) E[f'(z_l)^2]).
    step = np.sqrt(n * weight_variance(init, n, n) * slope2[:-1])  # (L-1,) for l = 1..L-1
    signal = np.ones(depth)
    for l in range(depth - 2, -1, -1):
        signal[l] = signal[l + 1] * step[l]
    inputs_second = np.concatenate([[1.0], m2[:-1]])  # E[a_{l-1}^2], a_0 = x
    weight = signal * np.sqrt(inputs_second / inputs_second[-1])
    return Propagation(q, std, m2, signal, weight)


def geometric_factor(values: Array) -> float:
    """Geometric mean of consecutive ratios values[l] / values[l+1] = (v_1 / v_L)^(1/(L-1)).

    NaN for fewer than two values or a non-positive value."""
    v = np.asarray(values, dtype=np.float64)
    if v.size < 2 or not np.all(np.isfinite(v)) or np.any(v <= 0):
        return math.nan
    return float(np.exp((np.log(v[0]) - np.log(v[-1])) / (v.size - 1)))


def dead_relu_probability(width: int | Array, depth: int | Array) -> Array:
    """P(an input's output is identically zero) = 1 - (1 - 2^-width)^depth (zero biases)."""
    w = np.asarray(width, dtype=np.float64)
    return -np.expm1(np.asarray(depth, dtype=np.float64) * np.log1p(-np.exp2(-w)))
