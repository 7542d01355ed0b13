"""reporting.uncertainty: intervals worked by hand, the cut-off test and its 25% move, Wilson's
interval, Welch's two-group interval."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnhw.experiments.reporting import uncertainty as u
from nnhw.experiments.reporting.numbers import number


def test_t_interval_matches_the_hand_computation():
    values = [1.0, 2.0, 3.0, 4.0, 5.0]
    e = u.interval(values)
    half = 2.776 * math.sqrt(2.5) / math.sqrt(5)  # t(4) * s / sqrt(n), s^2 = 2.5
    assert e.value == 3.0 and e.n == 5
    assert e.low == pytest.approx(3 - half) and e.high == pytest.approx(3 + half)


def test_log_interval_is_a_geometric_mean_and_drops_non_finite_values():
    e = u.interval([1.0, 10.0, 100.0, np.inf, np.nan, -1.0], log=True)
    assert e.value == pytest.approx(10.0) and e.n == 3 and e.dropped == 3
    assert e.low < 10 < e.high and e.low * e.high == pytest.approx(100.0)


def test_one_value_or_none():
    assert u.interval([2.0]).low == u.interval([2.0]).high == 2.0
    assert math.isnan(u.interval([]).value)
    assert u.side(u.interval([]), 1.0) == u.INCONCLUSIVE


@pytest.mark.parametrize(
    ("values", "outcome", "agree"),
    [
        ([0.5, 0.52, 0.49, 0.51, 0.5], u.ABOVE, 5),
        ([0.01, 0.02, 0.015, 0.012, 0.018], u.BELOW, 5),
        ([0.0, 0.2, 0.05, 0.15, 0.1], u.INCONCLUSIVE, 2),  # the CI contains 0.1
    ],
)
def test_decide(values, outcome, agree):
    d = u.decide(values, 0.1)
    assert d.outcome == outcome and d.agree == agree and d.seeds == 5


def test_moving_the_cut_off_by_25_percent():
    d = u.decide([0.7, 0.71, 0.69, 0.7, 0.72], 0.8, log=True)
    assert d.outcome == u.BELOW and d.moved_cutoffs == pytest.approx((0.6, 1.0))
    assert d.moved == (u.ABOVE, u.BELOW) and not d.robust
    r = u.decide([3.0, 3.1, 2.9, 3.05, 2.95], 1.1, log=True, excess=True)
    assert r.moved_cutoffs == pytest.approx((1.075, 1.125)) and r.robust
    assert "the same with the cut-off at 1.08 or 1.12" in u.describe(r, number)
    assert "with the cut-off at 0.6: above" in u.describe(d, number)


def test_a_cut_off_that_cannot_be_moved_is_refused():
    with pytest.raises(ValueError):
        u.decide([1.0, 2.0], 0.0)
    with pytest.raises(ValueError):
        u.decide([1.0, 2.0], -1.0, log=True)
    with pytest.raises(ValueError):
        u.decide([1.0, 2.0], 1.0, log=True, excess=True)


def test_wilson_interval():
    lo, hi = u.share_interval(5, 5)
    assert hi == 1.0 and lo == pytest.approx(0.566, abs=1e-3)  # the rule of three, roughly
    lo, hi = u.share_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.278, abs=1e-3)
    assert u.share_interval(0, 0) == (0.0, 1.0)


def test_welch_interval_and_compare():
    a, b = [2.0, 2.2, 1.8, 2.1], [1.0, 1.1, 0.9, 1.05, 0.95]
    e = u.welch_interval(a, b, log=True)
    assert e.value == pytest.approx(math.exp(np.mean(np.log(a)) - np.mean(np.log(b))))
    assert 1.25 < e.low < e.value < e.high and e.n == 4
    d = u.compare(a, b, 1.25, log=True, excess=True)
    assert d.outcome == u.ABOVE and d.agree == 4
    same = u.compare(b, b, 1.25, log=True, excess=True)
    assert same.outcome == u.BELOW  # a ratio of 1, CI well below 1.25
    assert math.isnan(u.welch_interval([1.0], b).value)


def test_median_interval_is_distribution_free_and_ignores_one_wild_seed():
    assert [u.sign_test_rank(n) for n in (5, 6, 10, 20)] == [1, 1, 2, 6]
    assert u.median_coverage(5) == pytest.approx(1 - 2 / 32)
    e = u.median_interval([8.5, 2.9e6, 12.1, 27.9, np.inf])
    assert e.value == 27.9 and e.low == 8.5 and e.high == np.inf
    # a t interval on the logs of the same values straddles 2; the median's does not
    wild = [8.5, 2.9e6, 12.1, 27.9, 24.3]
    assert u.decide(wild, 2.0, log=True, excess=True).outcome == u.INCONCLUSIVE
    assert u.decide(wild, 2.0, log=True, excess=True, median=True).outcome == u.ABOVE
    assert u.decide([1.0, 3.0, 5.0, 0.5, 4.0], 2.0, median=True).outcome == u.INCONCLUSIVE
