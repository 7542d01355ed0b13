"""Initialisers: each has its documented scale (std or limit), the `standard` bias range, and
draws are reproducible per seed."""

from __future__ import annotations

import numpy as np
import pytest

from nnhw.core.errors import NnhwError
from nnhw.core.init import INIT_NAMES, init_bias, init_weight
from nnhw.core.mlp import MLP

FAN_OUT, FAN_IN = 300, 200  # 60 000 draws: the sample std is within 1% of the true one


def _expected(name: str, scale: float | None) -> tuple[str, float]:
    """('uniform', limit) or ('normal', std) from the formulas in core.init's docstring."""
    s = 0.1 if scale is None else scale
    return {
        "normal": ("normal", s),
        "uniform": ("uniform", s),
        "standard": ("uniform", 1 / np.sqrt(FAN_IN)),
        "xavier-uniform": ("uniform", np.sqrt(6 / (FAN_IN + FAN_OUT))),
        "xavier-normal": ("normal", np.sqrt(2 / (FAN_IN + FAN_OUT))),
        "he-uniform": ("uniform", np.sqrt(6 / FAN_IN)),
        "he-normal": ("normal", np.sqrt(2 / FAN_IN)),
        "lecun-normal": ("normal", np.sqrt(1 / FAN_IN)),
    }[name]


@pytest.mark.parametrize("scale", [None, 0.5])
@pytest.mark.parametrize("name", [n for n in INIT_NAMES if n != "zero"])
def test_documented_scale(name, scale):
    W = init_weight(name, np.random.default_rng(0), FAN_OUT, FAN_IN, scale=scale)
    assert W.shape == (FAN_OUT, FAN_IN) and W.dtype == np.float64
    family, value = _expected(name, scale)
    assert abs(W.mean()) < 0.02 * W.std()
    if family == "uniform":
        limit = value
        assert np.abs(W).max() <= limit
        assert np.abs(W).max() > 0.999 * limit  # the whole range is used
        assert W.std() == pytest.approx(limit / np.sqrt(3), rel=0.02)
    else:
        assert W.std() == pytest.approx(value, rel=0.02)
        assert np.abs(W).max() > 3 * value  # unbounded tails, not a uniform draw


def test_zero_init_is_zero():
    assert not init_weight("zero", np.random.default_rng(0), 4, 3).any()
    assert not init_bias("zero", np.random.default_rng(0), 4, 3).any()


def test_standard_bias_range_and_other_biases_zero():
    b = init_bias("standard", np.random.default_rng(1), 5000, FAN_IN)
    limit = 1 / np.sqrt(FAN_IN)
    assert np.abs(b).max() <= limit and np.abs(b).max() > 0.99 * limit
    assert b.std() == pytest.approx(limit / np.sqrt(3), rel=0.05)
    for name in INIT_NAMES:
        if name != "standard":
            assert not init_bias(name, np.random.default_rng(1), 50, 10).any(), name


@pytest.mark.parametrize("name", INIT_NAMES)
def test_reproducible_per_seed_and_cast(name):
    a = init_weight(name, np.random.default_rng(7), 6, 5)
    b = init_weight(name, np.random.default_rng(7), 6, 5, dtype=np.float32)
    assert b.dtype == np.float32
    np.testing.assert_array_equal(a.astype(np.float32), b)  # drawn in float64, then cast
    if name != "zero":
        assert not np.array_equal(a, init_weight(name, np.random.default_rng(8), 6, 5))


def test_mlp_uses_the_initialiser_per_layer():
    model = MLP([400, 300, 2], "relu", "identity", [np.random.default_rng(0)], init="he-normal")
    assert model.params["W1"].std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    assert model.params["W2"].std() == pytest.approx(np.sqrt(2 / 300), rel=0.2)
    assert not model.params["b1"].any()


def test_unknown_init_refused():
    with pytest.raises(NnhwError, match=r"unknown init 'kaiming'; choose one of zero"):
        init_weight("kaiming", np.random.default_rng(0), 2, 2)
