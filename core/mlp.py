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
the same order; `params["W1"]` etc. are views into them. An optimiser therefore updates every
parameter of every member with a few vector operations, and backward writes the gradients in place.
Gradients are overwritten (not accumulated) by each call to `backward`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from nnhw.core.activations import DEFAULT_NEGATIVE_SLOPE, Activation, get_activation
from nnhw.core.errors import NnhwError
from nnhw.core.init import check_init, init_bias, init_weight

Array = np.ndarray


class MLP:
    """E independent fully connected nets of the same shape.

    sizes: [d_in, h_1, ..., h_L, d_out]. activation: the hidden layers' f; output_activation: g.
    rngs: one Generator per member (E = len(rngs)), each drawing that member's initial
    parameters, layer by layer, W_l then b_l, so an ensemble equals E single nets with the same
    generators.
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
    ) -> None:
        self.sizes = [int(s) for s in sizes]
        if len(self.sizes) < 2 or min(self.sizes) < 1:
            raise NnhwError(f"layer sizes must be at least two positive integers, got {sizes}")
        if len(rngs) < 1:
            raise NnhwError("an MLP needs at least one member (one random generator)")
        self.members = len(rngs)
        self.dtype = np.dtype(dtype)
        self.init = check_init(init)
        self.f: Activation = get_activation(activation, negative_slope)
        self.g: Activation = get_activation(output_activation, negative_slope)
        self.n_layers = len(self.sizes) - 1  # weight layers, L + 1

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
        Also starts empty caches. Called whenever `params` and `grads` are (re)built."""
        self.zs: list[Array] = []  # z_1 .. z_{L+1}
        self.acts: list[Array] = []  # a_0 = x, a_1 .. a_{L+1} = y_hat
        self.deltas: list[Array] = []  # dL/dz_1 .. dL/dz_{L+1} from the last backward
        self._ones_cache = np.ones(0, dtype=self.dtype)
        self._scratch = np.empty(0, dtype=self.dtype)
        self._forward_layers = [
            (W, b, W.transpose(0, 2, 1), b[:, None, :], self.f if l < self.n_layers else self.g)
            for l, (W, b) in enumerate(
                ((self.params[w], self.params[b]) for w, b in self._keys), start=1
            )
        ]
        self._backward_layers = [
            (self.params[w], self.grads[w], self.grads[b]) for w, b in self._keys
        ]

    @property
    def depth(self) -> int:
        """Number of hidden layers L."""
        return self.n_layers - 1

    def forward(self, x: Array) -> Array:
        """x: (N, d_in) or (E, N, d_in) -> y_hat: (E, N, d_out); caches z_l and a_l."""
        self.zs = []
        self.acts = [x]
        a = x
        for W, b, WT, b_row, act in self._forward_layers:
            if _fuse_bias(a, W):
                z = np.matmul(_append_ones(a), _append_bias(W, b))
            else:
                z = np.matmul(a, WT)
                z += b_row
            a = act.forward(z)
            self.zs.append(z)
            self.acts.append(a)
        return a

    def backward(self, dy_hat: Array, *, keep_deltas: bool = True) -> dict[str, Array]:
        """dy_hat: (E, N, d_out), the loss gradient at the output of the last `forward`.

        Writes every parameter's gradient into `grads` (views of `grad_flat`) and returns it;
        keeps dL/dz_l of every layer in `deltas`. With keep_deltas=False (a training step, which
        needs only the gradients) `deltas` is left empty, and the course's net with one output
        unit and a large batch takes the rank-one form of the first layer (_first_layer_rank_one).
        """
        L1 = self.n_layers
        deltas: list[Array] = [dy_hat] * L1
        dz = (
            dy_hat
            if self.g.kind == "linear"
            else dy_hat * self.g.derivative(self.zs[-1], self.acts[-1])
        )
        for l in range(L1, 0, -1):
            W, gW, gb = self._backward_layers[l - 1]
            deltas[l - 1] = dz
            np.matmul(dz.transpose(0, 2, 1), self.acts[l - 1], out=gW)
            # db_l = sum_n dz_l, as the product 1^T dz_l: BLAS sums faster than add.reduce.
            np.matmul(self._ones(dz), dz, out=gb)
            if l == 2 and not keep_deltas and _rank_one_pays(dz, W):
                self._first_layer_rank_one(dz, W)
                break
            if l > 1:
                da = _back_through_weights(dz, W)
                dz = self.f.backward(da, self.zs[l - 2], self.acts[l - 1])  # da * f'(z_{l-1})
        self.deltas = deltas if keep_deltas else []
        return self.grads

    def _first_layer_rank_one(self, dz2: Array, W2: Array) -> None:
        """dW_1 and db_1 when W_2 has one row w (one output unit), without forming dz_1.

        dz_1 = (dz_2 w) * f'(z_1) is an outer product masked by D = f'(z_1), so with r = dz_2
        (one number per point) and x = a_0:
            dW_1[h, k] = sum_n r_n w_h D[n, h] x[n, k] = w_h (D^T (r x))[h, k],
            db_1[h]    = sum_n r_n w_h D[n, h]         = w_h (D^T r)[h],
        one product D^T [r x, r] for both. It writes one (E, N, h) array (D) where the plain
        form writes three (the outer product, the derivative, their product).
        """
        x = self.acts[0]
        z1 = self.zs[0]
        if self._scratch.shape != z1.shape or self._scratch.dtype != z1.dtype:
            self._scratch = np.empty_like(z1)  # reused: a fresh large array costs page faults
        D = self.f.derivative(z1, self.acts[1], out=self._scratch)  # (E, N, h_1)
        d_in = x.shape[-1]
        rx = np.empty((*dz2.shape[:2], d_in + 1), dtype=dz2.dtype)  # [r x, r]
        np.multiply(x, dz2, out=rx[..., :d_in])
        rx[..., d_in] = dz2[..., 0]
        P = np.matmul(D.transpose(0, 2, 1), rx)  # (E, h_1, d_in + 1)
        P *= W2.transpose(0, 2, 1)  # row h times w_h
        gW1, gb1 = self._backward_layers[0][1:]
        gW1[...] = P[..., :d_in]
        gb1[...] = P[..., d_in]

    def _ones(self, dz: Array) -> Array:
        """A vector of N ones in dz's dtype (kept between calls: batches repeat their size)."""
        if self._ones_cache.shape[0] != dz.shape[1] or self._ones_cache.dtype != dz.dtype:
            self._ones_cache = np.ones(dz.shape[1], dtype=dz.dtype)
        return self._ones_cache

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


# The large-array forms below save whole passes over an (E, N, width) array at the price of a few
# extra small NumPy calls: they pay from this many elements on (an ensemble), not on one small net.
_LARGE = 1 << 14


def _large(members: int, n: int, width: int) -> bool:
    return members * n * width >= _LARGE


def _rank_one_pays(dz: Array, W: Array) -> bool:
    """The rank-one first layer (MLP._first_layer_rank_one) applies when W_2 has one row, and
    pays on large arrays."""
    return W.shape[1] == 1 and _large(dz.shape[0], dz.shape[1], W.shape[2])


def _back_through_weights(dz: Array, W: Array) -> Array:
    """dz W. With one output unit the product is an outer product: a broadcast multiply computes
    the same numbers faster than a matmul with inner size 1, and on large arrays (an ensemble)
    einsum is faster still (1.6x on 100 x 32 x 64), though its set-up costs more on small ones."""
    if W.shape[1] != 1:
        return np.matmul(dz, W)
    if _large(dz.shape[0], dz.shape[1], W.shape[2]):
        return np.einsum("en,eh->enh", dz[..., 0], W[:, 0])
    return dz * W


# Bias in the product ("homogeneous coordinates"): [a, 1] [W^T; b] = a W^T + b. For a narrow
# input (the course's 2-D data) the extra column and row cost little, and the product replaces a
# separate pass adding b over the whole (E, N, out) output, worth saving on a large output.
_FUSE_MAX_IN = 8


def _fuse_bias(a: Array, W: Array) -> bool:
    return W.shape[2] <= _FUSE_MAX_IN and _large(W.shape[0], a.shape[-2], W.shape[1])


def _append_ones(a: Array) -> Array:
    """[a, 1]: a with a column of ones appended (..., N, in + 1)."""
    out = np.empty((*a.shape[:-1], a.shape[-1] + 1), dtype=a.dtype)
    out[..., :-1] = a
    out[..., -1] = 1
    return out


def _append_bias(W: Array, b: Array) -> Array:
    """[W^T; b]: (E, in + 1, out), W transposed with the bias as its last row."""
    out = np.empty((W.shape[0], W.shape[2] + 1, W.shape[1]), dtype=W.dtype)
    out[:, :-1] = W.transpose(0, 2, 1)
    out[:, -1] = b
    return out
