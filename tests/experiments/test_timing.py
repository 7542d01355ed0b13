"""experiments.timing and verify's cost claims: the method on a fake clock, the test and the
verdicts on synthetic samples (never on real timings: a wall-clock measurement is never asserted),
PyTorch's kernels against NumPy's derivatives, and the PyTorch column when it is installed."""

from __future__ import annotations

import math
from importlib.util import find_spec

import numpy as np
import pandas as pd
import pytest

from nnhw.core.activations import ACTIVATION_NAMES
from nnhw.experiments import timing
from nnhw.experiments.verify import timing as vt

HAS_TORCH = find_spec("torch") is not None


class FakeClock:
    """A clock that only moves when a fake job says how long it took."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_measure_interleaves_warms_up_and_keeps_the_fastest_call() -> None:
    clock, log = FakeClock(), []
    calls = {"a": 0}

    def job(name: str, cost: float) -> timing.Job:
        def run() -> None:
            log.append(name)
            extra = 0.0
            if name == "a":  # every third call of a pays for something else
                calls["a"] += 1
                extra = 1.0 if calls["a"] % 3 == 0 else 0.0
            clock.now += cost + extra

        return run

    jobs = {"a": job("a", 1e-4), "b": job("b", 2e-4), "c": job("c", 3e-4)}
    s = timing.measure(jobs, rounds=6, warmup=2, target=2e-4, clock=clock)
    assert s.rounds == 6 and s.number == 5  # max(MIN_CALLS, 2e-4 / 1e-4)
    np.testing.assert_allclose(s.seconds["a"], 1e-4)  # the slow call never counts
    np.testing.assert_allclose(s.seconds["b"], 2e-4)
    timed = log[4 * 3 :]  # after the calibration (4 calls per job)
    rounds = [timed[i : i + 15][::5] for i in range(0, len(timed), 15)]
    assert rounds[0] == ["a", "b", "c"] and rounds[1] == ["a", "c", "b"]  # rotated, reversed
    assert rounds[2] == ["c", "a", "b"] and len(rounds) == 8  # 2 warm-up + 6 kept


def test_median_ci_from_order_statistics() -> None:
    assert all(math.isnan(v) for v in timing.median_ci(np.arange(5.0)))  # too few for 95%
    assert timing.median_ci(np.arange(1.0, 7.0)) == (1.0, 6.0)  # 1 - 2/64 >= 95%
    # n = 100: the textbook interval is [x_(40), x_(61)] (1-based)
    assert timing.median_ci(np.arange(1.0, 101.0)) == (40.0, 61.0)


@pytest.mark.parametrize(
    ("lo", "hi", "outcome"),
    [
        (1.3, 1.6, timing.COSTS_MORE),
        (1.1, 1.5, timing.INCONCLUSIVE),  # straddles the 1.25 margin: the spreads overlap
        (0.95, 1.1, timing.WITHIN),
        (0.5, 0.7, timing.COSTS_LESS),
        (0.7, 1.0, timing.INCONCLUSIVE),
        (math.nan, math.nan, timing.INCONCLUSIVE),
    ],
)
def test_cost_test(lo: float, hi: float, outcome: str) -> None:
    assert timing.cost_test(lo, hi) == outcome


def test_ratio_on_synthetic_samples() -> None:
    rng = np.random.default_rng(0)
    base = 1e-4 * (1 + 0.02 * rng.standard_normal(60))
    separated = timing.ratio(1.5 * base * (1 + 0.02 * rng.standard_normal(60)), base)
    assert separated["test"] == timing.COSTS_MORE and separated["rounds_above"] == 60
    assert separated["ratio_lo"] <= 1.5 <= separated["ratio_hi"]
    overlapping = timing.ratio(base * rng.uniform(0.6, 1.6, 60), base)
    assert overlapping["test"] == timing.INCONCLUSIVE
    same = timing.ratio(base * (1 + 0.02 * rng.standard_normal(60)), base)
    assert same["test"] == timing.WITHIN and same["rounds_above"] == same["rounds_below"] == 0
    few = timing.ratio(2 * base[:4], base[:4])  # fewer than 6 rounds: no CI, no decision
    assert few["test"] == timing.INCONCLUSIVE
    # at 1.1875 the CI lies above the margin, at 1.3125 within it
    assert timing.shifted_tests(1.22, 1.3) == (timing.COSTS_MORE, timing.WITHIN)


@pytest.mark.parametrize(
    ("numpy_test", "torch_test", "start"),
    [
        (timing.COSTS_MORE, timing.COSTS_MORE, "supported"),
        (timing.COSTS_MORE, timing.WITHIN, "holds only when it is computed as NumPy does"),
        (timing.WITHIN, timing.WITHIN, "refuted"),
        (timing.COSTS_MORE, timing.INCONCLUSIVE, "inconclusive"),
        (timing.COSTS_MORE, None, "holds only when it is computed with NumPy"),
        (timing.INCONCLUSIVE, None, "inconclusive"),
        (timing.WITHIN, None, "refuted"),
    ],
)
def test_cost_verdict(numpy_test: str, torch_test: str | None, start: str) -> None:
    assert timing.cost_verdict(numpy_test, torch_test).startswith(start)


@pytest.mark.skipif(not HAS_TORCH, reason="PyTorch not installed")
def test_torch_kernels_compute_what_numpy_computes() -> None:
    rng = np.random.default_rng(1)
    z, g = rng.standard_normal((8, 16)) * 3, rng.standard_normal((8, 16))
    names = list(ACTIVATION_NAMES)
    ours = timing.activation_jobs(names, z, g, "numpy")
    theirs = timing.activation_jobs(names, z, g, "torch")
    assert {"relu", "leaky-relu", "tanh", "sigmoid"} <= set(theirs)
    for name, job in theirs.items():
        np.testing.assert_allclose(job().numpy(), ours[name](), rtol=1e-6, atol=1e-9, err_msg=name)


def _timing_rows(tests: dict[tuple[str, str], str]) -> dict[str, pd.DataFrame]:
    """An activation_timing table whose rows' tests are `tests[(library, activation)]`."""
    ratio = {timing.COSTS_MORE: 1.5, timing.WITHIN: 1.0, timing.INCONCLUSIVE: 1.2,
             timing.COSTS_LESS: 0.5}  # fmt: skip
    rows = []
    for library in {lib for lib, _ in tests}:
        rows.append({"library": library, "activation": "relu", "rounds": 50, "ratio": 1.0,
                     "ratio_lo": 1.0, "ratio_hi": 1.0, "test": "baseline", "margin": timing.MARGIN,
                     "rounds_above": 0, "rounds_below": 0, "test_low": "baseline",
                     "test_high": "baseline"})  # fmt: skip
    for (library, name), test in tests.items():
        r = ratio[test]
        rows.append({"library": library, "activation": name, "rounds": 50, "ratio": r,
                     "ratio_lo": r - 0.05, "ratio_hi": r + 0.05, "test": test,
                     "margin": timing.MARGIN,
                     "rounds_above": 50 if test == timing.COSTS_MORE else 0, "rounds_below": 0,
                     "test_low": test, "test_high": test})  # fmt: skip
    return {vt.TABLE: pd.DataFrame(rows)}


def test_cost_claims_follow_the_tests() -> None:
    more, within, unclear = timing.COSTS_MORE, timing.WITHIN, timing.INCONCLUSIVE
    both = {(lib, n): more for lib in ("numpy", "torch") for n in ("tanh", "sigmoid")}
    cases = [
        ({("numpy", "leaky-relu"): more, ("torch", "leaky-relu"): within}, "holds only when"),
        ({("numpy", "leaky-relu"): more, ("torch", "leaky-relu"): more}, "supported"),
        ({("numpy", "leaky-relu"): within, ("torch", "leaky-relu"): within}, "refuted"),
        ({("numpy", "leaky-relu"): more, ("torch", "leaky-relu"): unclear}, "inconclusive"),
        ({("numpy", "leaky-relu"): more}, "holds only when"),  # no PyTorch rows
    ]
    for tests, start in cases:
        cheap, leaky = vt.cost_claims(_timing_rows({**both, **tests}))
        assert leaky.id == "leaky-cost" and leaky.verdict.startswith(start), (tests, leaky)
        assert leaky.seeds == 50 and leaky.expected is None and leaky.cutoff
    cheap, _ = vt.cost_claims(_timing_rows(both | {("numpy", "leaky-relu"): more}))
    assert cheap.verdict == "supported" and cheap.agree == 50
    half = both | {("torch", "tanh"): within, ("numpy", "leaky-relu"): more}
    assert vt.cost_claims(_timing_rows(half))[0].verdict.startswith("holds only when compared")
    unsure = both | {("numpy", "sigmoid"): unclear, ("numpy", "leaky-relu"): more}
    assert vt.cost_claims(_timing_rows(unsure))[0].verdict.startswith("inconclusive")
    none = {k: within for k in both} | {("numpy", "leaky-relu"): more}
    assert vt.cost_claims(_timing_rows(none))[0].verdict == "refuted"
    with pytest.raises(KeyError):
        vt.cost_claims({})


def test_the_torch_column_appears_when_torch_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    t = vt.cost_tables(np.random.SeedSequence(0), rounds=6)[vt.TABLE]
    assert set(t["library"]) == ({"numpy", "torch"} if HAS_TORCH else {"numpy"})
    assert len(t) == len(vt.ACTIVATIONS) * (2 if HAS_TORCH else 1)
    assert (t["rounds"] == 6).all() and (t["median_us"] > 0).all()
    monkeypatch.setattr(timing, "torch_available", lambda: False)
    t = vt.cost_tables(np.random.SeedSequence(0), rounds=6)[vt.TABLE]
    assert set(t["library"]) == {"numpy"}
    assert "PyTorch not installed" in vt.cost_claims({vt.TABLE: t})[1].numbers
