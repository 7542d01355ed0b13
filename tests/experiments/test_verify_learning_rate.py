"""verify's 1.4(f) claims (experiments.verify.learning_rate) from the batch-scaling sub-study at
the size `nnhw verify` runs it: the learning-rate claim as the homework asks it, the
gradient-size reading kept apart, both with their uncertainty, and verdicts that follow the
tables."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from nnhw.experiments.batch_scaling import fits
from nnhw.experiments.runs import studies
from nnhw.experiments.runs.context import RunContext
from nnhw.experiments.verify.config import Config
from nnhw.experiments.verify.learning_rate import learning_rate_claims, slope_interval
from nnhw.experiments.verify.substudies import sub_config

PREFIX = "batch-scaling."


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    config = Config(seed=0)
    sub = studies.load("batch-scaling").compute(sub_config("batch-scaling", config), RunContext())
    return {PREFIX + k: v for k, v in sub.items()}


def _claims(tables: dict[str, pd.DataFrame]) -> dict[str, object]:
    return {c.id: c for c in learning_rate_claims(tables, Config(seed=0))}


def test_both_readings_are_judged_with_their_uncertainty(tables) -> None:
    claims = _claims(tables)
    lr, grad = claims["learning-rate"], claims["batch-scaling"]
    assert lr.section == grad.section == "1.4(f)"
    assert "learning rate" in lr.claim and "gradient's size" in grad.claim
    assert lr.verdict.startswith("holds only when B <=") and lr.expected == "holds only when"
    assert grad.verdict.startswith("holds only when the loss is summed")
    assert lr.seeds == 5 and 2 * lr.agree > lr.seeds
    assert lr.ci_low <= lr.value <= lr.ci_high and math.isfinite(lr.value)
    assert "B* = 2·b_ref + B_noise = 2·1 + " in lr.theory
    assert lr.command.startswith("nnhw batch-scaling --task regression --samples 128")
    assert "--seeds 5" in lr.command and lr.cutoff and lr.cutoff_moved
    assert grad.ci_low <= grad.value <= grad.ci_high and abs(grad.value - 1) < 0.15


def test_the_learning_rate_verdict_follows_the_training_tables(tables) -> None:
    members = tables[PREFIX + "training_members"].copy()
    linear = (members["reduction"] == "mean") & (members["lr_rule"] == "linear")
    members.loc[linear, ["curve_gap", "diverged", "close"]] = [0.0, False, True]
    perturbed = {
        **tables,
        PREFIX + "training_members": members,
        PREFIX + "training_breaks": fits.training_breaks(members, 1.5),
    }
    assert _claims(perturbed)["learning-rate"].verdict == "supported"
    sqrt = (members["reduction"] == "mean") & (members["lr_rule"] == "sqrt")
    members.loc[linear, ["curve_gap", "close"]] = [1.0, False]
    members.loc[linear & (members["batch_size"] == 1), ["curve_gap", "close"]] = [0.0, True]
    members.loc[sqrt, ["curve_gap", "diverged", "close"]] = [0.0, False, True]
    perturbed[PREFIX + "training_breaks"] = fits.training_breaks(members, 1.5)
    assert _claims(perturbed)["learning-rate"].verdict == "refuted"


def test_the_gradient_size_verdict_follows_the_slopes(tables) -> None:
    slopes = tables[PREFIX + "slopes"].copy()
    row = (slopes.phase == "init") & (slopes.reduction == "sum") & (slopes.range == "large-B")
    slopes.loc[row, "slope"] = 0.55
    claims = _claims({**tables, PREFIX + "slopes": slopes})
    assert claims["batch-scaling"].verdict == "refuted"


def test_slope_interval_from_the_minibatch_spread() -> None:
    rows = [{"phase": "p", "reduction": "sum", "batch_size": b, "minibatches": 100,
             "norm_mean": 2.0 * b, "norm_std": 0.2 * b} for b in (8, 16, 32)]  # fmt: skip
    slope, low, high = slope_interval(pd.DataFrame(rows), "p", "sum", [8, 16, 32])
    assert slope == pytest.approx(1.0) and slope - low == pytest.approx(high - slope)
    # each log mean has standard error 0.1 / sqrt(100) = 0.01; slope weights +-1/(2 ln 2)
    assert high - slope == pytest.approx(1.96 * math.sqrt(2) * 0.01 / (2 * math.log(2)))
    assert all(math.isnan(v) for v in slope_interval(pd.DataFrame(rows), "p", "sum", [8]))


def test_no_sub_study_tables_no_claims() -> None:
    with pytest.raises(KeyError):
        learning_rate_claims({}, Config(seed=0))
