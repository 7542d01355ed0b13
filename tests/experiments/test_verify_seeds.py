"""The default `nnhw verify` reaches the same verdict for every claim at seeds 0 to 9, and --strict
passes at each (slow: ten default runs without figures, minutes on two cores; run with
`pytest -m slow tests/experiments/test_verify_seeds.py`)."""

from __future__ import annotations

import re

import pytest

from nnhw.experiments.runs.context import RunContext
from nnhw.experiments.verify.compute import compute
from nnhw.experiments.verify.config import Config
from nnhw.experiments.verify.findings import strict_failures

NUMBER = re.compile(r"-?\d+(\.\d+)?(e[-+]?\d+)?")


def _shape(verdict: str) -> str:
    """The verdict with its numbers masked: 'holds only when B >= 35.1' and 'holds only when
    B >= 8.79' are the same verdict; 'the init is he-normal' and 'xavier-normal' are not."""
    return NUMBER.sub("#", verdict)


@pytest.mark.slow
def test_every_verdict_is_the_same_at_seeds_0_to_9():
    seen: dict[str, dict[str, list[int]]] = {}
    strict: dict[int, list[str]] = {}
    for seed in range(10):
        tables = compute(Config(seed=seed), RunContext())
        if strict_failures(tables):
            strict[seed] = strict_failures(tables)
        for r in tables["claims"].itertuples():
            seen.setdefault(r.id, {}).setdefault(_shape(r.verdict), []).append(seed)
    flips = {cid: by for cid, by in seen.items() if len(by) > 1}
    assert (flips, strict) == ({}, {})
    assert all(sum(len(s) for s in by.values()) == 10 for by in seen.values())
