"""Activation functions: a registry of elementwise maps and their derivatives.

Contract: an activation is a pair of elementwise functions of the pre-activation z (any shape):
`forward(z) -> a` and `derivative(z, a, out=None) -> da/dz` (written into `out` when given), where
`a = forward(z)` is passed in so smooth activations need not recompute it. The derivative is always
defined from z (a derivative written from the output alone cannot express LeakyReLU with a negative
slope, nor a ReLU at exactly 0). `backward(g, z, a) -> g * f'(z)` is the chain rule through the
activation (g = dL/da), computed in place in g; ReLU does it in one operation, without building the
derivative array. Results have z's dtype.

The course's five: relu, leaky-relu (negative slope, default 0.01), tanh, sigmoid, identity. Beyond
them, today's: gelu (z Phi(z), Phi the standard normal cdf, from core.normal), gelu-tanh (its tanh
approximation, Hendrycks & Gimpel 2016, as torch's approximate="tanh"), silu (z sigma(z), "swish"),
elu (z for z > 0, alpha (e^z - 1) below; alpha default 1, settable), selu (lambda elu_alpha with the
constants of Klambauer et al. 2017), softplus (log(1 + e^z)) and mish (z tanh(softplus(z))).

At z = 0 the piecewise ones (ReLU, LeakyReLU, ELU, SELU) use the derivative of the z <= 0 branch,
as PyTorch does. Every activation is finite and raises no overflow, division or invalid-operation
warning for any finite z (|z| = 1e4 included) in float16, float32 and float64: exponentials are
only ever taken of non-positive numbers (e^-|z|, expm1(min(z, 0))), except sigmoid's exp(-z), whose
overflow for very negative z gives the limit 0 and is silenced inside the function; where a tail
underflows to 0 that is the correctly rounded value (NumPy does not report underflow unless asked).
GELU and gelu-tanh compute in float64 (Phi needs Dekker's split of a float64; gelu-tanh's cubic
would overflow float16) and cast back.

`saturation` says where a unit can saturate (its derivative near 0 over a whole range of z):
"two-sided" for sigmoid and tanh (both tails), "left tail" for the smooth and exponential ones
(GELU, SiLU, Mish, softplus, ELU, SELU: f'(z) -> 0 as z -> -inf, never as z -> +inf), "none" for
the piecewise-linear ones (a ReLU unit dies instead: core.diagnostics).

Adding an activation is one factory function and one entry in `_FACTORIES`; the CLI's choices come
from `ACTIVATION_NAMES`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nnhw.core.errors import NnhwError
from nnhw.core.normal import cdf_and_pdf, pdf

Array = np.ndarray


@dataclass(frozen=True)
class Activation:
    """An elementwise activation.

    kind: "dying" (ReLU: units can be dead), "leaky", "saturating" (sigmoid, tanh: units can
    saturate), "linear" (identity), "smooth" (GELU, SiLU, Mish, softplus: smooth, about z for
    z >> 0 and 0 for z << 0) or "exponential" (ELU, SELU: linear above 0, an exponential that
    saturates below). max_derivative: sup of da/dz (1/4 for sigmoid), used by the saturation
    diagnostic. saturation: "two-sided", "left tail" or "none" (module docstring).
    """

    name: str
    forward: Callable[[Array], Array]
    derivative: Callable[..., Array]  # (z, a, out=None) -> f'(z), written into out if given
    kind: str
    max_derivative: float
    output_range: tuple[float, float]
    fused_backward: Callable[[Array, Array, Array], Array] | None = None
    saturation: str = "none"
    params: tuple[float, ...] = ()  # the settable parameters: (slope,) or (alpha,)

    def backward(self, g: Array, z: Array, a: Array) -> Array:
        """dL/dz = g * f'(z) for g = dL/da; overwrites and returns g (the caller's own array)."""
        if self.fused_backward is not None:
            return self.fused_backward(g, z, a)
        g *= self.derivative(z, a)
        return g


def _relu() -> Activation:
    def forward(z: Array) -> Array:
        return np.maximum(z, 0)

    def derivative(z: Array, a: Array, out: Array | None = None) -> Array:
        if out is not None:
            return np.greater(z, 0, out=out)
        return (z > 0).astype(z.dtype)

    def backward(g: Array, z: Array, a: Array) -> Array:
        return np.multiply(g, z > 0, out=g)  # g * [z > 0], the same numbers as g * derivative

    return Activation("relu", forward, derivative, "dying", 1.0, (0.0, np.inf), backward)


def _leaky_relu(negative_slope: float) -> Activation:
    slope = float(negative_slope)

    def forward(z: Array) -> Array:
        # max(z, s z) equals the LeakyReLU for 0 <= s <= 1 and costs one ufunc call.
        if 0.0 <= slope <= 1.0:
            return np.maximum(z, slope * z)
        return np.where(z > 0, z, slope * z)

    def derivative(z: Array, a: Array, out: Array | None = None) -> Array:
        # For 0 <= s <= 1, max([z > 0], s) is 1 where z > 0 and s elsewhere, in one ufunc call.
        if 0.0 <= slope <= 1.0:
            return np.maximum(z > 0, z.dtype.type(slope), out=out)
        d = np.where(z > 0, z.dtype.type(1), z.dtype.type(slope))
        if out is not None:
            out[...] = d
            return out
        return d

    return Activation(
        "leaky-relu", forward, derivative, "leaky", max(1.0, slope), (-np.inf, np.inf),
        params=(slope,),
    )  # fmt: skip


def _sigmoid() -> Activation:
    def forward(z: Array) -> Array:
        # sigma(z) = 1/(1+e^-z) in four ufunc calls. For z below -log(max) (-709.78 in float64,
        # -88.72 in float32) e^-z overflows to inf and 1/(1+inf) = 0, the limit, which differs
        # from sigma(z) only by a subnormal number, as torch computes it; that overflow is
        # expected and silenced. Where e^-z is finite the result is accurate to a few ulp
        # (1/(1+e) is correctly rounded). The form with e^-|z| (no overflow) needs seven calls
        # and was 1.3-3.6x slower. (Capping -z instead of np.errstate is cheaper, but returns a
        # subnormal number instead of 0 where sigma(z) rounds to 0.)
        with np.errstate(over="ignore"):
            e = np.negative(z)
            np.exp(e, out=e)
        e += 1
        return np.reciprocal(e, out=e)

    def derivative(z: Array, a: Array, out: Array | None = None) -> Array:
        d = np.subtract(1, a, out=out)
        d *= a  # a (1 - a)
        return d

    return Activation(
        "sigmoid", forward, derivative, "saturating", 0.25, (0.0, 1.0), saturation="two-sided"
    )


def _tanh() -> Activation:
    def forward(z: Array) -> Array:
        return np.tanh(z)

    def derivative(z: Array, a: Array, out: Array | None = None) -> Array:
        d = np.multiply(a, a, out=out)
        np.subtract(1, d, out=d)  # 1 - a^2
        return d

    return Activation(
        "tanh", forward, derivative, "saturating", 1.0, (-1.0, 1.0), saturation="two-sided"
    )


def _identity() -> Activation:
    def forward(z: Array) -> Array:
        return z

    def derivative(z: Array, a: Array, out: Array | None = None) -> Array:
        if out is not None:
            out[...] = 1
            return out
        return np.ones_like(z)

    return Activation("identity", forward, derivative, "linear", 1.0, (-np.inf, np.inf))


def _into(out: Array | None, d: Array) -> Array:
    """d, written into `out` when given."""
    if out is None:
        return d
    out[...] = d
    return out


def _logistic(z: Array) -> tuple[Array, Array]:
    """(sigma(z), sigma(-z)) = (sigma(z), 1 - sigma(z)) without overflow or cancellation: with
    e = e^-|z| <= 1 and r = 1/(1 + e), sigma(|z|) = r and sigma(-|z|) = e r."""
    e = np.abs(z)
    np.negative(e, out=e)
    np.exp(e, out=e)
    r = e + 1
    np.reciprocal(r, out=r)
    e *= r
    positive = z >= 0
    return np.where(positive, r, e), np.where(positive, e, r)


def _softplus_of(z: Array) -> Array:
    """log(1 + e^z) = max(z, 0) + log1p(e^-|z|): e^z itself would overflow for z > 88 (float32)."""
    t = np.abs(z)
    np.negative(t, out=t)
    np.exp(t, out=t)
    np.log1p(t, out=t)
    t += np.maximum(z, 0)
    return t


def _gelu() -> Activation:
    def forward(z: Array) -> Array:
        cdf, _ = cdf_and_pdf(z)
        cdf *= z  # z Phi(z), in float64
        return cdf.astype(z.dtype, copy=False)

    def derivative(z: Array, a: Array, out: Array | None = None) -> Array:
        # f'(z) = Phi(z) + z phi(z). Phi(z) = a / z is read off the forward's output (the
        # division adds an ulp; Phi itself costs a degree-24 polynomial); for |z| < 1e-16,
        # Phi(z) = 1/2 + z phi(0) rounds to 1/2, and a / z would lose a subnormal z.
        z64 = np.asarray(z, dtype=np.float64)
        cdf = np.full(z.shape, 0.5)
        np.divide(np.asarray(a, dtype=np.float64), z64, out=cdf, where=np.abs(z64) >= 1e-16)
        d = pdf(z64)
        d *= z64
        d += cdf
        return _into(out, d.astype(z.dtype, copy=False))

    # f''(z) = phi(z) (2 - z^2): the largest slope is at z = sqrt(2); the minimum of f is
    # -0.16997 at z = -0.75179
    return Activation(
        "gelu", forward, derivative, "smooth", 1.1289041451851548, (-0.16997120747990367, np.inf),
        saturation="left tail",
    )  # fmt: skip


def _gelu_tanh() -> Activation:
    # 0.5 z (1 + tanh(y)) = z sigma(2 y), y = sqrt(2/pi) (z + 0.044715 z^3): the sigmoid form keeps
    # the left tail's relative accuracy (1 + tanh(y) cancels). For |z| >= 25, 2|y| > 1100 and
    # sigma(2y) is exactly 0 or 1 in every dtype, so z is capped there inside y (z^3 stays finite).
    beta, kappa, cap = math.sqrt(2.0 / math.pi), 0.044715, 25.0

    def inner(z: Array) -> tuple[Array, Array]:
        """(z in float64 capped at +-cap, 2 y)."""
        zc = np.clip(np.asarray(z, dtype=np.float64), -cap, cap)
        two_y = zc * zc
        two_y *= kappa
        two_y += 1.0
        two_y *= zc
        two_y *= 2.0 * beta
        return zc, two_y

    def forward(z: Array) -> Array:
        s, _ = _logistic(inner(z)[1])
        s *= z
        return s.astype(z.dtype, copy=False)

    def derivative(z: Array, a: Array, out: Array | None = None) -> Array:
        # d/dz [z s] = s + z s (1 - s) 2 y'(z), 2 y' = 2 beta (1 + 3 kappa z^2); s (1 - s) = 0
        # exactly beyond the cap, so the capped z gives the same product
        zc, two_y = inner(z)
        s, s_neg = _logistic(two_y)
        slope = zc * zc
        slope *= 3.0 * kappa
        slope += 1.0
        slope *= 2.0 * beta
        slope *= s_neg
        slope *= s
        slope *= np.asarray(z, dtype=np.float64)
        slope += s
        return _into(out, slope.astype(z.dtype, copy=False))

    # largest slope at z = 1.41850, minimum -0.17004 at z = -0.75246 (mpmath)
    return Activation(
        "gelu-tanh", forward, derivative, "smooth", 1.1289930686587718,
        (-0.17004075057125405, np.inf), saturation="left tail",
    )  # fmt: skip


def _silu() -> Activation:
    def forward(z: Array) -> Array:
        s, _ = _logistic(z)
        s *= z
        return s

    def derivative(z: Array, a: Array, out: Array | None = None) -> Array:
        # sigma(z) (1 + z sigma(-z)); sigma(-z) from e^-|z|, not 1 - sigma(z), which cancels
        s, s_neg = _logistic(z)
        s_neg *= z
        s_neg += 1
        return np.multiply(s, s_neg, out=out)

    # largest slope 1.09984 at z = 2.39936; minimum -0.27846 at z = -1.27846 (mpmath)
    return Activation(
        "silu", forward, derivative, "smooth", 1.0998393201288670, (-0.2784645427610738, np.inf),
        saturation="left tail",
    )  # fmt: skip


def _exponential_linear(name: str, alpha: float, scale: float) -> Activation:
    """scale * (z if z > 0 else alpha (e^z - 1)): ELU (scale 1) and SELU."""
    neg = alpha * scale

    def forward(z: Array) -> Array:
        e = np.minimum(z, 0)  # expm1 of a positive z could overflow; that branch is not taken
        np.expm1(e, out=e)
        e *= z.dtype.type(neg)
        return np.where(z > 0, z * z.dtype.type(scale) if scale != 1 else z, e)

    def derivative(z: Array, a: Array, out: Array | None = None) -> Array:
        # alpha scale e^z below 0 (at z = 0 too, as torch), from z: a + alpha scale would cancel
        e = np.minimum(z, 0)
        np.exp(e, out=e)
        e *= z.dtype.type(neg)
        return _into(out, np.where(z > 0, z.dtype.type(scale), e))

    lowest = -neg if neg >= 0 else -np.inf
    return Activation(
        name, forward, derivative, "exponential", scale * max(1.0, alpha), (lowest, np.inf),
        saturation="left tail", params=(alpha,) if name == "elu" else (),
    )  # fmt: skip


# Klambauer et al. 2017: alpha_01 and lambda_01, the solution of E[selu(z)] = 0 and
# E[selu(z)^2] = 1 for z ~ N(0, 1) (a fixed point of mean 0, variance 1; re-derived in the tests).
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _softplus() -> Activation:
    def forward(z: Array) -> Array:
        return _softplus_of(z)

    def derivative(z: Array, a: Array, out: Array | None = None) -> Array:
        s, _ = _logistic(z)  # sigma(z)
        return _into(out, s)

    return Activation(
        "softplus", forward, derivative, "smooth", 1.0, (0.0, np.inf), saturation="left tail"
    )


def _mish() -> Activation:
    def forward(z: Array) -> Array:
        t = np.tanh(_softplus_of(z))
        t *= z
        return t

    def derivative(z: Array, a: Array, out: Array | None = None) -> Array:
        # tanh(sp) + z sigma(z) (1 - tanh(sp)^2), sp = softplus(z); sigma(z) = 1 - e^-sp
        sp = _softplus_of(z)
        t = np.tanh(sp)
        np.negative(sp, out=sp)
        np.expm1(sp, out=sp)
        np.negative(sp, out=sp)  # sigma(z)
        sech2 = np.multiply(t, t)
        np.subtract(1, sech2, out=sech2)
        sech2 *= sp
        sech2 *= z
        return np.add(t, sech2, out=out)

    # largest slope 1.08850 at z = 1.49057; minimum -0.30884 at z = -1.19243 (mpmath)
    return Activation(
        "mish", forward, derivative, "smooth", 1.0884981612517279, (-0.3088434130172504, np.inf),
        saturation="left tail",
    )  # fmt: skip


_FACTORIES: dict[str, Callable[[float, float], Activation]] = {
    "relu": lambda s, alpha: _relu(),
    "leaky-relu": lambda s, alpha: _leaky_relu(s),
    "tanh": lambda s, alpha: _tanh(),
    "sigmoid": lambda s, alpha: _sigmoid(),
    "identity": lambda s, alpha: _identity(),
    "gelu": lambda s, alpha: _gelu(),
    "gelu-tanh": lambda s, alpha: _gelu_tanh(),
    "silu": lambda s, alpha: _silu(),
    "elu": lambda s, alpha: _exponential_linear("elu", alpha, 1.0),
    "selu": lambda s, alpha: _exponential_linear("selu", SELU_ALPHA, SELU_SCALE),
    "softplus": lambda s, alpha: _softplus(),
    "mish": lambda s, alpha: _mish(),
}

ACTIVATION_NAMES: tuple[str, ...] = tuple(_FACTORIES)
COURSE_ACTIVATIONS: tuple[str, ...] = ("relu", "leaky-relu", "tanh", "sigmoid", "identity")
# what `--activations all` means: every activation with a non-linearity (identity is the linear
# baseline, which compare-activations adds with --include-identity)
NONLINEAR_ACTIVATIONS: tuple[str, ...] = tuple(n for n in ACTIVATION_NAMES if n != "identity")


def expand_all(names: object) -> object:
    """ "all" or ("all",) (any case) -> NONLINEAR_ACTIVATIONS; anything else is returned as it is
    (and validated by the caller)."""
    items = [names] if isinstance(names, str) else names
    if isinstance(items, tuple | list) and [str(v).lower() for v in items] == ["all"]:
        return NONLINEAR_ACTIVATIONS
    return names


DEFAULT_NEGATIVE_SLOPE = 0.01
DEFAULT_ELU_ALPHA = 1.0


def get_activation(
    name: str,
    negative_slope: float = DEFAULT_NEGATIVE_SLOPE,
    elu_alpha: float = DEFAULT_ELU_ALPHA,
) -> Activation:
    """The activation called `name` (case-insensitive); `negative_slope` is LeakyReLU's,
    `elu_alpha` ELU's alpha (SELU's is fixed)."""
    key = name.lower()
    if key not in _FACTORIES:
        raise NnhwError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATION_NAMES)}")
    return _FACTORIES[key](negative_slope, elu_alpha)


@functools.lru_cache(maxsize=64)
def _left_edge(name: str, params: tuple[float, ...], threshold: float) -> float:
    # only ELU among the left-tail activations has a parameter (alpha)
    act = get_activation(name, elu_alpha=params[0]) if params else get_activation(name)
    z = np.linspace(-_EDGE_RANGE, 0.0, _EDGE_POINTS)
    live = np.abs(act.derivative(z, act.forward(z))) >= threshold * act.max_derivative
    if live[0]:
        return -math.inf  # not flat even at -_EDGE_RANGE: nothing counts as saturated
    return round(float(z[np.argmax(live)]), 3) if live.any() else 0.0


_EDGE_RANGE, _EDGE_POINTS = 60.0, 60_001  # a grid step of 0.001


def saturation_edge(act: Activation, threshold: float) -> float:
    """For a "left tail" activation: the z below which |f'| stays under `threshold` times its
    largest value all the way to -inf, read off a grid of step 0.001 on [-60, 0] (at 0.05: -2.995
    for ELU, -2.944 for softplus, -2.278 for GELU). A unit with z below it is saturated; the
    isolated zero of GELU's and SiLU's f' (their minima, at z = -0.752 and -1.278) is no tail."""
    if act.saturation != "left tail":
        raise ValueError(f"{act.name} has no left tail")
    return _left_edge(act.name, act.params, float(threshold))
