"""The course's net as a textbook layer library: the derivation, readable, one step a line.

Contract (the CS231n layer style): each layer is a pair of plain functions. `*_forward` returns
`(out, cache)`; `*_backward(dout, cache)` takes dL/dout and returns the gradients of the layer's
input (and parameters). A loss returns `(value, dL/dy_hat)`. Nothing is reused or fused, nothing
is written in place: this is the oracle that the fast ensemble MLP (core.mlp) is tested against,
and what a student holds against the homework.

Shapes: one net, no ensemble axis. The rows of x are the N examples: x is (N, n), and row i of
every array is the homework's column vector for example i, laid on its side. So the homework's
z = W x + b reads z = x W^T + b here, and sum-over-examples products such as sum_i dz_i x_i^T
read dz^T x. W has PyTorch's layout (out, in), as in core.mlp and torch.nn.Linear.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nnhw.core.activations import (
    DEFAULT_ELU_ALPHA,
    DEFAULT_NEGATIVE_SLOPE,
    Activation,
    get_activation,
)

Array = np.ndarray


def affine_forward(x: Array, W: Array, b: Array) -> tuple[Array, tuple[Array, Array]]:
    """Linear: z = x W^T + b (z_i = W x_i + b for each example i).

    x: (N, in), W: (out, in), b: (out,) -> z: (N, out); cache (x, W).
    """
    z = x @ W.T + b
    return z, (x, W)


def affine_backward(dz: Array, cache: tuple[Array, Array]) -> tuple[Array, Array, Array]:
    """dz: (N, out) = dL/dz -> (dx: (N, in), dW: (out, in), db: (out,)).

    dx_i = W^T dz_i (rows: dx = dz W);  dW = sum_i dz_i x_i^T = dz^T x;  db = sum_i dz_i.
    """
    x, W = cache
    dx = dz @ W
    dW = dz.T @ x
    db = dz.sum(axis=0)
    return dx, dW, db


ActivationCache = tuple[Array, Array, Activation]


def activation_forward(
    z: Array,
    activation: str,
    negative_slope: float = DEFAULT_NEGATIVE_SLOPE,
    elu_alpha: float = DEFAULT_ELU_ALPHA,
) -> tuple[Array, ActivationCache]:
    """a = f(z), elementwise, f the activation called `activation` in core.activations.

    z: (N, k) -> a: (N, k); cache (z, a, f).
    """
    f = get_activation(activation, negative_slope, elu_alpha)
    a = f.forward(z)
    return a, (z, a, f)


def activation_backward(da: Array, cache: ActivationCache) -> Array:
    """da: (N, k) = dL/da -> dz: (N, k) = da * f'(z), elementwise.

    The Jacobian da/dz of an elementwise f is the diagonal matrix diag(f'(z)) (k x k for one
    example), so applying it is an elementwise product. f'(z) comes from the pre-activation z
    (the registry's derivative; it is handed a = f(z) too, which sigmoid and tanh reuse).
    """
    z, a, f = cache
    return da * f.derivative(z, a)


def squared_error_loss(y_hat: Array, y: Array) -> tuple[float, Array]:
    """The homework's loss (1.2, 1.3): l = ||y_hat - y||^2, summed over the K outputs and the N
    examples (the sum of the per-example losses).

    y_hat, y: (N, K) -> (l, dl/dy_hat: (N, K) = 2 (y_hat - y)).
    """
    diff = y_hat - y
    return float(np.sum(diff * diff)), 2 * diff


def mse_loss(y_hat: Array, y: Array) -> tuple[float, Array]:
    """Mean squared error over the N examples and K outputs (torch.nn.functional.mse_loss):
    l = ||y_hat - y||^2 / (N K).

    y_hat, y: (N, K) -> (l, dl/dy_hat: (N, K) = 2 (y_hat - y) / (N K)).
    """
    diff = y_hat - y
    return float(np.mean(diff * diff)), 2 * diff / diff.size


REFERENCE_LOSSES: dict[str, Callable[[Array, Array], tuple[float, Array]]] = {
    "squared-error": squared_error_loss,
    "mse": mse_loss,
}


@dataclass(frozen=True)
class ReferencePass:
    """What one forward and backward pass of the reference net computes.

    loss: l. y_hat: (N, K). grads: dl/dW1 (m, n), dl/db1 (m,), dl/dW2 (K, m), dl/db2 (K,).
    forward: the homework's z1, z2, z3, y_hat. backward: dl/d of each, under the same names.
    """

    loss: float
    y_hat: Array
    grads: dict[str, Array]
    forward: dict[str, Array]
    backward: dict[str, Array]


def reference_forward_backward(
    params: dict[str, Array],
    x: Array,
    y: Array,
    activation: str,
    output_activation: str,
    loss: str,
    negative_slope: float = DEFAULT_NEGATIVE_SLOPE,
    elu_alpha: float = DEFAULT_ELU_ALPHA,
) -> ReferencePass:
    """The homework's two-layer net (1.1), Linear_1 -> f -> Linear_2 -> g, forward and backward.

    params: W1 (m, n), b1 (m,), W2 (K, m), b2 (K,). x: (N, n), y: (N, K). activation: f,
    output_activation: g, names in core.activations (negative_slope is LeakyReLU's, elu_alpha
    ELU's).
    loss: "squared-error" (1.2 and 1.3) or "mse" (its mean over examples and outputs).
    1.2 is f = relu, g = identity; 1.3 is f = g = sigmoid; both with the squared error.
    """
    # Forward (1.2 (b)).
    z1, linear_1 = affine_forward(x, params["W1"], params["b1"])  # z1 = W1 x + b1      (N, m)
    z2, f = activation_forward(z1, activation, negative_slope, elu_alpha)  # z2 = f(z1)  (N, m)
    z3, linear_2 = affine_forward(z2, params["W2"], params["b2"])  # z3 = W2 z2 + b2     (N, K)
    y_hat, g = activation_forward(z3, output_activation, negative_slope, elu_alpha)  # g(z3) (N, K)
    value, dy_hat = REFERENCE_LOSSES[loss](y_hat, y)  # l(y_hat, y) and dl/dy_hat       (N, K)

    # Backward (1.2 (c), (d)): the chain rule, from the loss back to W1 and b1.
    dz3 = activation_backward(dy_hat, g)  # dl/dz3 = dl/dy_hat * g'(z3)              (N, K)
    dz2, dW2, db2 = affine_backward(dz3, linear_2)  # dl/dz2 = W2^T dl/dz3; dl/dW2 = dl/dz3 z2^T
    dz1 = activation_backward(dz2, f)  # dl/dz1 = dl/dz2 * f'(z1)                        (N, m)
    _, dW1, db1 = affine_backward(dz1, linear_1)  # dl/dW1 = dl/dz1 x^T; dl/db1 = dl/dz1

    return ReferencePass(
        loss=value,
        y_hat=y_hat,
        grads={"W1": dW1, "b1": db1, "W2": dW2, "b2": db2},
        forward={"z1": z1, "z2": z2, "z3": z3, "y_hat": y_hat},
        backward={"z1": dz1, "z2": dz2, "z3": dz3, "y_hat": dy_hat},
    )
