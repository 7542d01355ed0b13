"""Diagnostics of a net, read from the caches of its last forward and backward pass.

Contract: every function takes an MLP after `forward(x)` and (where gradients are involved)
`backward(dy_hat)` on the same batch, and returns per-member, per-layer arrays: (E, L+1) for the
weight layers, (E, L) for the hidden layers. Nothing is recomputed but an elementwise derivative.

- grad_norms: Frobenius norm of dL/dW_l.
- signal_norms: norm of the back-propagated signal dL/dz_l over the batch.
- dead_fraction: fraction of a hidden layer's units whose derivative is 0 on every example of
  the batch (a ReLU never active there: no gradient reaches its incoming weights).
- saturated_fraction: for sigmoid and tanh, the fraction of (example, unit) pairs whose derivative
  is below `threshold` times the activation's largest derivative (sigmoid: |z| > 4.4 for the
  default 0.05); for the activations with a flat left tail (GELU, SiLU, Mish, softplus, ELU,
  SELU), the fraction whose z lies in that tail: below the point from which |f'| stays under
  `threshold` times its largest value (core.activations.saturation_edge: z < -2.995 for ELU);
  NaN for activations that cannot saturate (ReLU, LeakyReLU, identity).
- activation_stats: mean, std, min and max of each hidden layer's outputs over batch and units.
"""

from __future__ import annotations

import numpy as np

from nnhw.core.activations import saturation_edge
from nnhw.core.mlp import MLP

Array = np.ndarray
SATURATION_THRESHOLD = 0.05


def grad_norms(model: MLP) -> Array:
    """(E, L+1): ||dL/dW_l||_F per member and weight layer."""
    return np.stack(
        [np.sqrt(np.einsum("eoi,eoi->e", g, g)) for g in
         (model.grads[f"W{l}"] for l in range(1, model.n_layers + 1))],
        axis=1,
    )  # fmt: skip


def signal_norms(model: MLP) -> Array:
    """(E, L+1): ||dL/dz_l|| over the batch, per member and layer."""
    return np.stack([np.sqrt(np.einsum("enk,enk->e", d, d)) for d in model.deltas], axis=1)


def _hidden_derivatives(model: MLP) -> list[Array]:
    return [model.f.derivative(z, a) for z, a in zip(model.zs[:-1], model.acts[1:-1])]


def dead_fraction(model: MLP) -> Array:
    """(E, L): fraction of hidden units with zero derivative on every example."""
    out = [np.mean(np.all(d == 0, axis=1), axis=1) for d in _hidden_derivatives(model)]
    return np.stack(out, axis=1) if out else np.zeros((model.members, 0))


def saturated_fraction(model: MLP, threshold: float = SATURATION_THRESHOLD) -> Array:
    """(E, L): fraction of (example, unit) pairs with derivative < threshold * max derivative."""
    if model.f.saturation == "left tail":
        edge = saturation_edge(model.f, threshold)
        out = [np.mean(z < edge, axis=(1, 2)) for z in model.zs[:-1]]
        return np.stack(out, axis=1) if out else np.zeros((model.members, 0))
    if model.f.saturation != "two-sided":
        return np.full((model.members, model.depth), np.nan)
    cut = threshold * model.f.max_derivative
    out = [np.mean(d < cut, axis=(1, 2)) for d in _hidden_derivatives(model)]
    return np.stack(out, axis=1) if out else np.zeros((model.members, 0))


def activation_stats(model: MLP) -> dict[str, Array]:
    """Mean, std, min, max of each hidden layer's outputs: dict of (E, L) arrays."""
    hidden = model.acts[1:-1]
    stats = {
        "act_mean": [a.mean(axis=(1, 2)) for a in hidden],
        "act_std": [a.std(axis=(1, 2)) for a in hidden],
        "act_min": [a.min(axis=(1, 2)) for a in hidden],
        "act_max": [a.max(axis=(1, 2)) for a in hidden],
    }
    empty = np.zeros((model.members, 0))
    return {k: np.stack(v, axis=1) if v else empty for k, v in stats.items()}
