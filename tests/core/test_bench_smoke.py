"""The benchmark compares like with like: nnhw's step loop (core.train.train_epoch) and the minimal
NumPy loop of tests/benchmarks/workloads.py, started from the same parameters and data order, reach
the same parameters. Nothing is timed here."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tests.benchmarks import workloads as wl

# The benchmark's nets, shrunk: a few epochs of a few steps each (the last batch shorter).
NETS = [
    replace(wl.SMALL_RELU, n=100, epochs=3),
    replace(wl.SMALL_SIGMOID, n=100, epochs=3),
    replace(wl.LARGE, n=100, d_in=12, hidden=16, batch=32, epochs=3),
]


def _train_both(net: wl.Net, seed: int) -> tuple[list[np.ndarray], wl.MLP]:
    data = wl.make_data(net)
    params = wl.init_params(net, seed)
    wl.numpy_train(net, data, params, wl.order_rng(seed))
    model = wl.make_model(net, [seed])
    wl.nnhw_train(net, data, model, [wl.order_rng(seed)])
    return params, model


@pytest.mark.parametrize("net", NETS, ids=lambda net: net.name)
def test_nnhw_and_the_numpy_limit_reach_the_same_parameters(net: wl.Net) -> None:
    params, model = _train_both(net, seed=3)
    initial = wl.init_params(net, seed=3)
    for name, p, p0 in zip(model.names, params, initial):
        assert not np.allclose(p, p0), f"{name} did not move: the comparison would be vacuous"
        np.testing.assert_allclose(model.params[name][0], p, rtol=1e-12, atol=1e-14, err_msg=name)


def test_float32_large_net_agrees_to_float32_rounding() -> None:
    net = replace(NETS[2], dtype="float32")
    params, model = _train_both(net, seed=5)
    assert model.flat.dtype == np.float32
    for name, p in zip(model.names, params):
        assert p.dtype == np.float32, f"the NumPy loop left float32 in {name}"
        np.testing.assert_allclose(model.params[name][0], p, rtol=1e-4, atol=1e-6, err_msg=name)


def test_ensemble_members_equal_separate_minimal_loops() -> None:
    """The ensemble workload trains E nets: member e is the NumPy loop with seed e."""
    net, seeds = NETS[0], [0, 1, 2]
    data = wl.make_data(net)
    model = wl.make_model(net, seeds)
    wl.nnhw_train(net, data, model, [wl.order_rng(s) for s in seeds])
    for e, seed in enumerate(seeds):
        params = wl.init_params(net, seed)
        wl.numpy_train(net, data, params, wl.order_rng(seed))
        for name, p in zip(model.names, params):
            np.testing.assert_allclose(model.params[name][e], p, rtol=1e-12, atol=1e-14)


def test_step_counts_match_the_loops() -> None:
    """`steps` (what per-step times divide by) is the number of optimiser steps nnhw takes."""
    net = NETS[0]
    data = wl.make_data(net)
    model = wl.make_model(net, [0])
    calls = 0

    class CountingSGD(wl.SGD):
        def step(self, model: wl.MLP) -> None:
            nonlocal calls
            calls += 1
            super().step(model)

    for _ in range(net.epochs):
        wl.train_epoch(
            model, data.X, data.Y, loss=net.loss, reduction="mean", optimizer=CountingSGD(net.lr),
            batch_size=net.batch, rngs=[wl.order_rng(0)],
        )  # fmt: skip
    assert calls == net.steps == net.epochs * 4
