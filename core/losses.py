"""Losses: a registry of functions returning the value and its gradient.

Contract: `loss(y_hat, y, reduction) -> (value, dy_hat)` where y_hat is (E, N, k) (E ensemble
members), y is (N, k) or (E, N, k), value is (E,) (one loss per member) and dy_hat = d value_e /
d y_hat_e has the shape of y_hat. `reduction` is "mean" or "sum" over the batch (and, for the
elementwise losses, over the outputs), as in PyTorch:

- `mse`: mean of (y_hat - y)^2 over batch and outputs (torch.nn.functional.mse_loss); d = 2 (y_hat
  - y) / (N k).
- `bce`: -(y log p + (1 - y) log(1 - p)) with each log clamped at -100 (torch.nn.BCELoss), so p = 0
  or 1 gives a finite loss. The gradient uses PyTorch's formula (p - y) / max(p (1 - p), 1e-12),
  so it agrees with autograd to rounding.
- `softmax-cross-entropy`: from logits, -sum_j y_j log_softmax(z)_j per example (targets are
  one-hot or probabilities), averaged over the batch only (torch.nn.functional.cross_entropy).
  Gradient (softmax(z) sum_j y_j - y) / N; computed through log_softmax, so stable for any logits.

`get_loss_gradient(name)(y_hat, y, reduction) -> dy_hat` gives the same gradient, computed by the
same code, without the value: the training step needs only the gradient.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nnhw.core.errors import NnhwError
from nnhw.core.softmax import log_softmax

Array = np.ndarray
LossFn = Callable[[Array, Array, str], tuple[Array, Array]]
GradientFn = Callable[[Array, Array, str], Array]

REDUCTIONS: tuple[str, ...] = ("mean", "sum")
# PyTorch's clamp of p (1 - p) in BCELoss's backward: 1e-12 rounded to float32 (autograd at p = 0
# gives exactly 1 / float32(1e-12), also in float64).
_BCE_EPS = float(np.float32(1e-12))


def _count(y_hat: Array) -> int:
    """N k: the number of elements the elementwise losses average over."""
    return y_hat.shape[1] * y_hat.shape[2]


def mse_gradient(y_hat: Array, y: Array, reduction: str = "mean") -> Array:
    """d mse / d y_hat = 2 (y_hat - y), times 1 / (N k) for the mean (torch's factor 2 / numel)."""
    d = y_hat - y
    d *= 2 / _count(y_hat) if reduction == "mean" else 2.0
    return d


def mse(y_hat: Array, y: Array, reduction: str = "mean") -> tuple[Array, Array]:
    """Squared error; y_hat (E, N, k)."""
    diff = y_hat - y
    value = np.einsum("enk,enk->e", diff, diff)
    if reduction == "mean":
        value = value / _count(y_hat)
    return value, mse_gradient(y_hat, y, reduction)


def bce_gradient(y_hat: Array, y: Array, reduction: str = "mean") -> Array:
    """d bce / d p = (p - y) / max(p (1 - p), eps), divided by N k for the mean."""
    p = y_hat
    d = p - y
    den = 1 - p
    den *= p
    d /= np.maximum(den, _BCE_EPS, out=den)
    if reduction == "mean":
        d /= _count(y_hat)
    return d


def bce(y_hat: Array, y: Array, reduction: str = "mean") -> tuple[Array, Array]:
    """Binary cross-entropy on probabilities p = y_hat in [0, 1]; y_hat (E, N, k)."""
    p = y_hat
    with np.errstate(divide="ignore"):  # log(0) = -inf, then clamped to -100 as torch does
        log_p = np.maximum(np.log(p), -100)
        log_q = np.maximum(np.log1p(-p), -100)
    elementwise = -(y * log_p + (1 - y) * log_q)
    value = elementwise.sum(axis=(1, 2))
    if reduction == "mean":
        value = value / _count(y_hat)
    return value, bce_gradient(y_hat, y, reduction)


def _cross_entropy_gradient(log_p: Array, y_full: Array, reduction: str) -> Array:
    """softmax(z) sum_j y_j - y from log_p = log_softmax(z), divided by N for the mean."""
    d = np.exp(log_p) * y_full.sum(axis=-1, keepdims=True) - y_full
    if reduction == "mean":
        d /= log_p.shape[1]
    return d


def softmax_cross_entropy_gradient(z: Array, y: Array, reduction: str = "mean") -> Array:
    """d softmax-cross-entropy / d z for logits z (E, N, K)."""
    return _cross_entropy_gradient(log_softmax(z), np.broadcast_to(y, z.shape), reduction)


def softmax_cross_entropy(z: Array, y: Array, reduction: str = "mean") -> tuple[Array, Array]:
    """Cross-entropy from logits z (E, N, K) and target distributions y (rows sum to 1)."""
    log_p = log_softmax(z)
    y_full = np.broadcast_to(y, z.shape)
    value = -np.einsum("enk,enk->e", y_full, log_p)
    if reduction == "mean":
        value = value / z.shape[1]
    return value, _cross_entropy_gradient(log_p, y_full, reduction)


LOSSES: dict[str, LossFn] = {
    "mse": mse,
    "bce": bce,
    "softmax-cross-entropy": softmax_cross_entropy,
}
LOSS_NAMES: tuple[str, ...] = tuple(LOSSES)
LOSS_GRADIENTS: dict[str, GradientFn] = {
    "mse": mse_gradient,
    "bce": bce_gradient,
    "softmax-cross-entropy": softmax_cross_entropy_gradient,
}


def get_loss(name: str) -> LossFn:
    """The loss called `name` (case-insensitive)."""
    key = name.lower()
    if key not in LOSSES:
        raise NnhwError(f"unknown loss {name!r}; choose one of {', '.join(LOSS_NAMES)}")
    return LOSSES[key]


def get_loss_gradient(name: str) -> GradientFn:
    """The gradient alone of the loss called `name` (case-insensitive)."""
    get_loss(name)  # the same error for an unknown name
    return LOSS_GRADIENTS[name.lower()]


def check_reduction(reduction: str) -> str:
    """`reduction` lower-cased, or NnhwError if it is not one of REDUCTIONS."""
    key = reduction.lower()
    if key not in REDUCTIONS:
        raise NnhwError(f"unknown reduction {reduction!r}; choose one of {', '.join(REDUCTIONS)}")
    return key
