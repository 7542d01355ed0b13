"""Measuring minibatch gradients of one fixed net: the data half of `nnhw batch-scaling`.

Contract:
- `build_problem(task, n_samples, seed)` makes the fixed net and data set of the study from the
  course's preset for `task` (inputs standardised) and a root seed. The net's parameters come from
  `stream(seed, INIT, 0)`, the same stream as member 0 of the training study.
- `minibatch_sq_norms(net, X, Y, loss, batch_size, n_minibatches, rng)` draws `n_minibatches`
  minibatches of `batch_size` distinct examples each (without replacement within a batch,
  independently across batches) and returns, for `sum` and `mean` reduction, the squared norm of
  every minibatch's gradient over all parameters, each from a real forward and backward pass.
- `per_example_gradients(net, X, Y, loss)` is the (N, P) matrix of the gradients of the
  per-example losses l_i, defined so that the mean-reduction loss of a batch is (1/B) sum_i l_i.
- `noise_statistics(G_examples)`: |G|^2, tr(Sigma) and B_simple from those gradients;
  `bootstrap_b_simple(G_examples, replicates, rng)`: B_simple of `replicates` bootstrap
  resamples of the examples (how much B_simple moves with the data set drawn).
- `seed_nets(task, X, Y, labels, seeds, seed, pretrain_epochs)`: the nets of the training study's
  seeds (member s from stream INIT s), pretrained as one ensemble for `pretrain_epochs` epochs
  when > 0 (member s's data order: stream PRETRAIN s), one single net each: the nets of the
  "init" and "trained" phases.
- `stream(seed, NAME, *index)`: the named random streams (DATA, INIT, ORDER, SAMPLING, PRETRAIN,
  BOOTSTRAP) under the root seed, which the sweep cells (experiments.batch_scaling.cells) share.

How: the minibatches run on the MLP's ensemble axis. The net is replicated into M identical
members and member m gets minibatch m (x of shape (M, B, d)), so one vectorised forward and
backward pass gives M independent minibatch gradients. Per-example gradients are the case B = 1
with N members: exact (no finite differences, no assumptions about the architecture) and as
cheap as one pass over the data. Work is chunked so that no pass holds more than `CHUNK_EXAMPLES`
examples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnhw.core.data import Standardizer, make_dataset, targets
from nnhw.core.losses import get_loss
from nnhw.core.mlp import MLP
from nnhw.core.optim import make_optimizer
from nnhw.core.presets import get_preset
from nnhw.core.train import TrainData, fit
from nnhw.experiments.data.prepare import sampled_table

Array = np.ndarray

CHUNK_EXAMPLES = 1 << 16  # examples per vectorised pass (bounds memory at about 64 x 8 x 2^16 B)

# Named random streams under the root seed: stream(seed, NAME, i) = SeedSequence(seed,
# spawn_key=(NAME, i)). The keys are far from the small cell indices of the sweep engine.
DATA, INIT, ORDER, SAMPLING, PRETRAIN = 1_000_001, 1_000_002, 1_000_003, 1_000_004, 1_000_005
BOOTSTRAP = 1_000_006


def stream(seed: int, name: int, *index: int) -> np.random.Generator:
    """The generator of the named stream `name` (member, phase, ... `index`) under root `seed`."""
    key = index or (0,)
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(name, *key)))


@dataclass(frozen=True)
class Problem:
    """The fixed net (one member) and its data: X (N, d), Y (N, k) loss targets."""

    task: str
    net: MLP
    X: Array
    Y: Array
    loss: str
    labels: Array | None = None

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])


def make_net(task: str, d_in: int, d_out: int, rngs: list[np.random.Generator]) -> MLP:
    """The preset's architecture with one member per generator."""
    p = get_preset(task)
    return MLP([d_in, *p.hidden, d_out], p.activation, p.output_activation, rngs, init=p.init)


def build_data(
    task: str, n_samples: int, seed: int, csv: str | None = None, target: str | None = None
) -> tuple[Array, Array, Array | None]:
    """The preset's data set: standardised X (N, d), targets Y (N, 1), labels (or None); with
    `csv`, `n_samples` rows of that file (experiments.data.prepare.sampled_table: Y is (N, k),
    standardised for regression, one-hot for more than two classes)."""
    if csv is not None:
        return sampled_table(csv, str(target), task, n_samples, stream(seed, DATA))
    p = get_preset(task)
    ds = make_dataset(p.dataset, n_samples, stream(seed, DATA))
    X = Standardizer.fit(ds.X)(ds.X)
    return X, targets(ds, 1), ds.labels


def build_problem(task: str, n_samples: int, seed: int) -> Problem:
    """The study's fixed net at initialisation and its data."""
    X, Y, labels = build_data(task, n_samples, seed)
    net = make_net(task, X.shape[1], Y.shape[1], [stream(seed, INIT, 0)])
    return Problem(task, net, X, Y, get_preset(task).loss, labels)


def seed_nets(
    task: str, X: Array, Y: Array, labels: Array | None, seeds: int, seed: int,
    pretrain_epochs: int = 0,
) -> list[MLP]:  # fmt: skip
    """One single net per seed s (stream INIT s), trained together as an ensemble with the
    preset's optimiser, rate and batch size for `pretrain_epochs` epochs (none when 0)."""
    p = get_preset(task)
    net = make_net(task, X.shape[1], Y.shape[1], [stream(seed, INIT, s) for s in range(seeds)])
    if pretrain_epochs > 0:
        fit(
            net,
            TrainData(X, Y, labels_train=labels),
            loss=p.loss,
            reduction="mean",
            optimizer=make_optimizer(p.optimizer, p.lr),
            epochs=pretrain_epochs,
            batch_size=p.batch_size,
            rngs=[stream(seed, PRETRAIN, s) for s in range(seeds)],
        )
    return [net.member(s) for s in range(seeds)]


def replicate(net: MLP, copies: int) -> MLP:
    """An MLP of `copies` members, each holding member 0 of `net`'s parameters."""
    rep = MLP(
        net.sizes,
        net.f.name,
        net.g.name,
        [np.random.default_rng(0)] * copies,  # zero init draws nothing; overwritten below
        init="zero",
        dtype=net.dtype,
    )
    rep.f, rep.g = net.f, net.g  # the same activation objects (keeps a LeakyReLU's slope)
    for name in net.names:
        rep.params[name][...] = net.params[name][0]
    return rep


def member_sq_norms(net: MLP) -> Array:
    """(E,): squared norm of each member's gradient over all parameters."""
    flat = [net.grads[n].reshape(net.members, -1) for n in net.names]
    return np.sum([np.einsum("ej,ej->e", g, g) for g in flat], axis=0)


def sample_minibatches(rng: np.random.Generator, n: int, batch_size: int, count: int) -> Array:
    """(count, batch_size) indices: each row distinct examples, rows drawn independently."""
    if batch_size == n:
        return np.tile(np.arange(n), (count, 1))
    # The first B positions of a uniform random permutation: a uniform B-subset of the N examples.
    return np.argsort(rng.random((count, n)), axis=1)[:, :batch_size]


def minibatch_sq_norms(
    net: MLP,
    X: Array,
    Y: Array,
    loss: str,
    batch_size: int,
    n_minibatches: int,
    rng: np.random.Generator,
) -> dict[str, Array]:
    """{"sum": (M,), "mean": (M,)}: squared gradient norms of M sampled minibatches."""
    fn = get_loss(loss)
    idx = sample_minibatches(rng, X.shape[0], batch_size, n_minibatches)
    per_pass = max(1, CHUNK_EXAMPLES // batch_size)
    out: dict[str, list[Array]] = {"sum": [], "mean": []}
    for start in range(0, n_minibatches, per_pass):
        rows = idx[start : start + per_pass]
        rep = replicate(net, rows.shape[0])
        y_hat = rep.forward(X[rows])
        for reduction in ("sum", "mean"):
            # the forward cache serves both reductions
            rep.backward(fn(y_hat, Y[rows], reduction)[1], copy=False)
            out[reduction].append(member_sq_norms(rep))
    return {r: np.concatenate(v) for r, v in out.items()}


def minibatch_gradients(
    net: MLP, X: Array, Y: Array, loss: str, rows: Array, reduction: str
) -> Array:
    """(M, P): the flat gradient of each minibatch `rows[m]` (M, B) under `reduction`."""
    rep = replicate(net, rows.shape[0])
    rep.backward(get_loss(loss)(rep.forward(X[rows]), Y[rows], reduction)[1], copy=False)
    return np.concatenate([rep.grads[n].reshape(rep.members, -1) for n in rep.names], axis=1)


def per_example_gradients(net: MLP, X: Array, Y: Array, loss: str) -> Array:
    """(N, P): gradient of each example's loss l_i (mean reduction on a batch of one)."""
    n = X.shape[0]
    parts = []
    for start in range(0, n, CHUNK_EXAMPLES):
        rows = np.arange(start, min(n, start + CHUNK_EXAMPLES))[:, None]
        parts.append(minibatch_gradients(net, X, Y, loss, rows, "mean"))
    return np.concatenate(parts, axis=0)


def noise_statistics(G_examples: Array) -> dict[str, float]:
    """|G|^2, tr(Sigma) and B_simple from the (N, P) per-example gradients.

    G = mean_i g_i is the full-batch (mean-reduction) gradient; Sigma = (1/N) sum_i (g_i - G)(g_i -
    G)^T is the covariance of one example's gradient over the data set, so that a minibatch of B
    examples drawn without replacement has E|g_B|^2 = |G|^2 + tr(Sigma)/B * (N - B)/(N - 1).
    """
    G = G_examples.mean(axis=0)
    centred = G_examples - G
    trace = float(np.einsum("np,np->", centred, centred) / G_examples.shape[0])
    g2 = float(G @ G)
    return {
        "grad_sq_norm": g2,
        "trace_sigma": trace,
        "example_sq_norm": float(np.einsum("np,np->", G_examples, G_examples) / len(G_examples)),
        "b_simple_direct": trace / g2 if g2 > 0 else float("inf"),
    }


def bootstrap_b_simple(G_examples: Array, replicates: int, rng: np.random.Generator) -> Array:
    """(replicates,): B_simple = tr(Sigma) / |G|^2 of bootstrap resamples of the N examples
    (N drawn with replacement). With counts c_i of example i in a resample, G* = sum_i c_i g_i / N
    and tr(Sigma*) = sum_i c_i |g_i|^2 / N - |G*|^2 (the population covariance, as in
    noise_statistics)."""
    n = G_examples.shape[0]
    counts = rng.multinomial(n, np.full(n, 1.0 / n), size=replicates) / n  # (R, N)
    G = counts @ G_examples  # (R, P)
    g2 = np.einsum("rp,rp->r", G, G)
    trace = counts @ np.einsum("np,np->n", G_examples, G_examples) - g2
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(g2 > 0, trace / g2, np.inf)
