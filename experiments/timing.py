"""Timing a verdict can rest on: repeated, interleaved measurements, the ratio of two functions
with its spread, and a stated test. Used by `nnhw verify`'s cost claims (experiments.verify.timing)
and `nnhw compare-activations`' timing table and cost finding.

Method (`measure(jobs, rounds)`):
1. Calibration: each job runs four times (the first call pays for lazy set-up); the fastest call
   of the fastest job sets the inner count `number`, the calls that make one measurement of that
   job last about `target` seconds (0.2 ms by default: far above the clock's resolution, below a
   scheduler's time slice, so most measurements are not interrupted at all and those that are
   stand out). Every job gets the same count (`calibrate`).
2. Warm-up: `warmup` rounds, discarded (caches, the allocator's free lists, CPU frequency).
3. `rounds` rounds, each timing every job once: `number` calls (at least MIN_CALLS = 5), each
   between two perf_counter reads, of which the fastest counts. The fastest, because the slow
   calls are the ones that paid for something else: the memory allocator giving pages back to
   the system and faulting them in again (measured: 0 page faults in the typical call, up to 550
   in the slow ones, with a correlation of 0.9 between faults and time), or another process
   (the fastest of 5 calls halved the CI of the ratio against the fastest of 3, measured under
   load). The order of the jobs rotates by one every round and runs backwards every other
   round, so no job is always first or always follows the same neighbour. The result: seconds
   per call, one sample per job and round.

Ratio (`ratio(num, den)`): the per-round ratio num[r] / den[r]. Both were measured within the
same round, milliseconds apart, so a slow drift of the machine (another process, the clock
frequency) moves both and cancels; the ratio's median, quartiles and a distribution-free 95%
confidence interval of the median (order statistics: the CI [x_(k), x_(n-k+1)] with k the largest
count such that P(Bin(n, 1/2) < k) <= 2.5%; no normality assumed) are reported. Fewer than 6
rounds give no such interval (NaN), and the test then says inconclusive.

Test (`cost_test(lo, hi, margin)`) on the CI of the ratio, margin m (MARGIN = 1.25, i.e. 25%):
- COSTS_MORE: the whole CI above m;  COSTS_LESS: the whole CI below 1/m;
- WITHIN ("within the margin"): the whole CI within [1/m, m]: no difference as large as the
  margin (a smaller one may be measured, e.g. 1.1x [1.08, 1.13], and is reported as such);
- INCONCLUSIVE: otherwise (the CI straddles m or 1/m: the spreads overlap the cut-off).
`shifted_tests(lo, hi, margin)` repeats the test with the margin's excess over 1 moved by -25% and
+25% (1.1875 and 1.3125): whether moving the cut-off would change a verdict.

A second implementation: `activation_jobs(names, z, g, library)` builds, per activation, the job
a = f(z); dz = g * f'(z) in NumPy (nnhw's own core.activations) or, with library="torch", with
PyTorch's own forward functions and the backward kernels its autograd calls
(torch.ops.aten.threshold_backward, leaky_relu_backward, ...), on the same numbers, in one thread
(`torch_threads(1)`, as NumPy's elementwise loops run). When NumPy shows a difference that
PyTorch does not, the difference belongs to the library (NumPy composes LeakyReLU from several
array passes; a fused kernel does it in one), not to the function. `torch_available()` says
whether PyTorch is installed (importing it takes seconds: `start_torch_import()` begins that in a
background thread).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.util import find_spec
from typing import Any

import numpy as np

from nnhw.core.activations import DEFAULT_NEGATIVE_SLOPE, get_activation

# A ratio counts as a difference only beyond 25%: two memory-bound kernels' wall-clock ratio moves
# by up to about 15% with the array size, the cache state and the machine's load (PyTorch's
# LeakyReLU/ReLU measured 0.95 to 1.14 across array sizes and runs on the shared 2-core VM), so a
# 10% margin would call that a difference one run and not the next.
MARGIN = 1.25
TARGET_SECONDS = 2e-4  # the length of one measurement
CONFIDENCE = 0.95
MIN_ROUNDS = 6  # fewest rounds with a 95% distribution-free CI of the median
MIN_CALLS = 5  # calls per measurement, of which the fastest counts

COSTS_MORE = "costs more"
COSTS_LESS = "costs less"
WITHIN = "within the margin"
INCONCLUSIVE = "inconclusive"

LIBRARIES = ("numpy", "torch")
Job = Callable[[], object]


@dataclass(frozen=True)
class Samples:
    """seconds[name]: (rounds,) seconds per call of job `name`, one per round; number: the calls
    timed together in one measurement (the same for every job)."""

    seconds: dict[str, np.ndarray]
    number: int

    @property
    def rounds(self) -> int:
        return len(next(iter(self.seconds.values()))) if self.seconds else 0


def calibrate(jobs: Mapping[str, Job], target: float = TARGET_SECONDS,
              clock: Callable[[], float] = time.perf_counter) -> int:  # fmt: skip
    """The inner count that makes one measurement of the fastest job last about `target` seconds.
    Every job gets the same count: the first call of a measurement finds the caches filled by the
    other jobs, and the same count makes that cost the same share of every job's time."""
    fastest = math.inf
    for job in jobs.values():
        job()  # the first call pays for lazy set-up
        for _ in range(3):  # the fastest of three: one call may be interrupted
            t0 = clock()
            job()
            fastest = min(fastest, clock() - t0)
    return int(min(1000, max(MIN_CALLS, math.ceil(target / fastest)))) if fastest > 0 else 1000


def round_order(names: list[str], r: int) -> list[str]:
    """The order of round r: rotated by r, backwards in odd rounds."""
    k = r % len(names)
    order = names[k:] + names[:k]
    return order[::-1] if r % 2 else order


def measure(
    jobs: Mapping[str, Job],
    rounds: int,
    *,
    warmup: int = 2,
    target: float = TARGET_SECONDS,
    clock: Callable[[], float] = time.perf_counter,
) -> Samples:
    """Time every job in `rounds` interleaved rounds after `warmup` discarded ones (module
    docstring)."""
    names = list(jobs)
    count = calibrate(jobs, target, clock)
    seconds: dict[str, list[float]] = {n: [] for n in names}
    for r in range(warmup + rounds):
        for name in round_order(names, r):
            job, best = jobs[name], math.inf
            for _ in range(count):
                t0 = clock()
                job()
                best = min(best, clock() - t0)
            if r >= warmup:
                seconds[name].append(best)
    return Samples({n: np.asarray(v, dtype=float) for n, v in seconds.items()}, count)


def median_ci(values: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Distribution-free CI of the median from order statistics; (NaN, NaN) with too few values."""
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    alpha = (1 - confidence) / 2
    cdf, k = 0.0, 0
    while k < n:  # k: how many order statistics may be cut from each end
        cdf += math.comb(n, k) / 2.0**n  # P(Bin(n, 1/2) <= k)
        if cdf > alpha:
            break
        k += 1
    if k == 0:
        return float("nan"), float("nan")
    return float(x[k - 1]), float(x[n - k])


def cost_test(lo: float, hi: float, margin: float = MARGIN) -> str:
    """The verdict of a ratio's CI [lo, hi] against the margin (module docstring)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return INCONCLUSIVE
    if lo > margin:
        return COSTS_MORE
    if hi < 1 / margin:
        return COSTS_LESS
    if lo >= 1 / margin and hi <= margin:
        return WITHIN
    return INCONCLUSIVE


def ratio(num: np.ndarray, den: np.ndarray, margin: float = MARGIN) -> dict[str, Any]:
    """The paired per-round ratio num/den: median, quartiles, 95% CI of the median, the rounds
    whose own ratio lies above the margin and below its inverse, and the test."""
    r = np.asarray(num, dtype=float) / np.asarray(den, dtype=float)
    q1, med, q3 = np.percentile(r, [25, 50, 75])
    lo, hi = median_ci(r)
    return {
        "ratio": float(med), "ratio_q1": float(q1), "ratio_q3": float(q3),
        "ratio_lo": lo, "ratio_hi": hi, "rounds_above": int(np.sum(r > margin)),
        "rounds_below": int(np.sum(r < 1 / margin)), "test": cost_test(lo, hi, margin),
    }  # fmt: skip


def shifted_tests(lo: float, hi: float, margin: float = MARGIN) -> tuple[str, str]:
    """The test at the margin with its excess over 1 moved by -25% and +25% (1.1875 and 1.3125
    for 1.25): whether a verdict would change if the cut-off moved."""
    return tuple(cost_test(lo, hi, 1 + (margin - 1) * f) for f in (0.75, 1.25))  # type: ignore[return-value]


def cost_verdict(numpy_test: str, torch_test: str | None, margin: float = MARGIN) -> str:
    """The verdict on a claim "f costs more than g" from the NumPy test and, when PyTorch is
    installed, the PyTorch test of the ratio f/g. PyTorch's fused kernels say what the function
    costs and decide; NumPy's say what nnhw's implementation costs and qualify:
    PyTorch costs more -> "supported"; PyTorch inconclusive -> "inconclusive: ..."; PyTorch within
    the margin (or cheaper) while NumPy costs more -> "holds only when ..." computed as NumPy does
    (the difference is the library's); otherwise "refuted". Without PyTorch, NumPy's test
    decides and the verdict says that the function and the library cannot be told apart."""
    m = f"{margin:g}x"
    if torch_test is None:
        if numpy_test == COSTS_MORE:
            return (
                "holds only when it is computed with NumPy (PyTorch is not installed, so the "
                "function's cost and the library's cannot be told apart)"
            )
        if numpy_test == INCONCLUSIVE:
            return "inconclusive: NumPy's ratio CI straddles the cut-off"
        return "refuted"
    if torch_test == COSTS_MORE:
        return "supported"
    if torch_test == INCONCLUSIVE:
        return (
            "inconclusive: PyTorch's ratio CI straddles the cut-off, so the function's cost and "
            "the library's cannot be told apart"
        )
    if numpy_test == COSTS_MORE:
        return (
            "holds only when it is computed as NumPy does, in separate array passes: in "
            f"PyTorch's fused kernels the difference stays within the {m} margin, so the extra "
            "cost is the library's, not the function's"
        )
    return "refuted"


def time_row(seconds: np.ndarray) -> dict[str, float]:
    """Median and quartiles of one job's seconds per call."""
    q1, med, q3 = np.percentile(np.asarray(seconds, dtype=float), [25, 50, 75])
    return {"median_s": float(med), "q1_s": float(q1), "q3_s": float(q3)}


# ---- the activations in two libraries ------------------------------------------------------


def torch_available() -> bool:
    """Whether PyTorch is installed (without importing it)."""
    return find_spec("torch") is not None


_import_thread: threading.Thread | None = None


def start_torch_import() -> None:
    """Begin importing PyTorch in a background thread (it takes seconds), when installed."""
    global _import_thread
    if _import_thread is None and torch_available():

        def load() -> None:
            import torch  # noqa: F401  (optional, slow: imported in the background on purpose)

        _import_thread = threading.Thread(target=load, daemon=True, name="nnhw-torch-import")
        _import_thread.start()


def _torch() -> Any:
    """The torch module (waiting for a background import, if one runs), or None."""
    if _import_thread is not None:
        _import_thread.join()
    if not torch_available():
        return None
    import torch  # optional (the test extra) and slow to import: only when timing

    return torch


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """PyTorch's intra-op threads set to n for the block (NumPy's elementwise loops use one)."""
    torch = _torch()
    if torch is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _torch_pairs(torch: Any, slope: float) -> dict[str, Callable[[Any, Any], Any]]:
    """(z, g) -> dz for each activation: PyTorch's forward and the backward kernel autograd
    calls for it."""
    F, aten = torch.nn.functional, torch.ops.aten
    selu_alpha, selu_scale = 1.6732632423543772, 1.0507009873554805

    def pair(forward: Callable[[Any], Any], backward: Callable[[Any, Any, Any], Any]) -> Any:
        return lambda z, g: backward(g, z, forward(z))

    return {
        "relu": pair(torch.relu, lambda g, z, a: aten.threshold_backward(g, a, 0)),
        "leaky-relu": pair(lambda z: F.leaky_relu(z, slope),
                           lambda g, z, a: aten.leaky_relu_backward(g, z, slope, False)),
        "tanh": pair(torch.tanh, lambda g, z, a: aten.tanh_backward(g, a)),
        "sigmoid": pair(torch.sigmoid, lambda g, z, a: aten.sigmoid_backward(g, a)),
        "gelu": pair(F.gelu, lambda g, z, a: aten.gelu_backward(g, z)),
        "gelu-tanh": pair(lambda z: F.gelu(z, approximate="tanh"),
                          lambda g, z, a: aten.gelu_backward(g, z, approximate="tanh")),
        "silu": pair(F.silu, lambda g, z, a: aten.silu_backward(g, z)),
        "elu": pair(F.elu, lambda g, z, a: aten.elu_backward(g, 1.0, 1.0, 1.0, False, z)),
        "selu": pair(F.selu, lambda g, z, a: aten.elu_backward(g, selu_alpha, selu_scale, 1.0,
                                                               False, z)),
        "softplus": pair(F.softplus, lambda g, z, a: aten.softplus_backward(g, z, 1.0, 20.0)),
        "mish": pair(F.mish, lambda g, z, a: aten.mish_backward(g, z)),
        "identity": lambda z, g: g.clone(),
    }  # fmt: skip


def activation_jobs(
    names: list[str], z: np.ndarray, g: np.ndarray, library: str = "numpy",
    negative_slope: float = DEFAULT_NEGATIVE_SLOPE,
) -> dict[str, Job]:  # fmt: skip
    """One job per activation: forward a = f(z) and backward dz = g * f'(z) on the same arrays,
    returning dz. "numpy": nnhw's core.activations; "torch": PyTorch (module docstring).
    Activations PyTorch has no kernel for here are left out; {} for "torch" when it is not
    installed."""
    if library == "numpy":
        jobs: dict[str, Job] = {}
        for name in names:
            act = get_activation(name, negative_slope)

            def numpy_job(act: Any = act) -> np.ndarray:
                return g * act.derivative(z, act.forward(z))

            jobs[name] = numpy_job
        return jobs
    torch = _torch()
    if torch is None:
        return {}
    pairs = _torch_pairs(torch, negative_slope)
    zt, gt = torch.from_numpy(np.ascontiguousarray(z)), torch.from_numpy(np.ascontiguousarray(g))
    out: dict[str, Job] = {}
    for name in names:
        if name in pairs:

            def torch_job(fn: Callable[[Any, Any], Any] = pairs[name]) -> Any:
                return fn(zt, gt)

            out[name] = torch_job
    return out
