"""Diagnostics: dead units, saturated units, gradient and signal norms, activation statistics."""

from __future__ import annotations

import numpy as np
import pytest

from nnhw.core import diagnostics
from nnhw.core.activations import saturation_edge
from nnhw.core.losses import get_loss
from nnhw.core.mlp import MLP


def _pass(model: MLP, seed: int = 0, n: int = 32) -> MLP:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, model.sizes[0]))
    y = rng.normal(size=(n, model.sizes[-1]))
    _, d = get_loss("mse")(model.forward(x), y, "mean")
    model.backward(d)
    return model


def _net(activation: str, depth: int = 2, members: int = 3, **kw) -> MLP:
    rngs = [np.random.default_rng(s) for s in range(members)]
    return MLP([4] + [16] * depth + [2], activation, "identity", rngs, **kw)


@pytest.mark.parametrize("activation", ["relu", "leaky-relu"])
def test_dead_fraction_after_a_large_negative_bias_shift(activation):
    model = _net(activation)
    healthy = diagnostics.dead_fraction(_pass(model))
    assert healthy.shape == (3, 2) and np.all(healthy < 0.3)
    for l in (1, 2):
        model.params[f"b{l}"][...] -= 50.0  # every pre-activation is now far below zero
    dead = diagnostics.dead_fraction(_pass(model))
    if activation == "relu":
        np.testing.assert_array_equal(dead, 1.0)  # no unit is active on any example
    else:
        np.testing.assert_array_equal(dead, 0.0)  # the negative slope keeps a gradient


def test_dead_fraction_counts_units_never_active_on_the_batch():
    model = _net("relu", depth=1, members=1)
    model.params["b1"][0, :4] = -1e3  # exactly 4 of 16 units killed
    model.params["b1"][0, 4:] = 1e3  # the others always active
    np.testing.assert_array_equal(diagnostics.dead_fraction(_pass(model)), [[0.25]])


def test_saturated_fraction_high_for_sigmoid_with_large_weights():
    small = diagnostics.saturated_fraction(_pass(_net("sigmoid", init="normal", init_scale=0.01)))
    large = diagnostics.saturated_fraction(_pass(_net("sigmoid", init="normal", init_scale=20.0)))
    assert np.all(small == 0.0)
    assert np.all(large > 0.8)
    tanh = diagnostics.saturated_fraction(_pass(_net("tanh", init="normal", init_scale=20.0)))
    assert np.all(tanh > 0.8)


def test_saturation_threshold_is_relative_to_the_largest_derivative():
    model = _pass(_net("sigmoid", depth=1, members=1))
    z = model.zs[0]
    a = model.acts[1]
    for threshold in (0.05, 0.5, 0.9):
        expected = np.mean(a * (1 - a) < threshold * 0.25)
        assert diagnostics.saturated_fraction(model, threshold)[0, 0] == expected
    assert np.isfinite(z).all()


@pytest.mark.parametrize("activation", ["gelu", "silu", "elu", "selu", "softplus", "mish"])
def test_left_tail_saturation_counts_units_in_the_flat_left_tail(activation):
    """A large negative bias puts every unit in the left tail (saturated), a large positive one
    none; in between, the count is the fraction of z below the activation's edge."""
    model = _net(activation, depth=1, members=1)
    model.params["b1"][0, :4] = -50.0
    model.params["b1"][0, 4:] = 50.0
    np.testing.assert_array_equal(diagnostics.saturated_fraction(_pass(model)), [[0.25]])
    model = _pass(_net(activation, depth=1, members=1, init="normal", init_scale=2.0))
    edge = saturation_edge(model.f, 0.05)
    expected = np.mean(model.zs[0] < edge)
    assert 0 < expected < 0.5
    assert diagnostics.saturated_fraction(model)[0, 0] == expected


def test_saturated_fraction_is_nan_where_units_cannot_saturate():
    for activation in ("relu", "leaky-relu", "identity"):
        assert np.isnan(diagnostics.saturated_fraction(_pass(_net(activation)))).all()


@pytest.mark.parametrize("depth", [1, 3])
def test_grad_and_signal_norms_equal_the_norms_of_the_gradients(depth):
    model = _pass(_net("tanh", depth=depth))
    norms = diagnostics.grad_norms(model)
    signals = diagnostics.signal_norms(model)
    assert norms.shape == signals.shape == (3, depth + 1)
    for e in range(3):
        for l in range(1, depth + 2):
            assert norms[e, l - 1] == pytest.approx(np.linalg.norm(model.grads[f"W{l}"][e]))
            assert signals[e, l - 1] == pytest.approx(np.linalg.norm(model.deltas[l - 1][e]))


def test_activation_stats_are_those_of_the_hidden_outputs():
    model = _pass(_net("sigmoid", depth=2))
    stats = diagnostics.activation_stats(model)
    assert set(stats) == {"act_mean", "act_std", "act_min", "act_max"}
    for l in (1, 2):
        a = model.acts[l]
        for e in range(3):
            assert stats["act_mean"][e, l - 1] == pytest.approx(a[e].mean())
            assert stats["act_std"][e, l - 1] == pytest.approx(a[e].std())
            assert stats["act_min"][e, l - 1] == a[e].min()
            assert stats["act_max"][e, l - 1] == a[e].max()
    assert np.all(stats["act_min"] > 0) and np.all(stats["act_max"] < 1)  # sigmoid: (0, 1)


def test_a_net_without_hidden_layers_has_empty_hidden_diagnostics():
    model = _pass(MLP([3, 2], "relu", "identity", [np.random.default_rng(0)]))
    assert diagnostics.dead_fraction(model).shape == (1, 0)
    assert diagnostics.activation_stats(model)["act_mean"].shape == (1, 0)
    assert diagnostics.grad_norms(model).shape == (1, 1)
