"""The multilayer perceptron with a hand-written backward pass, and its ensemble axis.

Notation follows the course: for layer l = 1..L+1 (L hidden layers),
    z_l = a_{l-1} W_l^T + b_l,   a_l = f(z_l) (hidden),   y_hat = a_{L+1} = g(z_{L+1}) (output),
with a_0 = x. Weights use PyTorch's layout: W_l is (out, in), so parameters copy straight into
torch.nn.Linear. Backward, from dy_hat = dL/dy_hat:
    dz_{L+1} = dy_hat * g'(z_{L+1})
    dW_l = dz_l^T a_{l-1},   db_l = sum_n dz_l,   dz_{l-1} = (dz_l W_l) * f'(z_{l-1}).

Ensembles: every array carries a leading member axis E. W_l is (E, out, in), b_l is (E, out),
z_l and a_l are (E, N, width). The input x may be (N, d_in), shared by all members, or
(E, N, d_in), one batch per member (each member with its own data order). Member e computes
exactly what a single net with member e's parameters would.

Storage: all parameters live in one contiguous vector `flat` and the gradients in `grad_flat`, in
the same order; `params["W1"]` etc. are views into them, and so are `grads["W1"]` etc. An
optimiser therefore updates every parameter of every member with a few vector operations.
`backward` writes the gradients into `grads` (overwriting, not accumulating) and returns fresh
copies of them; a training step, which reads them through `grad_flat` before the next backward,
asks for the views instead (`backward(..., copy=False)`) and saves the copies.

Speed: the forward and backward loops below are the derivation, step by step. Where a step has a
faster form with the same numbers (bias inside the product, outer products, the rank-one first
layer, a BLAS batch sum), it calls it from core.fastpaths, as the batch's `Plan` says
(`fastpaths.choose_plan`); `MLP(..., fast_paths=False)` takes the plain product everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from nnhw.core import fastpaths as fast
from nnhw.core.activations import (
    DEFAULT_ELU_ALPHA,
    DEFAULT_NEGATIVE_SLOPE,
    Activation,
    get_activation,
)
from nnhw.core.errors import NnhwError
from nnhw.core.fastpaths import Plan
from nnhw.core.init import check_init, init_bias, init_weight

Array = np.ndarray


class _Layer(NamedTuple):
    """Weight layer l as forward and backward use it: W_l (E, out, in), b_l (E, out), their
    gradients dW_l, db_l (views of grad_flat), the views W_l^T (E, in, out) and b_l as a row
    (E, 1, out), and the layer's activation (f; g for the output layer)."""

    W: Array
    b: Array
    dW: Array  # noqa: N815 (the derivation's name)
    db: Array
    WT: Array
    b_row: Array
    act: Activation


class MLP:
    """E independent fully connected nets of the same shape.

    sizes: [d_in, h_1, ..., h_L, d_out]. activation: the hidden layers' f; output_activation: g.
    rngs: one Generator per member (E = len(rngs)), each drawing that member's initial
    parameters, layer by layer, W_l then b_l, so an ensemble equals E single nets with the same
    generators. negative_slope and elu_alpha: LeakyReLU's slope and ELU's alpha (either f or g).
    fast_paths: see the `fast_paths` property.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str,
        output_activation: str,
        rngs: Sequence[np.random.Generator],
        *,
        init: str = "standard",
        init_scale: float | None = None,
        dtype: np.dtype | type = np.float64,
        negative_slope: float = DEFAULT_NEGATIVE_SLOPE,
        elu_alpha: float = DEFAULT_ELU_ALPHA,
        fast_paths: bool = True,
    ) -> None:
        self.sizes = [int(s) for s in sizes]
        if len(self.sizes) < 2 or min(self.sizes) < 1:
            raise NnhwError(f"layer sizes must be at least two positive integers, got {sizes}")
        if len(rngs) < 1:
            raise NnhwError("an MLP needs at least one member (one random generator)")
        self.members = len(rngs)
        self.dtype = np.dtype(dtype)
        self.init = check_init(init)
        self.f: Activation = get_activation(activation, negative_slope, elu_alpha)
        self.g: Activation = get_activation(output_activation, negative_slope, elu_alpha)
        self.n_layers = len(self.sizes) - 1  # weight layers, L + 1
        self._fast_paths = bool(fast_paths)

        shapes: list[tuple[str, tuple[int, ...]]] = []
        for l, (n_in, n_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:]), start=1):
            shapes += [(f"W{l}", (self.members, n_out, n_in)), (f"b{l}", (self.members, n_out))]
        total = sum(int(np.prod(s)) for _, s in shapes)
        self.flat = np.zeros(total, dtype=self.dtype)
        self.grad_flat = np.zeros(total, dtype=self.dtype)
        self.params: dict[str, Array] = {}
        self.grads: dict[str, Array] = {}
        offset = 0
        for name, shape in shapes:
            size = int(np.prod(shape))
            self.params[name] = self.flat[offset : offset + size].reshape(shape)
            self.grads[name] = self.grad_flat[offset : offset + size].reshape(shape)
            offset += size
        self.names = [name for name, _ in shapes]
        self._keys = [(f"W{l}", f"b{l}") for l in range(1, self.n_layers + 1)]  # in params, grads

        for e, rng in enumerate(rngs):
            for l, (n_in, n_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:]), start=1):
                self.params[f"W{l}"][e] = init_weight(
                    self.init, rng, n_out, n_in, self.dtype, init_scale
                )
                self.params[f"b{l}"][e] = init_bias(self.init, rng, n_out, n_in, self.dtype)

        self._bind()

    def _bind(self) -> None:
        """Per-layer views for forward and backward, made once (params and grads are views that
        the optimiser updates in place): a step then builds no transposed or broadcast view.
        Also starts empty caches, plans and scratch space. Called whenever `params` and `grads`
        are (re)built."""
        self.zs: list[Array] = []  # z_1 .. z_{L+1}
        self.acts: list[Array] = []  # a_0 = x, a_1 .. a_{L+1} = y_hat
        self.deltas: list[Array] = []  # dL/dz_1 .. dL/dz_{L+1} from the last backward
        self.plan: Plan | None = None  # the forms the last forward (and its backward) take
        self._plans: dict[int, Plan] = {}  # by batch size
        self._scratch = fast.Scratch()
        self._layers = [
            _Layer(
                W=self.params[w], b=self.params[b], dW=self.grads[w], db=self.grads[b],
                WT=self.params[w].transpose(0, 2, 1), b_row=self.params[b][:, None, :],
                act=self.f if l < self.n_layers else self.g,
            )
            for l, (w, b) in enumerate(self._keys, start=1)
        ]  # fmt: skip

    @property
    def depth(self) -> int:
        """Number of hidden layers L."""
        return self.n_layers - 1

    @property
    def fast_paths(self) -> bool:
        """Whether forward and backward may take the fast forms of core.fastpaths (default True);
        False takes the plain product everywhere. The same gradients, to rounding."""
        return self._fast_paths

    @fast_paths.setter
    def fast_paths(self, enabled: bool) -> None:
        self._fast_paths = bool(enabled)
        self._plans = {}

    def plan_for(self, batch: int) -> Plan:
        """The forms a forward and backward pass on `batch` examples take (made once per size)."""
        plan = self._plans.get(batch)
        if plan is None:
            plan = fast.choose_plan(self.sizes, self.members, batch, enabled=self._fast_paths)
            self._plans[batch] = plan
        return plan

    def forward(self, x: Array) -> Array:
        """x: (N, d_in) or (E, N, d_in) -> y_hat: (E, N, d_out); caches z_l and a_l."""
        plan = self.plan = self.plan_for(x.shape[-2])
        self.zs = []
        self.acts = [x]
        a = x
        for layer, fused in zip(self._layers, plan.fused_bias):
            if fused:
                z = fast.affine_fused_bias(a, layer.W, layer.b)  # the same z, b in the product
            else:
                z = np.matmul(a, layer.WT)  # z_l = a_{l-1} W_l^T + b_l: (E, N, out)
                z += layer.b_row
            a = layer.act.forward(z)  # a_l = f(z_l); y_hat = g(z_{L+1}) for the last layer
            self.zs.append(z)
            self.acts.append(a)
        return a

    def backward(
        self, dy_hat: Array, *, keep_deltas: bool = True, copy: bool = True
    ) -> dict[str, Array]:
        """dy_hat: (E, N, d_out), the loss gradient at the output of the last `forward`.

        Writes every parameter's gradient into `grads` (views of `grad_flat`, which the
        optimiser reads, overwritten by the next call) and returns them: fresh copies by
        default, or with copy=False the `grads` views themselves (what a training step wants).
        Keeps dL/dz_l of every layer in `deltas`; with keep_deltas=False (a training step, which
        needs only the gradients) `deltas` is left empty, and the first layer may take the
        rank-one form (fastpaths.first_layer_rank_one).
        """
        plan = self.plan
        assert plan is not None, "backward follows a forward"
        # dz_{L+1} = dy_hat * g'(z_{L+1}); an identity output has g' = 1: dz_{L+1} is dy_hat.
        if self.g.kind == "linear":
            dz = dy_hat
        else:
            dz = dy_hat * self.g.derivative(self.zs[-1], self.acts[-1])
        deltas = [dz] * self.n_layers  # dL/dz_l, filled from the output down
        for l in range(self.n_layers, 0, -1):
            layer = self._layers[l - 1]
            deltas[l - 1] = dz
            # dW_l = dz_l^T a_{l-1}: (E, out, N) (E, N, in) -> (E, out, in)
            np.matmul(dz.transpose(0, 2, 1), self.acts[l - 1], out=layer.dW)
            # db_l = sum_n dz_l: (E, out)
            if plan.batch_sum_by_product:
                fast.batch_sum(dz, out=layer.db)
            else:
                np.sum(dz, axis=1, out=layer.db)
            if l == 1:
                break
            if l == 2 and plan.rank_one_first_layer and not keep_deltas:
                # dW_1 and db_1 straight from dz_2: a training step keeps no dz_1 to form
                first = self._layers[0]
                fast.first_layer_rank_one(
                    dz, layer.W, self.acts[0], self.zs[0], self.acts[1], self.f,
                    first.dW, first.db, self._scratch,
                )  # fmt: skip
                break
            # da_{l-1} = dz_l W_l: (E, N, out) (E, out, in) -> (E, N, in)
            form = plan.outer_product[l - 1]
            if form == "matmul":
                da = np.matmul(dz, layer.W)
            else:
                da = fast.outer_product(dz, layer.W, form)
            # dz_{l-1} = da_{l-1} * f'(z_{l-1}), elementwise (in place in da)
            dz = self.f.backward(da, self.zs[l - 2], self.acts[l - 1])
        self.deltas = deltas if keep_deltas else []
        if copy:
            return {name: g.copy() for name, g in self.grads.items()}
        return self.grads

    def members_view(self, lo: int, hi: int) -> MLP:
        """Members lo..hi-1 as an MLP that shares this one's parameter and gradient storage.

        Its forward/backward read and write this model's params and grads (views of `flat` and
        `grad_flat`) and keep their own caches, so disjoint views can run in parallel threads;
        each member computes exactly what it computes in the whole ensemble.
        """
        view = MLP.__new__(MLP)
        view.__dict__.update(self.__dict__)
        view.members = hi - lo
        view.params = {n: p[lo:hi] for n, p in self.params.items()}
        view.grads = {n: g[lo:hi] for n, g in self.grads.items()}
        view._bind()
        return view

    def member(self, e: int) -> MLP:
        """A single net (E = 1) holding a copy of member e's parameters."""
        clone = MLP.__new__(MLP)
        clone.__dict__.update(self.__dict__)
        clone.members = 1
        clone.flat = np.concatenate([self.params[n][e : e + 1].ravel() for n in self.names])
        clone.grad_flat = np.zeros_like(clone.flat)
        clone.params, clone.grads = {}, {}
        offset = 0
        for n in self.names:
            shape = (1, *self.params[n].shape[1:])
            size = int(np.prod(shape))
            clone.params[n] = clone.flat[offset : offset + size].reshape(shape)
            clone.grads[n] = clone.grad_flat[offset : offset + size].reshape(shape)
            offset += size
        clone._bind()
        return clone
