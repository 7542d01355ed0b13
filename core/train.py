"""The training loop: minibatch steps, a per-epoch history, divergence as a result.

Contract: `fit(model, data, ...)` trains every member of `model` for `epochs` epochs. Each member
e draws its own data order from `rngs[e]` (a fresh permutation per epoch; the last, shorter batch
is kept, as torch's DataLoader does), so an ensemble trains member for member like separate runs.

After initialisation (epoch 0) and after every epoch, `evaluate` runs one forward and backward pass
over the whole training set (no update) and records, per member: train and test loss, accuracy
(classification) or R^2 (regression), and the diagnostics of `core.diagnostics` on that
full-batch gradient. A member whose training loss is not finite has diverged at that epoch;
training stops once every member has (for one net: at the first non-finite loss). Overflow on
the way there is expected and silenced, never printed.

`history` may be passed in: the records are appended to it as they are made, so a caller that is
interrupted (KeyboardInterrupt propagates) keeps every finished epoch.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from nnhw.core import diagnostics
from nnhw.core.losses import get_loss, get_loss_gradient
from nnhw.core.mlp import MLP
from nnhw.core.optim import SGD, Adam

Array = np.ndarray
# train_epoch gathers about 256 kB of shuffled rows at a time: few calls for small rows, and a
# large net's batch is still in cache when backward reads it again (8 MB chunks were 6 % slower).
_GATHER_BYTES = 1 << 18
# With threads > 1, an ensemble's members are split between threads only when every thread gets
# at least this many activations per step (members x batch x units); below it, handing a part to
# another thread costs more than it saves (an ensemble of 50 two-layer nets of 64 units, batch 32).
_THREAD_MIN_ELEMENTS = 1 << 16


@dataclass(frozen=True)
class TrainData:
    """Arrays for training: Y are the loss targets, labels the classes (classification only)."""

    X_train: Array
    Y_train: Array
    X_test: Array | None = None
    Y_test: Array | None = None
    labels_train: Array | None = None
    labels_test: Array | None = None


@dataclass
class History:
    """Per-epoch records. `metrics[name]` is a list over records of (E,) or (E, layers) arrays."""

    epochs: list[int] = field(default_factory=list)
    metrics: dict[str, list[Array]] = field(default_factory=dict)
    diverged_epoch: Array | None = None  # (E,), -1 where the member did not diverge

    def append(self, epoch: int, record: dict[str, Array]) -> None:
        self.epochs.append(epoch)
        for k, v in record.items():
            self.metrics.setdefault(k, []).append(v)

    def array(self, name: str) -> Array:
        """(T, E) or (T, E, layers) for metric `name` over the T records."""
        return np.stack(self.metrics[name])

    @property
    def diverged(self) -> bool:
        return self.diverged_epoch is not None and bool(np.any(self.diverged_epoch >= 0))


def accuracy(y_hat: Array, labels: Array) -> Array:
    """(E,): share of correct classes; one output is thresholded at 0.5, several use argmax."""
    pred = (y_hat[..., 0] > 0.5) if y_hat.shape[-1] == 1 else np.argmax(y_hat, axis=-1)
    return np.mean(pred == labels, axis=-1)


def r2_score(y_hat: Array, y: Array) -> Array:
    """(E,): coefficient of determination, averaged over outputs (sklearn's r2_score)."""
    ss_res = np.sum((y - y_hat) ** 2, axis=-2)
    ss_tot = np.sum((y - y.mean(axis=-2, keepdims=True)) ** 2, axis=-2)
    return np.mean(1 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0), axis=-1)


def _metric(y_hat: Array, labels: Array | None, y: Array) -> Array:
    """Accuracy when there are class labels, R^2 otherwise."""
    return accuracy(y_hat, labels) if labels is not None else r2_score(y_hat, y)


def evaluate(
    model: MLP, data: TrainData, loss: str, reduction: str, saturation_threshold: float
) -> dict[str, Array]:
    """One record: losses, metric and full-batch-gradient diagnostics, all per member."""
    fn = get_loss(loss)
    classify = data.labels_train is not None
    metric = "accuracy" if classify else "r2"
    y_hat = model.forward(data.X_train)
    value, d = fn(y_hat, data.Y_train, reduction)
    rec: dict[str, Array] = {"train_loss": value}
    rec[f"train_{metric}"] = _metric(y_hat, data.labels_train, data.Y_train)
    model.backward(d, copy=False)  # the diagnostics read model.grads
    rec["grad_norm"] = diagnostics.grad_norms(model)
    rec["signal_norm"] = diagnostics.signal_norms(model)
    rec["dead_fraction"] = diagnostics.dead_fraction(model)
    rec["saturated_fraction"] = diagnostics.saturated_fraction(model, saturation_threshold)
    rec.update(diagnostics.activation_stats(model))
    if data.X_test is not None and data.Y_test is not None:
        y_hat = model.forward(data.X_test)
        rec["test_loss"] = fn(y_hat, data.Y_test, reduction)[0]
        rec[f"test_{metric}"] = _metric(y_hat, data.labels_test, data.Y_test)
    return rec


def train_epoch(
    model: MLP,
    X: Array,
    Y: Array,
    *,
    loss: str,
    reduction: str,
    optimizer: SGD | Adam,
    batch_size: int,
    rngs: Sequence[np.random.Generator],
    threads: int = 1,
) -> None:
    """One epoch of minibatch steps (forward, loss gradient, backward, optimiser step).

    X: (n, d_in), Y: (n, k), in the model's dtype. Member e visits the rows in the order
    `rngs[e].permutation(n)`, in batches of `batch_size` (the last one shorter).

    threads > 1 splits a large ensemble into contiguous groups of members whose forward and
    backward passes run in parallel threads (NumPy releases the GIL inside its loops and BLAS
    calls); the optimiser then steps all members at once. Every member computes the same bits
    whatever the number of threads: the split only decides which thread computes it.
    """
    gradient = get_loss_gradient(loss)  # the step needs no loss value
    n = X.shape[0]
    batch = min(batch_size, n)
    order = np.stack([rng.permutation(n) for rng in rngs])
    parts = _member_parts(model, batch, threads)

    def step(net: MLP, x: Array, y: Array) -> None:
        # copy=False: the optimiser reads the gradients in place, before the next step's backward
        net.backward(gradient(net.forward(x), y, reduction), keep_deltas=False, copy=False)

    # One fancy-indexed gather per chunk of batches (at most about _GATHER_BYTES), then contiguous
    # slices: the same rows in the same order as a gather per step, in far fewer NumPy calls.
    row_bytes = order.shape[0] * (X.shape[1] + Y.shape[1]) * X.itemsize
    chunk = batch * max(1, _GATHER_BYTES // (row_bytes * batch))
    with ThreadPoolExecutor(max(1, len(parts) - 1)) as pool:
        for first in range(0, n, chunk):
            idx = order[:, first : first + chunk]
            X_chunk, Y_chunk = X[idx], Y[idx]
            for start in range(0, idx.shape[1], batch):
                x, y = X_chunk[:, start : start + batch], Y_chunk[:, start : start + batch]
                if parts:
                    # copy_context: the caller's np.errstate holds in the other threads too
                    futures = [
                        pool.submit(contextvars.copy_context().run, step, view, x[lo:hi], y[lo:hi])
                        for lo, hi, view in parts[1:]
                    ]
                    lo, hi, view = parts[0]
                    step(view, x[lo:hi], y[lo:hi])
                    for f in futures:
                        f.result()
                else:
                    step(model, x, y)
                optimizer.step(model)


def _member_parts(model: MLP, batch: int, threads: int) -> list[tuple[int, int, MLP]]:
    """(lo, hi, view of members lo..hi-1) per thread, or [] when one thread does it all."""
    units = sum(model.sizes[1:])
    k = min(int(threads), model.members, model.members * batch * units // _THREAD_MIN_ELEMENTS)
    if k <= 1:
        return []
    bounds = [model.members * i // k for i in range(k + 1)]
    return [(lo, hi, model.members_view(lo, hi)) for lo, hi in pairwise(bounds)]


def fit(
    model: MLP,
    data: TrainData,
    *,
    loss: str,
    reduction: str,
    optimizer: SGD | Adam,
    epochs: int,
    batch_size: int,
    rngs: Sequence[np.random.Generator],
    history: History | None = None,
    on_epoch: Callable[[int, dict[str, Array]], None] | None = None,
    saturation_threshold: float = diagnostics.SATURATION_THRESHOLD,
    threads: int = 1,
) -> History:
    """Train `model` in place; returns the history (the one passed in, if any). `threads`: see
    train_epoch (the evaluation runs in this thread)."""
    assert len(rngs) == model.members, "one data-order generator per member"
    hist = history if history is not None else History()
    hist.diverged_epoch = np.full(model.members, -1)
    X, Y = data.X_train.astype(model.dtype), data.Y_train.astype(model.dtype)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        for epoch in range(epochs + 1):
            if epoch > 0:
                train_epoch(
                    model, X, Y, loss=loss, reduction=reduction, optimizer=optimizer,
                    batch_size=batch_size, rngs=rngs, threads=threads,
                )  # fmt: skip
            rec = evaluate(model, data, loss, reduction, saturation_threshold)
            hist.append(epoch, rec)
            bad = ~np.isfinite(rec["train_loss"]) & (hist.diverged_epoch < 0)
            hist.diverged_epoch[bad] = epoch
            if on_epoch is not None:
                on_epoch(epoch, rec)
            if np.all(hist.diverged_epoch >= 0):
                break
    return hist
