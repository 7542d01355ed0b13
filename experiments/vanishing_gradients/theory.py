"""Signal propagation at initialisation for any registered activation (mean-field theory: Glorot &
Bengio 2010, He et al. 2015, Poole et al. 2016, Schoenholz et al. 2017): what the per-layer scale
of activations and gradients should be, its fixed point and the initialisation that is critical.

Setting: an MLP with input dimension d_in and L hidden layers of width n, z_l = W_l a_{l-1} + b_l,
a_l = f(z_l), weights i.i.d. with mean 0 and variance Var(W_l), biases with variance Var(b_l).
Mean-field assumptions: every pre-activation z_l is Gaussian N(0, q_l) over the random weights
(and inputs), and the backward pass sees weights independent of the forward pass.

Forward, the variance map (second moments, so no mean term is needed; a_0 = x, E[x^2] = 1):
    q_1 = d_in Var(W_1) E[x^2] + Var(b_1),   q_{l+1} = T(q_l) = sigma_w^2 E[f(z_l)^2] + sigma_b^2,
    sigma_w^2 = n Var(W), sigma_b^2 = Var(b). The mean and std of a_l are E[f(z_l)] and
    sqrt(E[f(z_l)^2] - E[f(z_l)]^2), z_l ~ N(0, q_l).
Backward, for dz_l = (dz_{l+1} W_{l+1}) * f'(z_l):
    Var(dz_l) = chi(q_l) Var(dz_{l+1}),   chi(q) = sigma_w^2 E[f'(z)^2], z ~ N(0, q).
    So the NORM of the back-propagated signal dL/dz changes by sqrt(chi(q_l)) per layer towards
    the input: about 1/4 for sigmoid with Xavier, exactly 1 for ReLU with He (E[f'^2] = 1/2).
Weight gradients, per example: dW_l = dz_l a_{l-1}^T is rank one, ||dW_l||_F = |dz_l| |a_{l-1}|,
    so ||dW_l|| / ||dW_{l+1}|| = (|dz_l| / |dz_{l+1}|) sqrt(E[a_{l-1}^2] / E[a_l^2]). This ignores
    correlations between the examples of a batch, which the measured batch gradient contains.
Fixed point and criticality: iterated from q_1, the map T converges to a fixed point q* = T(q*)
    (or collapses to 0, or diverges). chi(q*) is the per-layer factor of the gradient's variance
    deep in the net: chi* < 1 vanishes, > 1 explodes, = 1 is critical. For each activation,
    `critical_sigma_w2` finds the weight variance n Var(W) (zero biases) whose chi* is 1: 2 for
    ReLU (He), 1 for tanh and SELU (LeCun; SELU's q* = 1 exactly).

Expectations over z ~ N(0, q), for every activation alike: E[g(z)] = E[g(sqrt(q) x)], x ~ N(0, 1),
by composite Gauss-Legendre quadrature on each half-line, with the pieces [0, 0.01], [0.01, 0.1],
[0.1, 1], [1, 4], [4, 10] (24 nodes each; phi(10) = 8e-23 ends the tail). The split at 0 is
where every kink is (ReLU, LeakyReLU, ELU, SELU): across a kink Gauss-Hermite converges slowly
(numpy's hermegauss with 101 nodes gives E[relu'(z)^2] = 0.438, not 1/2: its node at 0 carries
weight 0.124), while each smooth piece is integrated to rounding; the pieces near 0 resolve
tanh(sqrt(q) x) up to q = 1e5. Against 25-digit integration: within 2e-11 relative for q <= 1e5
(tests: the closed forms of ReLU, LeakyReLU and identity; Monte Carlo; mpmath).

Dead ReLU: with zero biases and weights from any symmetric continuous distribution, each unit of a
layer is off (z <= 0) with probability 1/2 independently given a non-zero input, so the whole
layer is zero with probability 2^-n and an input reaches the output of a depth-L net with
probability (1 - 2^-n)^L: P(dead) = 1 - (1 - 2^-n)^L.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass

import numpy as np

from nnhw.core.activations import (
    DEFAULT_ELU_ALPHA,
    DEFAULT_NEGATIVE_SLOPE,
    Activation,
    get_activation,
)
from nnhw.core.errors import NnhwError
from nnhw.core.init import DEFAULT_SCALE, INIT_NAMES, check_init

Array = np.ndarray
QUADRATURE_PIECES = (0.0, 0.01, 0.1, 1.0, 4.0, 10.0)
QUADRATURE_NODES = 24  # per piece


def _rule() -> tuple[Array, Array]:
    """Nodes x and weights w with sum w g(x) = E[g(x)], x ~ N(0, 1) (module docstring)."""
    t, wt = np.polynomial.legendre.leggauss(QUADRATURE_NODES)
    xs, ws = [], []
    for a, b in itertools.pairwise(QUADRATURE_PIECES):
        x = a + (b - a) * (t + 1) / 2
        xs.append(x)
        ws.append((b - a) / 2 * wt * np.exp(-x * x / 2) / math.sqrt(2 * math.pi))
    x, w = np.concatenate(xs), np.concatenate(ws)
    return np.concatenate([-x[::-1], x]), np.concatenate([w[::-1], w])


_NODES, _WEIGHTS = _rule()


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
        "lecun-normal": 1.0 / fan_in,
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


def moments(act: Activation, q: Array) -> tuple[Array, Array, Array]:
    """(E[f], E[f^2], E[f'^2]) under z ~ N(0, q), elementwise over an array of variances q."""
    q = np.asarray(q, dtype=np.float64)
    z = np.sqrt(q)[..., None] * _NODES
    a = act.forward(z)
    d = act.derivative(z, a)
    return a @ _WEIGHTS, (a * a) @ _WEIGHTS, (d * d) @ _WEIGHTS


def gaussian_moments(
    activation: str,
    q: float,
    negative_slope: float = DEFAULT_NEGATIVE_SLOPE,
    elu_alpha: float = DEFAULT_ELU_ALPHA,
) -> Moments:
    """Moments of f and f' under z ~ N(0, q), by quadrature (module docstring)."""
    if q < 0 or not math.isfinite(q):
        raise NnhwError(f"pre-activation variance must be finite and >= 0, got {q}")
    m1, m2, s2 = moments(get_activation(activation, negative_slope, elu_alpha), np.array(q))
    return Moments(float(m1), float(m2), float(s2))


@dataclass(frozen=True)
class Propagation:
    """Predicted per-hidden-layer quantities for layers 1..L (arrays of length L).

    preact_var: q_l. act_mean, act_std: mean and std of a_l. act_second: E[a_l^2]. chi: the
    gradient-variance factor sigma_w^2 E[f'(z_l)^2] of layer l (the signal's norm changes by
    sqrt(chi) from layer l + 1 to l). signal: |dz_l| relative to the last hidden layer's
    (signal[-1] = 1). weight_grad: ||dW_l|| relative to ||dW_L|| (per-example approximation)."""

    preact_var: Array
    act_mean: Array
    act_std: Array
    act_second: Array
    chi: Array
    signal: Array
    weight_grad: Array


def propagate(
    activation: str,
    init: str,
    depth: int,
    width: int,
    d_in: int,
    negative_slope: float = DEFAULT_NEGATIVE_SLOPE,
    elu_alpha: float = DEFAULT_ELU_ALPHA,
) -> Propagation:
    """The forward and backward variance recursions through `depth` hidden layers of `width`."""
    if depth < 1 or width < 1 or d_in < 1:
        raise NnhwError(f"depth, width and d_in must be >= 1, got {depth}, {width}, {d_in}")
    act = get_activation(activation, negative_slope, elu_alpha)
    n = width
    q, mean, m2, slope2 = (np.empty(depth) for _ in range(4))
    prev_second = 1.0  # E[x^2] of standardised inputs
    for l in range(depth):
        fan_in = d_in if l == 0 else n
        q[l] = fan_in * weight_variance(init, n, fan_in) * prev_second + bias_variance(init, fan_in)
        m1, second, s2 = moments(act, q[l])
        mean[l], m2[l], slope2[l] = m1, second, s2
        prev_second = m2[l]
    mean[np.abs(mean) <= 1e-12 * np.sqrt(m2)] = 0.0  # quadrature's rounding of an exact 0 (tanh)
    std = np.sqrt(np.maximum(m2 - mean**2, 0.0))
    # Backward: the factor from layer l+1 to layer l is sqrt(n Var(W_{l+1}) E[f'(z_l)^2]).
    chi = n * weight_variance(init, n, n) * slope2
    signal = np.ones(depth)
    for l in range(depth - 2, -1, -1):
        signal[l] = signal[l + 1] * math.sqrt(chi[l])
    inputs_second = np.concatenate([[1.0], m2[:-1]])  # E[a_{l-1}^2], a_0 = x
    weight = signal * np.sqrt(inputs_second / inputs_second[-1])
    return Propagation(q, mean, std, m2, chi, signal, weight)


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


# --- fixed points and critical initialisations ---------------------------------------------------

Q_MIN, Q_MAX = 1e-12, 1e8  # below: collapsed to 0; above: diverged (float64 nets overflow later)
_GRID = np.logspace(math.log10(Q_MIN), math.log10(Q_MAX), 2001)  # 100 points a decade


@functools.lru_cache(maxsize=32)
def _grid_second(name: str, negative_slope: float, elu_alpha: float) -> Array:
    """E[f(z)^2] on _GRID for one activation (computed once)."""
    return moments(get_activation(name, negative_slope, elu_alpha), _GRID)[1]


@dataclass(frozen=True)
class FixedPoint:
    """Where the variance map T(q) = sigma_w^2 E[f(z)^2] + sigma_b^2 leads from q_1.

    q: the fixed point q* reached (0.0: it collapses to 0, i.e. below Q_MIN; inf: it grows past
    Q_MAX); mean, var: of the activations there (limits for 0; NaN for inf); chi: sigma_w^2
    E[f'(z)^2] at q* (at Q_MIN or Q_MAX for the limits): the per-layer factor of the gradient's
    variance deep in the net; slope: T'(q*), below 1 for an attracting fixed point."""

    q: float
    mean: float
    var: float
    chi: float
    slope: float

    @property
    def kind(self) -> str:
        """ "fixed point", "collapses to 0" or "diverges"."""
        if self.q == 0.0:
            return "collapses to 0"
        return "diverges" if math.isinf(self.q) else "fixed point"


def fixed_point(
    activation: str,
    sigma_w2: float,
    sigma_b2: float = 0.0,
    q1: float | None = None,
    negative_slope: float = DEFAULT_NEGATIVE_SLOPE,
    elu_alpha: float = DEFAULT_ELU_ALPHA,
) -> FixedPoint:
    """The fixed point of T reached from q_1 (default: sigma_w^2 + sigma_b^2, the first layer's
    variance for standardised inputs). T is increasing in q, so the iterates move monotonically
    towards the nearest root of T(q) - q in the direction of T(q_1) - q_1 (roots found on a
    log-spaced grid of q and refined by bisection on the exact T)."""
    act = get_activation(activation, negative_slope, elu_alpha)
    key = (act.name, float(negative_slope), float(elu_alpha))
    q1 = sigma_w2 + sigma_b2 if q1 is None else q1
    m2 = _grid_second(*key)

    def excess(q: float) -> float:  # T(q) - q
        return float(sigma_w2 * moments(act, np.array(q))[1] + sigma_b2 - q)

    def at(q: float) -> FixedPoint:
        qq = min(max(q, Q_MIN), Q_MAX)
        e1, e2, es = (float(v) for v in moments(act, np.array(qq)))
        h = 1e-6 * qq  # T'(q) by a central difference (T is smooth in q > 0)
        slope = sigma_w2 * float(np.diff(moments(act, np.array([qq - h, qq + h]))[1])[0]) / (2 * h)
        if math.isinf(q):
            e1 = math.nan
        if abs(e1) <= 1e-12 * math.sqrt(e2):  # quadrature's rounding of an exact 0
            e1 = 0.0
        if q == 0.0:  # the limit: every z is 0
            e1 = float(act.forward(np.zeros(1))[0])
            e2 = e1 * e1
        var = e2 - e1 * e1 if math.isfinite(q) else math.nan
        return FixedPoint(q, e1, var, sigma_w2 * es, slope)

    start = excess(q1)
    if abs(start) <= 1e-12 * max(q1, Q_MIN):
        return at(q1)
    f = sigma_w2 * m2 + sigma_b2 - _GRID
    if start > 0:  # grows: the first root above q1
        above = np.nonzero((q1 < _GRID) & (f <= 0))[0]
        if above.size == 0:
            return at(math.inf)
        i = int(above[0])
        lo, hi = (max(q1, float(_GRID[i - 1])) if i > 0 else q1), float(_GRID[i])
    else:  # shrinks: the last root below q1
        below = np.nonzero((q1 > _GRID) & (f >= 0))[0]
        if below.size == 0:
            return at(0.0)
        i = int(below[-1])
        lo, hi = float(_GRID[i]), (min(q1, float(_GRID[i + 1])) if i + 1 < _GRID.size else q1)
    f_lo = excess(lo)
    for _ in range(100):  # bisection in log q; excess(lo) and excess(hi) differ in sign
        mid = math.sqrt(lo * hi)
        f_mid = excess(mid)
        if f_mid == 0 or hi / lo - 1 < 1e-14:
            lo = hi = mid
            break
        if (f_mid > 0) == (f_lo > 0):
            lo, f_lo = mid, f_mid
        else:
            hi = mid
    return at(math.sqrt(lo * hi))


def _chi_star(activation: str, sigma_w2: float, sigma_b2: float) -> float:
    return fixed_point(activation, sigma_w2, sigma_b2).chi


def critical_sigma_w2(
    activation: str,
    sigma_b2: float = 0.0,
    low: float = 0.1,
    high: float = 100.0,
) -> float:
    """The smallest sigma_w^2 = n Var(W) in [low, high] at which chi* (chi at the fixed point
    reached from q_1 = sigma_w^2 + sigma_b^2) passes through 1, to a relative 1e-9; NaN when none
    does. A crossing counts only where chi* is continuous: where the iterates switch from
    collapsing to 0 to diverging (GELU, SiLU, Mish with zero biases: q_1 meets the map's unstable
    fixed point) chi* jumps over 1 (GELU: from sigma_w^2/4 to sigma_w^2/2), and no initialisation
    there keeps the gradient's scale."""
    grid = np.geomspace(low, high, 121)
    chi = np.array([_chi_star(activation, float(s), sigma_b2) for s in grid])
    for i in np.nonzero((chi[:-1] - 1) * (chi[1:] - 1) <= 0)[0]:
        lo, hi = float(grid[i]), float(grid[i + 1])
        below = chi[i] < 1
        while hi / lo - 1 > 1e-9:
            mid = math.sqrt(lo * hi)
            if (_chi_star(activation, mid, sigma_b2) < 1) == below:
                lo = mid
            else:
                hi = mid
        ends = [_chi_star(activation, v, sigma_b2) for v in (lo, hi)]
        if all(abs(c - 1) < CONTINUITY for c in ends):
            return math.sqrt(lo * hi)
    return math.nan


CONTINUITY = 1e-4  # chi* within this of 1 on both sides of a crossing: not a jump


def inits_with(sigma_w2: float, width: int, rel: float = 0.01) -> tuple[str, ...]:
    """The initialisers of core.init whose n Var(W) on a square width x width layer is within
    `rel` of sigma_w2 (e.g. 2 -> he-normal, he-uniform; 1 -> xavier-*, lecun-normal)."""
    out = []
    for name in INIT_NAMES:
        value = width * weight_variance(name, width, width)
        if value > 0 and abs(value - sigma_w2) <= rel * sigma_w2:
            out.append(name)
    return tuple(out)
