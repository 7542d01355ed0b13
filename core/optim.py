"""Optimisers over the MLP's flat parameter vector.

Contract: `opt.step(model)` updates `model.flat` in place from `model.grad_flat`. Because every
parameter of every ensemble member lives in that one vector and the update is elementwise, one
step costs a few vector operations whatever the depth or ensemble size, and each member's update
uses only its own gradient.

- sgd: v <- mu v + g;  theta <- theta - lr v   (torch.optim.SGD; plain SGD when mu = 0).
- adam: m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2;
  theta <- theta - lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)   (torch.optim.Adam).
"""

from __future__ import annotations

import numpy as np

from nnhw.core.errors import NnhwError
from nnhw.core.mlp import MLP

OPTIMIZER_NAMES: tuple[str, ...] = ("sgd", "adam")


class SGD:
    """Stochastic gradient descent with optional (heavy-ball) momentum."""

    def __init__(self, lr: float, momentum: float = 0.0) -> None:
        self.lr = lr
        self.momentum = momentum
        self._v: np.ndarray | None = None

    def step(self, model: MLP) -> None:
        if self.momentum == 0.0:
            model.flat -= self.lr * model.grad_flat
            return
        if self._v is None:
            self._v = model.grad_flat.copy()  # torch: the first buffer is the gradient itself
        else:
            self._v *= self.momentum
            self._v += model.grad_flat
        model.flat -= self.lr * self._v


class Adam:
    """Adam (Kingma & Ba, 2015) with PyTorch's defaults and update order."""

    def __init__(
        self, lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8
    ) -> None:
        self.lr = lr
        self.b1, self.b2 = betas
        self.eps = eps
        self.t = 0
        self._m: np.ndarray | None = None
        self._v: np.ndarray | None = None

    def step(self, model: MLP) -> None:
        g = model.grad_flat
        if self._m is None or self._v is None:
            self._m = np.zeros_like(g)
            self._v = np.zeros_like(g)
        self.t += 1
        self._m *= self.b1
        self._m += (1 - self.b1) * g
        self._v *= self.b2
        self._v += (1 - self.b2) * g * g
        bc1 = 1 - self.b1**self.t
        bc2 = 1 - self.b2**self.t
        denom = np.sqrt(self._v / bc2)
        denom += self.eps
        model.flat -= (self.lr / bc1) * self._m / denom


def make_optimizer(name: str, lr: float, momentum: float = 0.0) -> SGD | Adam:
    """The optimiser called `name` (case-insensitive). `momentum` applies to sgd only."""
    key = name.lower()
    if key == "sgd":
        return SGD(lr, momentum)
    if key == "adam":
        return Adam(lr)
    raise NnhwError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZER_NAMES)}")
