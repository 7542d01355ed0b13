"""Central finite-difference gradient check in float64.

d L / d theta_i ~ (L(theta + h e_i) - L(theta - h e_i)) / (2 h), with error O(h^2) from the
Taylor remainder plus O(eps_machine / h) from rounding; the two balance near h = eps^(1/3) ~ 6e-6,
so h = 1e-5 (about 1e-10 absolute for smooth losses of order 1). Kinks (ReLU at 0) make the
check wrong only when a perturbation crosses one, which random data almost never does.

The loss checked is the summed loss over members, so one perturbation of member e's parameter
moves only member e's term.
"""

from __future__ import annotations

import numpy as np

from nnhw.core.losses import get_loss
from nnhw.core.mlp import MLP

Array = np.ndarray


def loss_and_gradients(
    model: MLP, x: Array, y: Array, loss: str, reduction: str = "mean"
) -> tuple[Array, dict[str, Array]]:
    """Per-member loss (E,) and a copy of every parameter's analytic gradient."""
    value, d = get_loss(loss)(model.forward(x), y, reduction)
    return value, model.backward(d)  # backward returns copies


def numerical_gradients(
    model: MLP, x: Array, y: Array, loss: str, reduction: str = "mean", h: float = 1e-5
) -> dict[str, Array]:
    """Central differences of sum_e L_e with respect to every parameter (float64 model)."""
    fn = get_loss(loss)
    out: dict[str, Array] = {}
    for name, p in model.params.items():
        g = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            old = p[i]
            p[i] = old + h
            up = fn(model.forward(x), y, reduction)[0].sum()
            p[i] = old - h
            down = fn(model.forward(x), y, reduction)[0].sum()
            p[i] = old
            g[i] = (up - down) / (2 * h)
        out[name] = g
    return out


def relative_error(a: Array, b: Array) -> float:
    """max |a - b| / max(max |a|, max |b|): the error relative to the gradient's scale."""
    scale = max(float(np.max(np.abs(a))), float(np.max(np.abs(b))), np.finfo(np.float64).tiny)
    return float(np.max(np.abs(a - b))) / scale


def check_gradients(
    model: MLP, x: Array, y: Array, loss: str, reduction: str = "mean", h: float = 1e-5
) -> dict[str, float]:
    """Relative error of the analytic gradient against central differences, per parameter."""
    _, analytic = loss_and_gradients(model, x, y, loss, reduction)
    numeric = numerical_gradients(model, x, y, loss, reduction, h)
    return {k: relative_error(analytic[k], numeric[k]) for k in analytic}
