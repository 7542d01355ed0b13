"""Every hidden x output activation x loss x depth x reduction: the hand-written backward pass
against PyTorch autograd (float64, relative error <= 1e-10) and central finite differences
(<= 1e-6), for every parameter and every back-propagated signal dL/dz_l.

Relative error here is core.gradcheck.relative_error: max |a - b| over a whole parameter tensor
divided by that tensor's largest entry, so entries that are tiny by accident do not count.
"""

from __future__ import annotations

import numpy as np
import pytest

from nnhw.core.activations import ACTIVATION_NAMES
from nnhw.core.gradcheck import check_gradients, loss_and_gradients, relative_error
from nnhw.core.mlp import MLP
from tests.core.torch_ref import autograd_member

D_IN, WIDTH, N, E = 3, 4, 6, 2
ELU_ALPHA = 0.7  # not 1, so that a lost alpha shows (and ELU's slope jumps at 0, as ReLU's does)


def _cases() -> list[tuple[str, str, str, int]]:
    """(hidden, output, loss, n_outputs) where the loss fits the output."""
    cases = []
    for f in ACTIVATION_NAMES:
        for g in ACTIVATION_NAMES:
            cases.append((f, g, "mse", 2))
            cases.append((f, g, "softmax-cross-entropy", 3))  # g's output read as logits
        cases.append((f, "sigmoid", "bce", 2))  # bce needs outputs in (0, 1)
    return cases


KINK_MARGIN = 1e-3


def _problem(f: str, g: str, loss: str, k: int, depth: int, seed: int):
    """The net and batch of `seed`; redrawn (seed + 100003, ...) while a pre-activation lies within
    KINK_MARGIN of 0, where ReLU, LeakyReLU, ELU (alpha != 1) and SELU have a kink: a central
    difference of step h straddling it measures the mean of two slopes, not the gradient (an
    error of order 1e-3, which 1800 cases meet by chance)."""
    for attempt in range(100):
        model, x, y = _draw(f, g, loss, k, depth, seed + 100003 * attempt)
        model.forward(x)
        if min(float(np.abs(z).min()) for z in model.zs) >= KINK_MARGIN:
            return model, x, y
    raise AssertionError("no draw without a pre-activation near 0")


def _draw(f: str, g: str, loss: str, k: int, depth: int, seed: int):
    rng = np.random.default_rng(seed)
    sizes = [D_IN] + [WIDTH] * depth + [k]
    rngs = [np.random.default_rng([seed, e]) for e in range(E)]
    model = MLP(sizes, f, g, rngs, init="xavier-normal", negative_slope=0.2, elu_alpha=ELU_ALPHA)
    for name in model.names:  # non-zero biases, so every db is exercised
        if name.startswith("b"):
            model.params[name][...] = rng.normal(0, 0.3, model.params[name].shape)
    # One batch per member. Inputs of std 0.5 keep sigmoid outputs away from 0 and 1, where BCE on
    # probabilities loses digits in log(1 - p) and finite differences see only rounding noise.
    x = rng.normal(0, 0.5, size=(E, N, D_IN))
    if loss == "mse":
        y = rng.normal(size=(E, N, k))
    elif loss == "bce":
        y = rng.uniform(size=(E, N, k))  # soft targets, as BCELoss allows
    else:
        logits = rng.normal(size=(E, N, k))
        y = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
    return model, x, y


CASES = _cases()


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize(("f", "g", "loss", "k"), CASES, ids=["-".join(c[:3]) for c in CASES])
def test_backward_matches_autograd_and_finite_differences(f, g, loss, k, depth, reduction):
    seed = 1000 * depth + CASES.index((f, g, loss, k)) + (7 if reduction == "sum" else 0)
    model, x, y = _problem(f, g, loss, k, depth, seed)
    value, grads = loss_and_gradients(model, x, y, loss, reduction)
    deltas = [d.copy() for d in model.deltas]
    assert len(deltas) == depth + 1
    for e in range(E):
        t_value, t_grads, t_deltas = autograd_member(
            model, e, x[e], y[e], loss, reduction, negative_slope=0.2, elu_alpha=ELU_ALPHA
        )
        assert value[e] == pytest.approx(t_value, rel=1e-12, abs=1e-14)
        assert sorted(t_grads) == sorted(grads)
        for name, t_grad in t_grads.items():
            assert grads[name][e].shape == t_grad.shape
            err = relative_error(grads[name][e], t_grad)
            assert err <= 1e-10, f"{name} member {e}: relative error {err:.2e} vs autograd"
        for l, (ours, theirs) in enumerate(zip(deltas, t_deltas), start=1):
            err = relative_error(ours[e], theirs)
            assert err <= 1e-10, f"dL/dz_{l} member {e}: relative error {err:.2e} vs autograd"
    # h = 1e-5 is about cbrt(eps): where truncation (h^2) and rounding (eps / h) errors balance.
    for name, err in check_gradients(model, x, y, loss, reduction, h=1e-5).items():
        assert err <= 1e-6, f"{name}: relative error {err:.2e} vs finite differences"


def test_shared_input_equals_per_member_input():
    """x of shape (N, d) is broadcast to every member: same as passing it E times."""
    model, x, y = _problem("tanh", "identity", "mse", 2, 2, seed=3)
    shared = x[0]
    _, g_shared = loss_and_gradients(model, shared, y, "mse")
    _, g_tiled = loss_and_gradients(model, np.stack([shared] * E), y, "mse")
    for name in g_shared:
        np.testing.assert_array_equal(g_shared[name], g_tiled[name])


def test_members_are_independent():
    """Member e's gradient is what a single net holding member e's parameters computes."""
    model, x, y = _problem("sigmoid", "sigmoid", "bce", 2, 2, seed=5)
    _, grads = loss_and_gradients(model, x, y, "bce")
    for e in range(E):
        single = model.member(e)
        assert single.members == 1
        _, g1 = loss_and_gradients(single, x[e : e + 1], y[e : e + 1], "bce")
        for name in grads:
            np.testing.assert_allclose(g1[name][0], grads[name][e], rtol=1e-13, atol=1e-15)


def test_member_copies_parameters():
    model, _, _ = _problem("relu", "identity", "mse", 2, 1, seed=6)
    single = model.member(1)
    single.params["W1"][...] = 0.0
    assert np.any(model.params["W1"][1] != 0), "member() must copy, not alias"


def test_gradcheck_detects_a_wrong_gradient():
    """The finite-difference oracle itself can fail: a corrupted derivative is caught."""
    model, x, y = _problem("tanh", "identity", "mse", 2, 1, seed=8)
    _, analytic = loss_and_gradients(model, x, y, "mse")
    from nnhw.core.gradcheck import numerical_gradients

    numeric = numerical_gradients(model, x, y, "mse")
    assert relative_error(analytic["W1"] * 1.001, numeric["W1"]) > 1e-4
