"""The MLP's fast forms: products of the derivation computed in fewer passes over memory.

Contract: each function computes what the plain formula in its docstring computes, to rounding,
and is called by core.mlp only where the `Plan` of the batch says so. `choose_plan` is the one
place that decides; `MLP(..., fast_paths=False)` takes the plain form everywhere (the tests hold
every fast form against the plain one, against core.reference and against autograd).

The forms, and where each pays:

- batch sum as a product, db = 1^T dz: a BLAS vector-matrix product sums over the batch faster
  than add.reduce along the middle axis. Always (when fast paths are on).
- bias in the product ("homogeneous coordinates"): [a, 1] [W^T; b] = a W^T + b. For a narrow
  input (the course's 2-D data, at most FUSE_MAX_IN columns) the extra column and row cost
  little, and the product replaces a separate pass adding b over the whole (E, N, out) output,
  worth saving when that output is large.
- outer product, dz W when W has one row (one output unit): with inner size 1 the product is an
  outer product; a broadcast multiply computes the same numbers faster than a matmul, and on
  large arrays einsum is faster still (1.6x on 100 x 32 x 64), though its set-up costs more on
  small ones.
- rank-one first layer: dW_1 and db_1 straight from dz_2 when W_2 has one row, without forming
  dz_1. Training steps only (backward with keep_deltas=False, which keeps no dz_l), large arrays.

"Large" means at least LARGE elements in the (E, N, width) array concerned: those forms save whole
passes over it at the price of a few extra small NumPy calls, so they pay on an ensemble, not on
one small net.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from nnhw.core.activations import Activation

Array = np.ndarray

LARGE = 1 << 14  # elements of an (E, N, width) array from which the large-array forms pay
FUSE_MAX_IN = 8  # widest layer input for which the bias goes into the product


@dataclass(frozen=True)
class Plan:
    """The form each step of a forward and backward pass takes, for one batch size.

    fused_bias[l - 1]: z_l = [a_{l-1}, 1] [W_l^T; b_l] (affine_fused_bias), else a W^T then + b.
    outer_product[l - 1]: how da_{l-1} = dz_l W_l is formed: "matmul" (the plain product), or,
        when W_l has one row, "broadcast" or "einsum" (outer_product). Layer 1's is "matmul" and
        unused: nothing flows back past x.
    rank_one_first_layer: a training step (backward with keep_deltas=False) gets dW_1, db_1 from
        first_layer_rank_one.
    batch_sum_by_product: db_l = 1^T dz_l (batch_sum), else dz_l summed over the batch axis.
    """

    fused_bias: tuple[bool, ...]
    outer_product: tuple[str, ...]
    rank_one_first_layer: bool
    batch_sum_by_product: bool

    def fast_forms(self) -> list[str]:
        """The fast forms in use, by name and layer: e.g. ["fused bias 1", "einsum 2", ...]."""
        forms = [f"fused bias {l}" for l, on in enumerate(self.fused_bias, start=1) if on]
        forms += [
            f"{form} {l}" for l, form in enumerate(self.outer_product, start=1) if form != "matmul"
        ]
        if self.rank_one_first_layer:
            forms.append("rank-one first layer")
        if self.batch_sum_by_product:
            forms.append("batch sum by product")
        return forms


def choose_plan(sizes: Sequence[int], members: int, batch: int, enabled: bool = True) -> Plan:
    """The plan for E = `members` nets of layer sizes `sizes` on batches of `batch` examples;
    with enabled=False, the plain form everywhere."""
    layers = list(pairwise(sizes))  # (in, out) of each weight layer
    if not enabled:
        n = len(layers)
        return Plan((False,) * n, ("matmul",) * n, False, False)

    def large(width: int) -> bool:
        return members * batch * width >= LARGE

    fused = tuple(n_in <= FUSE_MAX_IN and large(n_out) for n_in, n_out in layers)
    outer = tuple(
        "matmul" if l == 1 or n_out != 1 else "einsum" if large(n_in) else "broadcast"
        for l, (n_in, n_out) in enumerate(layers, start=1)
    )
    rank_one = len(layers) >= 2 and sizes[2] == 1 and large(sizes[1])
    return Plan(fused, outer, rank_one, True)


def affine_fused_bias(a: Array, W: Array, b: Array) -> Array:
    """z = a W^T + b as the one product [a, 1] [W^T; b].

    a: (N, in) or (E, N, in), W: (E, out, in), b: (E, out) -> z: (E, N, out).
    """
    a_ones = np.empty((*a.shape[:-1], a.shape[-1] + 1), dtype=a.dtype)  # [a, 1]: (..., N, in + 1)
    a_ones[..., :-1] = a
    a_ones[..., -1] = 1
    WT_b = np.empty((W.shape[0], W.shape[2] + 1, W.shape[1]), dtype=W.dtype)  # (E, in + 1, out)
    WT_b[:, :-1] = W.transpose(0, 2, 1)  # [W^T; b]
    WT_b[:, -1] = b
    return np.matmul(a_ones, WT_b)


def batch_sum(dz: Array, out: Array) -> Array:
    """db = sum_n dz[:, n, :], as the product 1^T dz, written into and returned as `out`.

    dz: (E, N, k), out: (E, k).
    """
    return np.matmul(_ones(dz.shape[1], dz.dtype), dz, out=out)


@functools.lru_cache(maxsize=16)
def _ones(n: int, dtype: np.dtype) -> Array:
    """A read-only vector of n ones, made once per size (batches repeat their size)."""
    ones = np.ones(n, dtype=dtype)
    ones.flags.writeable = False
    return ones


def outer_product(dz: Array, W: Array, form: str) -> Array:
    """da = dz W for a W with one row: dz (E, N, 1), W (E, 1, in) -> da (E, N, in), a new array.

    form: "broadcast" (dz * W) or "einsum" (da[e, n, h] = dz[e, n] W[e, h]).
    """
    if form == "einsum":
        return np.einsum("en,eh->enh", dz[..., 0], W[:, 0])
    return dz * W


class Scratch:
    """A work array kept between steps (batches repeat their shape): allocating a fresh large
    array every step costs page faults. Not shared between threads: each MLP view has its own."""

    def __init__(self) -> None:
        self._array = np.empty(0)

    def like(self, a: Array) -> Array:
        """An uninitialised array of a's shape and dtype (the same one while they repeat)."""
        if self._array.shape != a.shape or self._array.dtype != a.dtype:
            self._array = np.empty_like(a)
        return self._array


def first_layer_rank_one(
    dz2: Array,
    W2: Array,
    x: Array,
    z1: Array,
    a1: Array,
    f: Activation,
    dW1: Array,
    db1: Array,
    scratch: Scratch,
) -> None:
    """dW_1 and db_1 from dz_2 when W_2 has one row w (one output unit), without forming dz_1.

    The plain form is dz_1 = (dz_2 w) * f'(z_1), dW_1 = dz_1^T x, db_1 = sum_n dz_1. That dz_1
    is an outer product masked by D = f'(z_1), so with r = dz_2 (one number per example):
        dW_1[h, k] = sum_n r_n w_h D[n, h] x[n, k] = w_h (D^T (r x))[h, k],
        db_1[h]    = sum_n r_n w_h D[n, h]         = w_h (D^T r)[h],
    one product D^T [r x, r] for both. It writes one (E, N, h_1) array (D, into `scratch`) where
    the plain form writes three (the outer product, the derivative, their product).

    dz2: (E, N, 1), W2: (E, 1, h_1), x: (N, d_in) or (E, N, d_in), z1 and a1: (E, N, h_1);
    dW1: (E, h_1, d_in) and db1: (E, h_1) are written in place.
    """
    D = f.derivative(z1, a1, out=scratch.like(z1))  # (E, N, h_1)
    d_in = x.shape[-1]
    rx = np.empty((*dz2.shape[:2], d_in + 1), dtype=dz2.dtype)  # [r x, r]
    np.multiply(x, dz2, out=rx[..., :d_in])
    rx[..., d_in] = dz2[..., 0]
    P = np.matmul(D.transpose(0, 2, 1), rx)  # D^T [r x, r]: (E, h_1, d_in + 1)
    P *= W2.transpose(0, 2, 1)  # row h times w_h
    dW1[...] = P[..., :d_in]
    db1[...] = P[..., d_in]
