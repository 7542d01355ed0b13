"""The course's cost claims (homework 1.4(d)), measured with experiments.timing: the measurement
table `activation_timing` and the claims judged from it.

Contract:
- `cost_tables(seed, rounds)` -> {"activation_timing": table}: forward a = f(z) plus backward
  dz = g * f'(z) of relu, leaky-relu, tanh and sigmoid on one SHAPE array of float64 (drawn
  from `seed`), in NumPy (nnhw's own activations) and, when installed, PyTorch (its kernels, one
  thread), all jobs interleaved round-robin for `rounds` rounds (experiments.timing.measure).
  One row per library x activation: library, activation, elements, rounds, calls (per
  measurement), median_us, q1_us, q3_us (microseconds per call), baseline (relu), ratio (median
  of the per-round ratio to ReLU's time in the same library), ratio_q1, ratio_q3, ratio_lo,
  ratio_hi (its 95% CI), rounds_above / rounds_below (rounds whose own ratio lies above the
  margin / below its inverse), margin, test (timing.cost_test; "baseline" on ReLU's row),
  test_low / test_high (the test with the margin's excess moved by -25% / +25%).
- `cost_claims(tables) -> [Claim]`: "relu-cheap" (ReLU is computationally cheap) and
  "leaky-cost" (LeakyReLU costs more than ReLU: a multiplication is needed), from that table
  alone. No expected verdict: timings belong to a machine.

Verdicts. leaky-cost: experiments.timing.cost_verdict, decided by PyTorch's fused kernels when
present (what the function costs), qualified by NumPy's (what nnhw's implementation costs):
PyTorch "costs more" -> supported; PyTorch within the margin while NumPy costs more -> "holds
only when" the function is computed as NumPy does, in separate array passes (the difference is
the library's); within the margin (or cheaper) in both -> refuted; the deciding test
inconclusive -> inconclusive. Without PyTorch, NumPy's test decides, and the verdict says that
the function and the library cannot be told apart. relu-cheap: tanh and sigmoid against ReLU in
every library measured: both cost more everywhere -> supported; some do and some do not ->
"holds only when"; none -> refuted; any deciding test inconclusive -> inconclusive.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from nnhw.experiments import timing
from nnhw.experiments.reporting.numbers import number
from nnhw.experiments.verify.claims import HOLDS_ONLY, INCONCLUSIVE, REFUTED, SUPPORTED, Claim

Tables = dict[str, pd.DataFrame]
ACTIVATIONS = ("relu", "leaky-relu", "tanh", "sigmoid")
SHAPE = (256, 256)  # 65,536 float64: 512 KB per array, about the hidden layer of a 256-row batch
LIBRARIES = timing.LIBRARIES
LIBRARY_NAMES = {"numpy": "NumPy", "torch": "PyTorch"}
COMMAND = "nnhw verify"
TABLE = "activation_timing"
ROUNDS = 50  # verify's default (about 0.4 s with PyTorch); --thorough may pass more


def cost_tables(seed: np.random.SeedSequence, rounds: int = ROUNDS) -> Tables:
    """The `activation_timing` table (module docstring)."""
    rng = np.random.default_rng(seed)
    z, g = rng.standard_normal(SHAPE), rng.standard_normal(SHAPE)
    jobs: dict[str, Any] = {}
    for library in LIBRARIES:
        for name, job in timing.activation_jobs(list(ACTIVATIONS), z, g, library).items():
            jobs[f"{library}:{name}"] = job
    with timing.torch_threads(1), np.errstate(all="ignore"):
        samples = timing.measure(jobs, rounds)
    rows = []
    for library in LIBRARIES:
        base = samples.seconds.get(f"{library}:relu")
        if base is None:
            continue
        for name in ACTIVATIONS:
            sec = samples.seconds.get(f"{library}:{name}")
            if sec is None:
                continue
            t = timing.time_row(sec)
            r = timing.ratio(sec, base)
            low, high = timing.shifted_tests(r["ratio_lo"], r["ratio_hi"])
            rows.append({
                "library": library, "activation": name, "elements": int(z.size),
                "rounds": samples.rounds, "calls": samples.number,
                "median_us": 1e6 * t["median_s"], "q1_us": 1e6 * t["q1_s"],
                "q3_us": 1e6 * t["q3_s"], "baseline": "relu", **r, "margin": timing.MARGIN,
                "test_low": low, "test_high": high,
            })  # fmt: skip
            if name == "relu":
                rows[-1].update(test="baseline", test_low="baseline", test_high="baseline")
    return {TABLE: pd.DataFrame(rows)}


def _row(t: pd.DataFrame, library: str, name: str) -> pd.Series | None:
    sel = t[(t["library"] == library) & (t["activation"] == name)]
    return sel.iloc[0] if len(sel) else None


def _ratio_text(r: pd.Series) -> str:
    """'1.52x [1.47, 1.58]' (median per-round ratio, 95% CI)."""
    return f"{number(r['ratio'])}x [{number(r['ratio_lo'])}, {number(r['ratio_hi'])}]"


def _with_numbers(claim: Claim, r: pd.Series, agree: int, deciding: str) -> Claim:
    """The claim with its uncertainty fields from the deciding row `r`."""
    m = float(r["margin"])
    moved = (
        f"unchanged at {number(1 + (m - 1) * 0.75)} and {number(1 + (m - 1) * 1.25)}"
        if r["test_low"] == r["test"] == r["test_high"]
        else f"at {number(1 + (m - 1) * 0.75)}: {r['test_low']}; at "
        f"{number(1 + (m - 1) * 1.25)}: {r['test_high']}"
    )
    return Claim(
        **{**claim.__dict__, "seeds": int(r["rounds"]), "agree": agree, "deciding": deciding,
           "value": float(r["ratio"]), "ci_low": float(r["ratio_lo"]),
           "ci_high": float(r["ratio_hi"]),
           "cutoff": f"ratio {number(m)} (costs more) and 1/{number(m)} (costs less)",
           "cutoff_moved": moved},
    )  # fmt: skip


def _agree(r: pd.Series) -> int:
    """Rounds whose own ratio agrees with the row's test."""
    n, above, below = int(r["rounds"]), int(r["rounds_above"]), int(r["rounds_below"])
    return {timing.COSTS_MORE: above, timing.COSTS_LESS: below}.get(
        str(r["test"]), n - above - below
    )


def leaky_cost(tables: Tables) -> Claim:
    """LeakyReLU costs more than ReLU (module docstring)."""
    t = tables[TABLE]
    np_row, pt_row = _row(t, "numpy", "leaky-relu"), _row(t, "torch", "leaky-relu")
    if np_row is None:
        raise KeyError(TABLE)
    t_np = str(np_row["test"])
    parts = [f"NumPy {_ratio_text(np_row)} ({t_np})"]
    if pt_row is not None:
        parts.append(f"PyTorch {_ratio_text(pt_row)} ({pt_row['test']})")
        deciding_row, deciding = pt_row, "PyTorch's LeakyReLU/ReLU time ratio"
    else:
        parts.append("PyTorch not installed")
        deciding_row, deciding = np_row, "NumPy's LeakyReLU/ReLU time ratio"
    verdict = timing.cost_verdict(
        t_np, None if pt_row is None else str(pt_row["test"]), float(np_row["margin"])
    )
    claim = Claim(
        "leaky-cost", "1.4(d)", "LeakyReLU costs more to compute than ReLU (a multiplication)",
        "forward plus backward time relative to ReLU on the same "
        f"{SHAPE[0]} x {SHAPE[1]} float64 array, {int(np_row['rounds'])} interleaved rounds: "
        "median per-round ratio [95% CI]",
        "LeakyReLU/ReLU: " + "; ".join(parts), verdict, None, f"tables/{TABLE}.csv",
        theory="ReLU: a = max(z, 0), dz = g·[z > 0]; LeakyReLU: a = max(z, 0.01 z), "
        "dz = g·(1 if z > 0 else 0.01): one multiply more per element. On "
        f"{SHAPE[0] * SHAPE[1]:,} elements both are bound by memory traffic (4 arrays of "
        f"{SHAPE[0] * SHAPE[1] * 8 // 1024} KB), where one multiply costs next to nothing; "
        "NumPy makes extra passes over the arrays for it (z > 0, where, multiply), a fused "
        "kernel does not",
        command=COMMAND,
    )  # fmt: skip
    return _with_numbers(claim, deciding_row, _agree(deciding_row), deciding)


def relu_cheap(tables: Tables) -> Claim:
    """ReLU is computationally cheap: tanh and sigmoid cost more in every library measured."""
    t = tables[TABLE]
    libs = [lib for lib in LIBRARIES if _row(t, lib, "tanh") is not None]
    if not libs:
        raise KeyError(TABLE)
    found = {(lib, n): _row(t, lib, n) for lib in libs for n in ("tanh", "sigmoid")}
    rows = {k: r for k, r in found.items() if r is not None}
    tests = {k: str(r["test"]) for k, r in rows.items()}
    more = [k for k, v in tests.items() if v == timing.COSTS_MORE]
    unclear = [k for k, v in tests.items() if v == timing.INCONCLUSIVE]
    if unclear:
        verdict = f"{INCONCLUSIVE}: " + ", ".join(
            f"{LIBRARY_NAMES[lib]} {n}" for lib, n in unclear
        ) + " against ReLU straddles the cut-off"  # fmt: skip
    elif len(more) == len(tests):
        verdict = SUPPORTED
    elif more:
        verdict = f"{HOLDS_ONLY} compared with " + ", ".join(
            f"{n} in {LIBRARY_NAMES[lib]}" for lib, n in more
        )  # fmt: skip
    else:
        verdict = REFUTED
    numbers_text = "; ".join(
        f"{LIBRARY_NAMES[lib]}: "
        + ", ".join(
            f"{n} {_ratio_text(r)} ({r['test']})" for (lb, n), r in rows.items() if lb == lib
        )
        for lib in libs
    )
    # the weakest evidence decides: the smallest CI lower bound
    key = min(rows, key=lambda k: float(rows[k]["ratio_lo"]))
    r = rows[key]
    claim = Claim(
        "relu-cheap", "1.4(d)", "ReLU is computationally cheap",
        "forward plus backward time of tanh and sigmoid relative to ReLU's on the same "
        f"{SHAPE[0]} x {SHAPE[1]} array, {int(r['rounds'])} interleaved rounds, per library: "
        "median per-round ratio [95% CI]",
        numbers_text, verdict, None, f"tables/{TABLE}.csv",
        theory="ReLU needs one comparison per element (max(z, 0), g·[z > 0]); tanh and sigmoid "
        "need an exponential (tens of operations) per element, which makes them compute-bound "
        "where ReLU is bound by memory traffic",
        command=COMMAND,
    )  # fmt: skip
    deciding = f"{LIBRARY_NAMES[key[0]]}'s {key[1]}/ReLU time ratio (the smallest CI bound)"
    return _with_numbers(claim, r, _agree(r), deciding)


def cost_claims(tables: Tables) -> list[Claim]:
    """The cost claims of 1.4(d) judged from `activation_timing` (KeyError without it)."""
    if TABLE not in tables:
        raise KeyError(TABLE)
    return [relu_cheap(tables), leaky_cost(tables)]
