"""Activation functions: a registry of elementwise maps and their derivatives.

Contract: an activation is a pair of elementwise functions of the pre-activation z (any shape):
`forward(z) -> a` and `derivative(z, a, out=None) -> da/dz` (written into `out` when given), where
`a = forward(z)` is passed in so smooth activations need not recompute it. The derivative is always
defined from z (a derivative written from the output alone cannot express LeakyReLU with a negative
slope, nor a ReLU at exactly 0). `backward(g, z, a) -> g * f'(z)` is the chain rule through the
activation (g = dL/da), computed in place in g; ReLU does it in one operation, without building the
derivative array.

At z = 0 ReLU and LeakyReLU use the derivative of the z <= 0 branch, as PyTorch does.
Sigmoid and tanh are finite and raise no floating-point warning for any finite z (|z| = 1e4
included): sigmoid's exp(-z) may overflow to inf for very negative z, which gives the limit 0 and
is silenced inside the function.

Adding an activation is one factory function and one entry in `_FACTORIES`; the CLI's choices come
from `ACTIVATION_NAMES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nnhw.core.errors import NnhwError

Array = np.ndarray


@dataclass(frozen=True)
class Activation:
    """An elementwise activation.

    kind: "dying" (ReLU: units can be dead), "leaky", "saturating" (sigmoid, tanh: units can
    saturate), or "linear" (identity). max_derivative: sup of da/dz (1/4 for sigmoid), used by
    the saturation diagnostic and by variance-propagation theory.
    """

    name: str
    forward: Callable[[Array], Array]
    derivative: Callable[..., Array]  # (z, a, out=None) -> f'(z), written into out if given
    kind: str
    max_derivative: float
    output_range: tuple[float, float]
    fused_backward: Callable[[Array, Array, Array], Array] | None = None

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
        "leaky-relu", forward, derivative, "leaky", max(1.0, slope), (-np.inf, np.inf)
    )


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

    return Activation("sigmoid", forward, derivative, "saturating", 0.25, (0.0, 1.0))


def _tanh() -> Activation:
    def forward(z: Array) -> Array:
        return np.tanh(z)

    def derivative(z: Array, a: Array, out: Array | None = None) -> Array:
        d = np.multiply(a, a, out=out)
        np.subtract(1, d, out=d)  # 1 - a^2
        return d

    return Activation("tanh", forward, derivative, "saturating", 1.0, (-1.0, 1.0))


def _identity() -> Activation:
    def forward(z: Array) -> Array:
        return z

    def derivative(z: Array, a: Array, out: Array | None = None) -> Array:
        if out is not None:
            out[...] = 1
            return out
        return np.ones_like(z)

    return Activation("identity", forward, derivative, "linear", 1.0, (-np.inf, np.inf))


_FACTORIES: dict[str, Callable[[float], Activation]] = {
    "relu": lambda s: _relu(),
    "leaky-relu": _leaky_relu,
    "tanh": lambda s: _tanh(),
    "sigmoid": lambda s: _sigmoid(),
    "identity": lambda s: _identity(),
}

ACTIVATION_NAMES: tuple[str, ...] = tuple(_FACTORIES)
DEFAULT_NEGATIVE_SLOPE = 0.01


def get_activation(name: str, negative_slope: float = DEFAULT_NEGATIVE_SLOPE) -> Activation:
    """The activation called `name` (case-insensitive); `negative_slope` is LeakyReLU's."""
    key = name.lower()
    if key not in _FACTORIES:
        raise NnhwError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATION_NAMES)}")
    return _FACTORIES[key](negative_slope)
