"""Verdicts of the core claims come from the data: measured tables give the expected verdicts,
and perturbing the table behind a claim flips it."""

import numpy as np
import pytest

from nnhw.experiments.verify import findings, measure


@pytest.fixture(scope="module")
def tables():
    s = np.random.SeedSequence(7)
    return {
        "gradient_checks": measure.gradient_checks(s, batch=4),
        "training_curves": measure.training_curves(s, epochs=15, n_samples=300),
        "symmetry": measure.symmetry(s, epochs=15, n_samples=300),
        "linear_collapse": measure.linear_collapse(s, epochs=300, n_samples=300),
        "activation_ranges": measure.activation_ranges(s, epochs=15, n_samples=300),
        "dead_units": measure.dead_units(s, epochs=15, n_samples=300),
        "activation_cost": measure.activation_cost(s, shape=(64, 64), repeats=20),
    }


def _copy(tables):
    return {k: v.copy() for k, v in tables.items()}


def test_measured_verdicts_match_expectations(tables):
    for fn in findings.CORE_CLAIMS:
        c = fn(tables)
        assert c.numbers and c.measured and c.section
        if c.expected is not None:
            assert c.category() == c.expected, (c.id, c.verdict, c.numbers)


def test_gradient_errors_are_tiny(tables):
    g = tables["gradient_checks"]
    assert g["fd_rel_error"].max() < 1e-6
    assert g["torch_rel_error"].max() < 1e-10  # torch is installed in the test environment


@pytest.mark.parametrize(
    ("claim", "table", "column", "value"),
    [
        (findings.CORE_CLAIMS[0], "gradient_checks", "fd_rel_error", 1e-3),
        (findings.CORE_CLAIMS[1], "gradient_checks", "torch_rel_error", 1e-6),
        (findings.linear_layers_collapse, "linear_collapse", "rel_distance", 0.5),
        (findings.sigmoid_range, "activation_ranges", "min", -0.5),
        (findings.sigmoid_mean, "activation_ranges", "mean", 0.0),
        (findings.relu_dead_units, "dead_units", "dead_after", 0.0),
        (findings.leaky_no_dead, "dead_units", "dead_after", 0.3),
        (findings.zero_init, "symmetry", "spread_after", 0.7),
    ],
)
def test_perturbing_the_data_flips_the_verdict(tables, claim, table, column, value):
    before = claim(tables).category()
    t = _copy(tables)
    t[table][column] = value
    assert claim(t).category() != before


def test_training_claim_flips_when_loss_does_not_fall(tables):
    t = _copy(tables)
    t["training_curves"]["train_loss"] = 1.0
    assert findings.training_decreases(t).verdict == findings.REFUTED


@pytest.mark.parametrize(("ratio", "verdict"), [(2.0, "supported"), (0.5, "refuted")])
def test_timing_verdicts_follow_the_ratio(tables, ratio, verdict):
    t = _copy(tables)
    t["activation_cost"].loc[
        t["activation_cost"]["activation"] == "leaky-relu", "ratio_to_relu"
    ] = ratio
    assert findings.leaky_cost(t).verdict == verdict
    t["activation_cost"]["ratio_to_relu"] = 1.02
    assert findings.leaky_cost(t).verdict.startswith(findings.HOLDS_ONLY)
