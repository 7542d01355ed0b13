"""The speed paths of the core, held to the same standards as the plain ones.

- the bias folded into the product for narrow inputs and large outputs (core.mlp._fuse_bias),
  with one output unit's outer product formed by einsum: gradients against autograd <= 1e-10;
- threads in train_epoch: the same bits as one thread, and small ensembles are not split.
"""

from __future__ import annotations

import numpy as np
import pytest
from nnhw.core import mlp as mlp_module
from nnhw.core import train as train_module
from nnhw.core.gradcheck import loss_and_gradients, relative_error
from nnhw.core.mlp import MLP
from nnhw.core.optim import make_optimizer
from nnhw.core.train import TrainData, fit, train_epoch

from tests.core.torch_ref import autograd_member


def _wide_batch_model(f: str, g: str, k: int, members: int = 2) -> tuple[MLP, np.ndarray]:
    rng = np.random.default_rng(5)
    model = MLP([2, 64, 64, k], f, g, [np.random.default_rng([5, e]) for e in range(members)])
    for name in model.names:
        if name.startswith("b"):
            model.params[name][...] = rng.normal(0, 0.3, model.params[name].shape)
    x = rng.normal(0, 0.5, size=(members, 300, 2))  # 2 x 300 x 64 outputs: the fused path
    return model, x


def test_the_fused_path_is_taken_only_where_it_pays() -> None:
    model, x = _wide_batch_model("relu", "identity", 1)
    W1, W2 = model.params["W1"], model.params["W2"]
    assert mlp_module._fuse_bias(x, W1)  # 2 inputs, 2 x 300 x 64 outputs
    assert not mlp_module._fuse_bias(x[:, :32], W1)  # a single batch of 32: two copies cost more
    assert not mlp_module._fuse_bias(np.zeros((2, 300, 64)), W2)  # a wide input


@pytest.mark.parametrize(
    ("f", "g", "loss", "k"),
    [("relu", "identity", "mse", 1), ("sigmoid", "sigmoid", "bce", 1),
     ("tanh", "identity", "softmax-cross-entropy", 3)],
)  # fmt: skip
def test_fused_bias_and_einsum_outer_product_match_autograd(f, g, loss, k) -> None:
    model, x = _wide_batch_model(f, g, k)
    rng = np.random.default_rng(6)
    if loss == "softmax-cross-entropy":
        y = np.eye(k)[rng.integers(0, k, size=x.shape[:2])]
    else:
        y = rng.uniform(size=(*x.shape[:2], k))
    _, grads = loss_and_gradients(model, x, y, loss, "mean")
    for e in range(model.members):
        _, t_grads, t_deltas = autograd_member(model, e, x[e], y[e], loss, "mean")
        for name, t_grad in t_grads.items():
            assert relative_error(grads[name][e], t_grad) <= 1e-10, name
        for ours, theirs in zip(model.deltas, t_deltas, strict=True):
            assert relative_error(ours[e], theirs) <= 1e-10


def test_fused_forward_equals_the_plain_one(monkeypatch: pytest.MonkeyPatch) -> None:
    model, x = _wide_batch_model("relu", "identity", 1)
    fused = [z.copy() for z in (model.forward(x), *model.zs)]
    monkeypatch.setattr(mlp_module, "_fuse_bias", lambda a, W: False)
    plain = [model.forward(x), *model.zs]
    for a, b in zip(fused, plain, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-15)


def _data(n: int = 256) -> TrainData:
    rng = np.random.default_rng(0)
    X = rng.uniform(-3, 3, (n, 2))
    return TrainData(X, np.sin(X[:, :1]) + 0.1 * X[:, 1:])


@pytest.mark.parametrize(("activation", "optimizer"), [("relu", "sgd"), ("sigmoid", "adam")])
def test_threads_give_the_same_bits(activation: str, optimizer: str) -> None:
    """64 members x batch 32 x 65 units: split in two parts; every parameter bit-identical."""
    data = _data()
    results = []
    for threads in (1, 2):
        members = 64
        model = MLP(
            [2, 64, 1], activation, "identity", [np.random.default_rng(s) for s in range(members)]
        )
        assert len(train_module._member_parts(model, 32, threads)) == (2 if threads == 2 else 0)
        fit(
            model, data, loss="mse", reduction="mean", optimizer=make_optimizer(optimizer, 0.05),
            epochs=2, batch_size=32, rngs=[np.random.default_rng([s, 1]) for s in range(members)],
            threads=threads,
        )  # fmt: skip
        results.append(model.flat.copy())
    assert np.array_equal(results[0], results[1])


def test_small_ensembles_stay_in_one_thread() -> None:
    model = MLP([2, 64, 1], "relu", "identity", [np.random.default_rng(s) for s in range(5)])
    assert train_module._member_parts(model, 32, threads=2) == []
    single = MLP([2, 64, 1], "relu", "identity", [np.random.default_rng(0)])
    assert train_module._member_parts(single, 4096, threads=8) == []  # one member: nothing to split


def test_member_views_share_storage_and_cover_every_member() -> None:
    model = MLP([2, 64, 1], "relu", "identity", [np.random.default_rng(s) for s in range(200)])
    parts = train_module._member_parts(model, 32, threads=3)
    assert [(lo, hi) for lo, hi, _ in parts] == [(0, 66), (66, 133), (133, 200)]
    lo, hi, view = parts[1]
    assert np.shares_memory(view.params["W1"], model.flat)
    assert np.shares_memory(view.grads["b2"], model.grad_flat)
    x = np.random.default_rng(1).normal(size=(200, 32, 2))
    y_all = model.forward(x)
    np.testing.assert_array_equal(view.forward(x[lo:hi]), y_all[lo:hi])


def test_errors_in_a_worker_thread_reach_the_caller() -> None:
    model = MLP([2, 64, 1], "relu", "identity", [np.random.default_rng(s) for s in range(64)])
    X = np.zeros((64, 2))
    Y = np.zeros((64, 3))  # wrong target width: the loss raises in every part
    with pytest.raises(ValueError):
        train_epoch(
            model, X, Y, loss="mse", reduction="mean", optimizer=make_optimizer("sgd", 0.1),
            batch_size=32, rngs=[np.random.default_rng(s) for s in range(64)], threads=2,
        )  # fmt: skip


@pytest.mark.parametrize("f", ["relu", "leaky-relu", "tanh", "sigmoid", "identity"])
def test_rank_one_first_layer_matches_autograd(f: str) -> None:
    """backward(keep_deltas=False) on a one-output net with a large batch: dW1, db1 from the
    rank-one form, against autograd (<= 1e-10) and against the plain form (a few ulp)."""
    from nnhw.core.losses import get_loss

    model = MLP([2, 64, 1], f, "identity", [np.random.default_rng([7, e]) for e in range(2)])
    x = np.random.default_rng(8).normal(0, 0.5, size=(2, 300, 2))
    y = np.random.default_rng(9).normal(size=(2, 300, 1))
    _, d = get_loss("mse")(model.forward(x), y, "mean")
    assert mlp_module._rank_one_pays(d, model.params["W2"])
    plain = {k: v.copy() for k, v in model.backward(d).items()}
    fast = {k: v.copy() for k, v in model.backward(d, keep_deltas=False).items()}
    assert model.deltas == []
    for e in range(model.members):
        _, t_grads, _ = autograd_member(model, e, x[e], y[e], "mse", "mean")
        for name, t_grad in t_grads.items():
            assert relative_error(fast[name][e], t_grad) <= 1e-10, name
    for name in plain:
        np.testing.assert_allclose(fast[name], plain[name], rtol=1e-12, atol=1e-15)


def test_small_batches_keep_the_plain_form() -> None:
    model = MLP([2, 64, 1], "relu", "identity", [np.random.default_rng(0)])
    assert not mlp_module._rank_one_pays(np.zeros((1, 32, 1)), model.params["W2"])
    wide = MLP([2, 64, 3], "relu", "identity", [np.random.default_rng(0)])
    assert not mlp_module._rank_one_pays(np.zeros((1, 4096, 3)), wide.params["W2"])


@pytest.mark.parametrize("f", ["relu", "leaky-relu", "tanh", "sigmoid", "identity"])
def test_derivative_into_a_buffer_equals_the_plain_one(f: str) -> None:
    from nnhw.core.activations import get_activation

    act = get_activation(f, 0.1)
    z = np.random.default_rng(3).normal(size=(3, 5, 7))
    a = act.forward(z)
    out = np.full_like(z, np.nan)
    assert act.derivative(z, a, out=out) is out
    np.testing.assert_array_equal(out, act.derivative(z, a))
