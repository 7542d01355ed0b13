"""Framework contenders: PyTorch eager, scikit-learn's MLP, and JAX with the epoch compiled.

Each trains the workload's net (same sizes, activations, loss, batch size, epochs, learning rate,
dtype, plain SGD) from the initial parameters nnhw draws for the seed (scikit-learn draws its own:
it has no way to set them before `fit`). PyTorch uses an index loop over `torch.randperm` (no
DataLoader, which only adds overhead). JAX compiles one whole epoch (`jit` over `lax.scan`: one
gather of the permuted data, then a scan over its batches) and trains an ensemble with `vmap` over
seeds. Its fastest form is measured: the permutation is drawn with NumPy on the host, as nnhw
draws it, because `jax.random.permutation` (a sort) costs about 0.8 ms per call on this CPU, more
than a whole epoch, and a gather per step inside the scan costs about 15 us per step. `lax.scan`
needs equal batches, so JAX drops the last, shorter batch and its `steps` counts only full ones.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from tests.benchmarks.workloads import Contender, Data, Net, Run, init_params, order_rng


def torch_contender(net: Net, data: Data, seed: int = 0) -> Contender:
    import torch
    from torch import nn
    from torch.nn import functional as F  # noqa: N812

    dtype = getattr(torch, net.dtype)
    X = torch.from_numpy(data.X)
    if net.loss == "softmax-cross-entropy":
        assert data.labels is not None
        Y = torch.from_numpy(data.labels)
        loss_fn: Any = F.cross_entropy
    else:
        Y = torch.from_numpy(data.Y)
        loss_fn = F.mse_loss if net.loss == "mse" else F.binary_cross_entropy

    def prepare() -> Run:
        act = nn.ReLU() if net.activation == "relu" else nn.Sigmoid()
        layers = [nn.Linear(net.d_in, net.hidden), act, nn.Linear(net.hidden, net.d_out)]
        if net.output == "sigmoid":
            layers.append(nn.Sigmoid())
        model = nn.Sequential(*layers).to(dtype)
        with torch.no_grad():
            for p, value in zip(model.parameters(), init_params(net, seed)):
                p.copy_(torch.from_numpy(value))
        opt = torch.optim.SGD(model.parameters(), lr=net.lr)
        gen = torch.Generator().manual_seed(seed)

        def run() -> None:
            for _ in range(net.epochs):
                perm = torch.randperm(net.n, generator=gen)
                for start in range(0, net.n, net.batch):
                    idx = perm[start : start + net.batch]
                    opt.zero_grad()
                    loss_fn(model(X[idx]), Y[idx]).backward()
                    opt.step()

        return run

    return Contender("pytorch", prepare, net.steps)


def sklearn_contender(net: Net, data: Data, seed: int = 0) -> Contender:
    """MLPRegressor (identity output, squared error) or MLPClassifier (sigmoid output with log-loss
    for two classes, softmax with log-loss for several): the same maths as the workload's net."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    settings = dict(
        hidden_layer_sizes=(net.hidden,), activation="relu" if net.activation == "relu" else
        "logistic", solver="sgd", alpha=0.0, batch_size=net.batch, learning_rate_init=net.lr,
        max_iter=net.epochs, momentum=0.0, nesterovs_momentum=False, shuffle=True, tol=0.0,
        n_iter_no_change=net.epochs + 1, random_state=seed,
    )  # fmt: skip
    if net.loss == "mse":
        target = data.Y[:, 0] if net.d_out == 1 else data.Y
        make: Any = lambda: MLPRegressor(**settings)  # noqa: E731
    else:
        target = data.labels
        make = lambda: MLPClassifier(**settings)  # noqa: E731

    def prepare() -> Run:
        est = make()

        def run() -> None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                est.fit(data.X, target)

        return run

    return Contender("scikit-learn", prepare, net.steps)


def jax_contender(net: Net, data: Data, seed: int = 0, members: int = 1) -> Contender:
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)  # float64 workloads stay float64
    full = net.n // net.batch  # lax.scan: full batches only

    def hidden(z: Any) -> Any:
        return jax.nn.relu(z) if net.activation == "relu" else jax.nn.sigmoid(z)

    def loss(p: Any, x: Any, y: Any) -> Any:
        W1, b1, W2, b2 = p
        z2 = hidden(x @ W1.T + b1) @ W2.T + b2
        if net.loss == "mse":
            return jnp.mean((z2 - y) ** 2)
        if net.loss == "bce":
            q = jax.nn.sigmoid(z2)
            log_q, log_1q = jnp.maximum(jnp.log(q), -100), jnp.maximum(jnp.log1p(-q), -100)
            return -jnp.mean(y * log_q + (1 - y) * log_1q)
        return -jnp.mean(jnp.sum(y * jax.nn.log_softmax(z2), axis=1))

    grad = jax.grad(loss)

    def epoch(p: Any, perm: Any, X: Any, Y: Any) -> Any:
        batches = (X[perm].reshape(full, net.batch, -1), Y[perm].reshape(full, net.batch, -1))

        def step(p: Any, xy: Any) -> tuple[Any, None]:
            g = grad(p, *xy)
            return tuple(w - net.lr * dw for w, dw in zip(p, g)), None

        return jax.lax.scan(step, p, batches)[0]

    compiled = jax.jit(epoch if members == 1 else jax.vmap(epoch, in_axes=(0, 0, None, None)))
    X, Y = jnp.asarray(data.X), jnp.asarray(data.Y)

    def prepare() -> Run:
        inits = [init_params(net, seed + m) for m in range(members)]
        stacked = [np.stack(ps) for ps in zip(*inits)]
        params = tuple(jnp.asarray(a[0] if members == 1 else a) for a in stacked)
        rngs = [order_rng(seed + m) for m in range(members)]
        jax.block_until_ready(params)

        def run() -> None:
            p = params
            for _ in range(net.epochs):
                perm = np.stack([rng.permutation(net.n)[: full * net.batch] for rng in rngs])
                p = compiled(p, perm[0] if members == 1 else perm, X, Y)
            jax.block_until_ready(p)

        return run

    name = "jax (jit+scan)" if members == 1 else f"jax vmap E={members}"
    return Contender(name, prepare, net.epochs * full, members)
