"""A claim of the course, as `nnhw verify` judges it: the `Claim` record and its verdict words.

Contract: every claim function (verify.findings, and the cost and learning-rate claims of other
modules, which import `Claim` from here, not from verify.findings, so that findings can call them
without an import cycle) returns a `Claim`. Its fields are the claims table's columns:

- id, section (the homework's: 1.2(a) ... 1.4(f)), claim (the course's answer, paraphrased),
  measured (what was measured), numbers (the result, with its numbers), verdict, expected (the
  verdict the corrected theory predicts; None for machine-dependent claims such as timings;
  `nnhw verify --strict` exits 1 when a category differs from it), evidence (the file that shows
  it).
- theory: the formula the claim rests on, with its numbers filled in
  (e.g. "sqrt(n Var(W) E[f'(z)^2]) = sqrt(32 x 0.0313 x 0.0539) = 0.232").
- command: the `nnhw ...` command that regenerates the evidence.
- Uncertainty: seeds (how many seeds, or independent repeats, the verdict is computed over),
  agree (how many of them reach the same verdict on their own), deciding (the number that
  decides it), value with ci_low, ci_high (its estimate and 95% confidence interval), cutoff (the
  line it is held against) and cutoff_moved (what moving that line by 25% does to the verdict).
  `with_decision` fills them from a `reporting.uncertainty.Decision`.

Verdict words: a verdict starts with one of SUPPORTED, REFUTED, HOLDS_ONLY ("holds only when
..." followed by the condition measured) or INCONCLUSIVE (the evidence does not decide), and may
go on after a semicolon (e.g. "supported; mechanism: ..."); `category()` is that first word.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from nnhw.experiments.reporting.uncertainty import Decision

SUPPORTED, REFUTED, HOLDS_ONLY, INCONCLUSIVE = (
    "supported",
    "refuted",
    "holds only when",
    "inconclusive",
)
CATEGORIES = (SUPPORTED, REFUTED, HOLDS_ONLY, INCONCLUSIVE)


@dataclass(frozen=True)
class Claim:
    id: str
    section: str
    claim: str
    measured: str
    numbers: str
    verdict: str
    expected: str | None
    evidence: str
    theory: str = ""
    command: str = ""
    seeds: int = 0
    agree: int = 0
    deciding: str = ""
    value: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    cutoff: str = ""
    cutoff_moved: str = ""

    def category(self) -> str:
        """SUPPORTED, REFUTED, HOLDS_ONLY or INCONCLUSIVE: how the verdict starts."""
        for c in CATEGORIES:
            if self.verdict.startswith(c):
                return c
        return self.verdict


def moved_text(decision: Decision, fmt: Callable[[float], str], changed: str) -> str:
    """What a 25% move of the cut-off does: 'unchanged at 0.6 and 1' or, naming the verdict it
    would become, 'at 1: <changed>'."""
    lo, hi = decision.moved_cutoffs
    if decision.robust:
        return f"unchanged at {fmt(lo)} and {fmt(hi)}"
    moved = [f"{fmt(c)}" for c, m in zip((lo, hi), decision.moved) if m != decision.outcome]
    return f"changes at {' and '.join(moved)} ({changed})"


def with_decision(
    claim: Claim,
    decision: Decision,
    deciding: str,
    cutoff: str,
    fmt: Callable[[float], str],
    changed: str = "the verdict changes",
) -> Claim:
    """`claim` with its uncertainty fields taken from `decision`."""
    e = decision.estimate
    return replace(
        claim,
        seeds=e.n,
        agree=decision.agree,
        deciding=deciding,
        value=e.value,
        ci_low=e.low,
        ci_high=e.high,
        cutoff=cutoff,
        cutoff_moved=moved_text(decision, fmt, changed),
    )


def within_tolerance(
    claim: Claim,
    per_seed: list[float],
    tolerance: float,
    deciding: str,
    fmt: Callable[[float], str],
) -> Claim:
    """`claim` with uncertainty fields for an exact check: `per_seed` holds one worst error per
    seed, held against `tolerance` (a rounding level, not a statistical line: no interval, the
    value is the worst over seeds), and whether it stays below 0.75 and 1.25 times it."""
    worst = max(per_seed) if per_seed else math.nan
    agree = sum(v <= tolerance for v in per_seed)
    ok = worst <= tolerance
    lo, hi = 0.75 * tolerance, 1.25 * tolerance
    same = (worst <= lo) == ok and (worst <= hi) == ok
    moved = (
        f"unchanged at {fmt(lo)} and {fmt(hi)}"
        if same
        else f"changes at {fmt(lo) if (worst <= lo) != ok else fmt(hi)}"
    )
    return replace(
        claim, seeds=len(per_seed), agree=agree if ok else len(per_seed) - agree,
        deciding=deciding, value=worst, cutoff=f"<= {fmt(tolerance)} (rounding)",
        cutoff_moved=moved,
    )  # fmt: skip
