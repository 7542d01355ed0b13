"""The fast forms of core.fastpaths, held to the same standards as the plain ones.

Each case below is a shape for which the ensemble MLP's plan (MLP.plan_for) takes a known set of
fast forms. The tests assert that plan, assert with spies on core.fastpaths that exactly those
forms ran, and hold every member's output, loss, gradients and back-propagated signals against
core.reference (relative error <= 1e-10), for every hidden activation, in a pass that keeps the
signals and in a training step (keep_deltas=False, where the rank-one first layer applies).
`MLP(..., fast_paths=False)`, the public switch, gives the plain forms: the same numbers to
rounding. Losses the reference does not have (bce, softmax cross-entropy) are held against
autograd. Threads in train_epoch give the same bits as one thread.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from nnhw.core import fastpaths
from nnhw.core import train as train_module
from nnhw.core.activations import ACTIVATION_NAMES, get_activation
from nnhw.core.gradcheck import loss_and_gradients, relative_error
from nnhw.core.losses import get_loss
from nnhw.core.mlp import MLP
from nnhw.core.optim import make_optimizer
from nnhw.core.reference import reference_forward_backward
from nnhw.core.train import TrainData, fit, train_epoch
from tests.core.torch_ref import autograd_member

SLOPE = 0.2  # LeakyReLU's negative slope
ALPHA = 0.7  # ELU's alpha


@dataclass(frozen=True)
class Case:
    """An ensemble of two-layer nets and a batch, and the fast forms they must take."""

    name: str
    sizes: tuple[int, int, int]
    members: int
    batch: int
    fast_forms: list[str]  # MLP.plan_for(batch).fast_forms()
    calls: set[str]  # core.fastpaths functions called by forward + backward
    training_calls: set[str]  # ... by forward + backward(keep_deltas=False)
    fast_paths: bool = True
    shared_input: bool = False  # x: (N, d_in) for every member, as train.evaluate passes it


SUM = "batch_sum"
CASES = [
    Case("one small net", (2, 64, 1), 1, 32, ["broadcast 2", "batch sum by product"],
         {SUM, "outer_product broadcast"}, {SUM, "outer_product broadcast"}),
    Case("ensemble", (2, 64, 1), 3, 200,
         ["fused bias 1", "einsum 2", "rank-one first layer", "batch sum by product"],
         {"affine_fused_bias", SUM, "outer_product einsum"},
         {"affine_fused_bias", SUM, "first_layer_rank_one"}),
    Case("ensemble, shared input", (2, 64, 1), 3, 200,
         ["fused bias 1", "einsum 2", "rank-one first layer", "batch sum by product"],
         {"affine_fused_bias", SUM, "outer_product einsum"},
         {"affine_fused_bias", SUM, "first_layer_rank_one"}, shared_input=True),
    Case("narrow hidden layer", (2, 8, 1), 2, 8192,
         ["fused bias 1", "fused bias 2", "einsum 2", "rank-one first layer",
          "batch sum by product"],
         {"affine_fused_bias", SUM, "outer_product einsum"},
         {"affine_fused_bias", SUM, "first_layer_rank_one"}),
    Case("several outputs", (3, 16, 4), 2, 10, ["batch sum by product"], {SUM}, {SUM}),
    Case("plain, switched off", (2, 64, 1), 3, 200, [], set(), set(), fast_paths=False),
]  # fmt: skip
FAST_FUNCTIONS = ("affine_fused_bias", "batch_sum", "outer_product", "first_layer_rank_one")


def _spy(name: str, seen: set[str]):
    """core.fastpaths.<name>, recording its name (outer_product with its form) in `seen`."""
    real = getattr(fastpaths, name)

    def spy(*args, **kwargs):
        seen.add(f"{name} {args[2]}" if name == "outer_product" else name)
        return real(*args, **kwargs)

    return spy


@pytest.fixture
def fast_calls(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The names of the core.fastpaths forms called from here on. The MLP calls them through
    the module, so a spy there sees every call; it changes nothing."""
    seen: set[str] = set()
    for name in FAST_FUNCTIONS:
        monkeypatch.setattr(fastpaths, name, _spy(name, seen))
    return seen


def _case_problem(case: Case, f: str, g: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    rngs = [np.random.default_rng([seed, e]) for e in range(case.members)]
    model = MLP(
        list(case.sizes), f, g, rngs, negative_slope=SLOPE, elu_alpha=ALPHA,
        fast_paths=case.fast_paths,
    )  # fmt: skip
    for name in ("b1", "b2"):  # non-zero biases, so every db and the fused bias count
        model.params[name][...] = rng.normal(0, 0.3, model.params[name].shape)
    d_in, k = case.sizes[0], case.sizes[-1]
    shape = (case.batch, d_in) if case.shared_input else (case.members, case.batch, d_in)
    x = rng.normal(0, 0.7, size=shape)
    y = rng.uniform(size=(case.members, case.batch, k))
    return model, x, y


def _member(model: MLP, e: int) -> dict[str, np.ndarray]:
    return {name: model.params[name][e] for name in model.names}


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("g", ["identity", "sigmoid"])
@pytest.mark.parametrize("f", ACTIVATION_NAMES)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_fast_path_matches_the_reference(
    case: Case, f: str, g: str, reduction: str, fast_calls: set[str]
) -> None:
    model, x, y = _case_problem(case, f, g)
    mse = get_loss("mse")

    y_hat = model.forward(x)
    assert model.plan is model.plan_for(case.batch)
    assert model.plan.fast_forms() == case.fast_forms
    value, d = mse(y_hat, y, reduction)
    grads = model.backward(d)
    assert fast_calls == case.calls
    deltas = model.deltas

    fast_calls.clear()
    _, d_again = mse(model.forward(x), y, reduction)
    step_grads = model.backward(d_again, keep_deltas=False)
    assert fast_calls == case.training_calls
    assert model.deltas == []

    loss = "mse" if reduction == "mean" else "squared-error"  # the reference's names
    for e in range(case.members):
        x_e = x if case.shared_input else x[e]
        ref = reference_forward_backward(_member(model, e), x_e, y[e], f, g, loss, SLOPE, ALPHA)
        assert relative_error(y_hat[e], ref.y_hat) <= 1e-12
        assert value[e] == pytest.approx(ref.loss, rel=1e-12, abs=1e-14)
        for name, ref_grad in ref.grads.items():
            for which, ours in (("backward", grads), ("training step", step_grads)):
                err = relative_error(ours[name][e], ref_grad)
                assert err <= 1e-10, f"{which} d{name}, member {e}: {err:.2e} vs the reference"
        # dL/dz_1 and dL/dz_2 of the MLP are the homework's dl/dz1 and dl/dz3
        for ours, ref_name in zip(deltas, ("z1", "z3"), strict=True):
            assert relative_error(ours[e], ref.backward[ref_name]) <= 1e-10, ref_name


@pytest.mark.parametrize("f", ACTIVATION_NAMES)
@pytest.mark.parametrize("case", [c for c in CASES if c.fast_forms], ids=lambda c: c.name)
def test_fast_and_plain_forms_agree_to_rounding(case: Case, f: str) -> None:
    model, x, y = _case_problem(case, f, "sigmoid", seed=1)
    mse = get_loss("mse")
    fast = [model.forward(x).copy()]
    fast_grads = model.backward(mse(fast[0], y, "mean")[1], keep_deltas=False)
    model.fast_paths = False  # the public switch, on the same model
    plain = [model.forward(x)]
    assert model.plan is not None and model.plan.fast_forms() == []
    plain_grads = model.backward(mse(plain[0], y, "mean")[1], keep_deltas=False)
    np.testing.assert_allclose(fast[0], plain[0], rtol=1e-13, atol=1e-15)
    for name in model.names:
        np.testing.assert_allclose(fast_grads[name], plain_grads[name], rtol=1e-11, atol=1e-15)


def test_plans_choose_by_shape() -> None:
    """The large-array forms start at fastpaths.LARGE elements of the (E, N, width) array; the
    bias goes into the product only for inputs of at most FUSE_MAX_IN columns."""
    course = MLP([2, 64, 1], "relu", "identity", [np.random.default_rng(0)])
    at = fastpaths.LARGE // 64  # 256 examples: E N h = LARGE
    assert course.plan_for(at).fast_forms() == [
        "fused bias 1", "einsum 2", "rank-one first layer", "batch sum by product"
    ]  # fmt: skip
    assert course.plan_for(at - 1).fast_forms() == ["broadcast 2", "batch sum by product"]
    wide_input = MLP([fastpaths.FUSE_MAX_IN + 1, 64, 1], "relu", "identity",
                     [np.random.default_rng(0)])  # fmt: skip
    assert wide_input.plan_for(4096).fused_bias == (False, False)
    several_outputs = MLP([2, 64, 3], "relu", "identity", [np.random.default_rng(0)])
    plan = several_outputs.plan_for(4096)
    assert plan.outer_product == ("matmul", "matmul") and not plan.rank_one_first_layer
    off = MLP([2, 64, 1], "relu", "identity", [np.random.default_rng(0)], fast_paths=False)
    assert not off.fast_paths and off.plan_for(4096).fast_forms() == []


def _wide_batch_model(f: str, g: str, k: int, members: int = 2) -> tuple[MLP, np.ndarray]:
    rng = np.random.default_rng(5)
    model = MLP([2, 64, 64, k], f, g, [np.random.default_rng([5, e]) for e in range(members)])
    for name in model.names:
        if name.startswith("b"):
            model.params[name][...] = rng.normal(0, 0.3, model.params[name].shape)
    x = rng.normal(0, 0.5, size=(members, 300, 2))  # 2 x 300 x 64 outputs: the fused path
    return model, x


@pytest.mark.parametrize(
    ("f", "g", "loss", "k"),
    [("relu", "identity", "mse", 1), ("sigmoid", "sigmoid", "bce", 1),
     ("tanh", "identity", "softmax-cross-entropy", 3)],
)  # fmt: skip
def test_fused_bias_and_einsum_outer_product_match_autograd(f, g, loss, k) -> None:
    """A deeper net (two hidden layers) and the other losses, against autograd."""
    model, x = _wide_batch_model(f, g, k)
    rng = np.random.default_rng(6)
    if loss == "softmax-cross-entropy":
        y = np.eye(k)[rng.integers(0, k, size=x.shape[:2])]
    else:
        y = rng.uniform(size=(*x.shape[:2], k))
    _, grads = loss_and_gradients(model, x, y, loss, "mean")
    assert model.plan is not None
    assert model.plan.fused_bias == (True, False, False)
    assert model.plan.outer_product[2] == ("einsum" if k == 1 else "matmul")
    for e in range(model.members):
        _, t_grads, t_deltas = autograd_member(model, e, x[e], y[e], loss, "mean")
        for name, t_grad in t_grads.items():
            assert relative_error(grads[name][e], t_grad) <= 1e-10, name
        for ours, theirs in zip(model.deltas, t_deltas, strict=True):
            assert relative_error(ours[e], theirs) <= 1e-10


@pytest.mark.parametrize("f", ACTIVATION_NAMES)
def test_rank_one_first_layer_matches_autograd(f: str, fast_calls: set[str]) -> None:
    """backward(keep_deltas=False) on a one-output net with a large batch: dW1, db1 from the
    rank-one form, against autograd (<= 1e-10)."""
    model = MLP([2, 64, 1], f, "identity", [np.random.default_rng([7, e]) for e in range(2)])
    x = np.random.default_rng(8).normal(0, 0.5, size=(2, 300, 2))
    y = np.random.default_rng(9).normal(size=(2, 300, 1))
    _, d = get_loss("mse")(model.forward(x), y, "mean")
    fast = model.backward(d, keep_deltas=False)
    assert "first_layer_rank_one" in fast_calls
    for e in range(model.members):
        _, t_grads, _ = autograd_member(model, e, x[e], y[e], "mse", "mean")
        for name, t_grad in t_grads.items():
            assert relative_error(fast[name][e], t_grad) <= 1e-10, name


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


@pytest.mark.parametrize("f", ACTIVATION_NAMES)
def test_derivative_into_a_buffer_equals_the_plain_one(f: str) -> None:
    act = get_activation(f, 0.1)
    z = np.random.default_rng(3).normal(size=(3, 5, 7))
    a = act.forward(z)
    out = np.full_like(z, np.nan)
    assert act.derivative(z, a, out=out) is out
    np.testing.assert_array_equal(out, act.derivative(z, a))
