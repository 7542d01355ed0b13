"""The PyTorch oracle for the core tests: the same net, rebuilt from an MLP's parameters.

`autograd_member(model, e, x, y, loss, reduction)` copies member e's W_l, b_l into float64
torch.nn.Linear layers, runs the forward pass with torch's activations and losses
(F.mse_loss, F.binary_cross_entropy, F.cross_entropy with probability targets) and returns what
autograd computes: the loss value, every parameter's gradient and dL/dz_l at every layer
(retain_grad on the pre-activations).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (the PyTorch convention)

from nnhw.core.mlp import MLP

torch.set_num_threads(1)  # tiny tensors; do not compete for the shared cores

# (z, LeakyReLU's slope, ELU's alpha) -> f(z). torch's softplus returns z itself above its
# threshold (20 by default: off by 2e-9 there); 50 is beyond where log1p(e^-z) < eps z.
TORCH_ACTIVATIONS: dict[str, Callable[..., torch.Tensor]] = {
    "relu": lambda z, s, alpha=1.0: F.relu(z),
    "leaky-relu": lambda z, s, alpha=1.0: F.leaky_relu(z, s),
    "tanh": lambda z, s, alpha=1.0: torch.tanh(z),
    "sigmoid": lambda z, s, alpha=1.0: torch.sigmoid(z),
    "identity": lambda z, s, alpha=1.0: z,
    "gelu": lambda z, s, alpha=1.0: F.gelu(z),
    "gelu-tanh": lambda z, s, alpha=1.0: F.gelu(z, approximate="tanh"),
    "silu": lambda z, s, alpha=1.0: F.silu(z),
    "elu": lambda z, s, alpha=1.0: F.elu(z, alpha),
    "selu": lambda z, s, alpha=1.0: F.selu(z),
    "softplus": lambda z, s, alpha=1.0: F.softplus(z, threshold=50.0),
    "mish": lambda z, s, alpha=1.0: F.mish(z),
}


def torch_loss(name: str, y_hat: torch.Tensor, y: torch.Tensor, reduction: str) -> torch.Tensor:
    """PyTorch's functional form of the nnhw loss `name`."""
    if name == "mse":
        return F.mse_loss(y_hat, y, reduction=reduction)
    if name == "bce":
        return F.binary_cross_entropy(y_hat, y, reduction=reduction)
    if name == "softmax-cross-entropy":
        return F.cross_entropy(y_hat, y, reduction=reduction)  # y: probability rows
    raise ValueError(name)


def linear_layers(model: MLP, e: int) -> list[torch.nn.Linear]:
    """Member e's weight layers as float64 torch.nn.Linear modules (same numbers)."""
    layers = []
    for l in range(1, model.n_layers + 1):
        W = model.params[f"W{l}"][e]
        lin = torch.nn.Linear(W.shape[1], W.shape[0], dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(np.array(W, dtype=np.float64)))
            lin.bias.copy_(torch.from_numpy(np.array(model.params[f"b{l}"][e], np.float64)))
        layers.append(lin)
    return layers


def autograd_member(
    model: MLP,
    e: int,
    x: np.ndarray,
    y: np.ndarray,
    loss: str,
    reduction: str,
    negative_slope: float = 0.01,
    elu_alpha: float = 1.0,
) -> tuple[float, dict[str, np.ndarray], list[np.ndarray]]:
    """(loss value, {"W1": dW1, "b1": db1, ...}, [dL/dz_1, ..., dL/dz_{L+1}]) from autograd.

    x: (N, d_in), y: (N, d_out) for member e.
    """
    layers = linear_layers(model, e)
    f = TORCH_ACTIVATIONS[model.f.name]
    g = TORCH_ACTIVATIONS[model.g.name]
    a = torch.from_numpy(np.array(x, dtype=np.float64))
    zs = []
    for l, lin in enumerate(layers, start=1):
        z = lin(a)
        z.retain_grad()
        zs.append(z)
        a = (f if l < len(layers) else g)(z, negative_slope, elu_alpha)
    value = torch_loss(loss, a, torch.from_numpy(np.array(y, dtype=np.float64)), reduction)
    value.backward()
    grads: dict[str, np.ndarray] = {}
    for l, lin in enumerate(layers, start=1):
        assert lin.weight.grad is not None and lin.bias.grad is not None
        grads[f"W{l}"] = lin.weight.grad.numpy().copy()
        grads[f"b{l}"] = lin.bias.grad.numpy().copy()
    deltas = []
    for z in zs:
        assert z.grad is not None
        deltas.append(z.grad.numpy().copy())
    return float(value.item()), grads, deltas
