"""softmax-stability: thresholds against np.finfo, the max-shifted form never breaking, errors
against an independent mpmath computation, the course claims' verdicts, and no warnings."""

from __future__ import annotations

import dataclasses
import math
import warnings

import mpmath
import numpy as np
import pandas as pd
import pytest

from nnhw.core.errors import NnhwError
from nnhw.experiments.runs.context import RunContext
from nnhw.experiments.softmax_stability import findings as sf
from nnhw.experiments.softmax_stability import measure as sm
from nnhw.experiments.softmax_stability import theory as st
from nnhw.experiments.softmax_stability.compute import compute, thresholds_table
from nnhw.experiments.softmax_stability.config import COMMAND, Config

SMALL = Config(points=15, rows=4, classes=8)  # the full scale range 1e-2 .. 1e5, few logits


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return compute(SMALL, RunContext())


def _spacing(value: float, dtype: str) -> float:
    return float(abs(np.spacing(np.array(value, dtype=dtype))))


@pytest.mark.parametrize("dtype", sm.DTYPES)
@pytest.mark.parametrize("case", ["outlier", "random", "temperature"])
def test_naive_overflow_threshold_is_log_of_finfo_max(tables, case, dtype):
    row = sf.select(tables["thresholds"], case=case, dtype=dtype, formula="naive").iloc[0]
    theory = math.log(float(np.finfo(dtype).max))
    # logits are rounded to the dtype: within one spacing there, plus the bisection width
    tol = st.BISECT_RTOL * abs(row["critical_value"]) + _spacing(theory, dtype)
    assert row["fails_in_range"]
    assert abs(row["critical_value"] - theory) <= tol, (row["critical_value"], theory)
    assert row["scale_last_ok"] < row["scale_first_fail"] <= row["scale_last_ok"] * (1 + 1e-11)
    assert row["matches_theory"]


@pytest.mark.parametrize("dtype", sm.DTYPES)
def test_naive_underflow_threshold_is_log_of_half_the_smallest_subnormal(tables, dtype):
    row = sf.select(tables["thresholds"], case="shifted-down", dtype=dtype, formula="naive")
    row = row.iloc[0]
    # round to nearest: exp(x) becomes 0 below half the smallest subnormal
    theory = math.log(float(np.finfo(dtype).smallest_subnormal)) - math.log(2)
    tol = st.BISECT_RTOL * abs(row["critical_value"]) + _spacing(theory, dtype)
    assert abs(row["critical_value"] - theory) <= tol, (row["critical_value"], theory)


def test_max_shifted_never_breaks_and_sums_to_one(tables):
    assert (
        len(tables["sweep"]) == 4 * 3 * 4 * 15
    )  # cases x dtypes x formulas x points: no cell lost
    shifted = sf.select(tables["sweep"], formula="max-shifted", representable=True)
    assert len(shifted) > 100
    assert (shifted["nan_fraction"] == 0).all() and (shifted["inf_fraction"] == 0).all()
    assert (shifted["broken_fraction"] == 0).all()
    assert shifted["max_sum_error_ulps"].max() <= 4  # |sum p - 1| within a few eps
    th = sf.select(tables["thresholds"], formula="max-shifted")
    assert not th["fails_in_range"].any()
    # ... while the naive form does break, on the same logits
    naive = sf.select(tables["sweep"], formula="naive", representable=True)
    assert (naive["nan_fraction"] > 0).any()


def test_float64_error_against_mpmath_is_a_few_ulp_where_nothing_overflows(tables):
    sweep = sf.select(tables["sweep"], dtype="float64", representable=True)
    modest = sweep[(sweep["scale"] <= 1) & sweep["formula"].isin(["naive", "max-shifted"])]
    assert len(modest) and modest["max_ulp_error"].max() <= 4
    # at any scale the max-shifted error stays at the condition 1 + max|x_i - max x|
    shifted = sweep[sweep["formula"] == "max-shifted"]
    assert (shifted["max_ulp_error"] <= 4 * shifted["condition"]).all()


def test_log_softmax_error_of_p_is_comparable_with_the_probability_formulas(tables):
    """Log-softmax's answer for p, exp(log p), is as accurate as exp(x - logsumexp(x)) (the same
    exponent, one rounding less), even where its error in ulps of log p is huge (near log p = 0
    one ulp of log p is ~1e-16): the figure draws the former, so the most accurate formula no
    longer looks the worst."""
    sweep = sf.select(tables["sweep"], representable=True).set_index(["case", "dtype", "scale"])
    log = sweep[sweep["formula"] == "log-softmax"]
    exp_lse = sweep[sweep["formula"] == "exp-logsumexp"]
    assert (log["max_prob_ulp_error"] <= 1.05 * exp_lse["max_ulp_error"] + 1).all()
    assert log["max_ulp_error"].max() > 1e6  # ... while its ulps of log p reach far beyond
    shifted = sweep[sweep["formula"] == "max-shifted"]
    assert (shifted["max_prob_ulp_error"] == shifted["max_ulp_error"]).all()


def test_reference_matches_an_independent_mpmath_computation():
    x = np.array([[1000.0, 999.5, -3.0, 0.25]])
    ref = sm.exact_reference(x)
    with mpmath.workdps(60):
        e = [mpmath.exp(mpmath.mpf(v) - 1000) for v in x[0]]
        p = [v / mpmath.fsum(e) for v in e]
        for k in range(4):
            got = mpmath.mpf(ref.p_hi[0, k]) + mpmath.mpf(ref.p_lo[0, k])  # double-double
            if (
                p[k] < mpmath.mpf(2) ** -1075
            ):  # below float64's range: stored as 0, log p still exact
                assert got == 0
            else:
                assert abs(got - p[k]) <= abs(p[k]) * 1e-30
            assert ref.logp_hi[0, k] == float(mpmath.log(p[k]))


def test_errors_count_units_in_the_last_place():
    x = np.array([[0.0, 1.0, 2.0, -200.0]], dtype=np.float32)
    ref = sm.exact_reference(x)
    exact = ref.p_hi.astype(np.float32)  # correctly rounded: at most half an ulp off
    _, ulp, rel = sm.errors(exact, ref.p_hi, ref.p_lo)
    assert ulp.max() <= 0.5
    assert np.isnan(rel[0, 3])  # exp(-202) is no normal float32: no relative error there
    off = exact.copy()
    for _ in range(3):
        off[0, 2] = np.nextafter(off[0, 2], np.float32(2))
    off[0, 0] = np.nan
    off[0, 1] = np.inf
    _, ulp, rel = sm.errors(off, ref.p_hi, ref.p_lo)
    assert 2.5 <= ulp[0, 2] <= 3.5
    assert 2.5 * 2**-24 <= rel[0, 2] <= 3.5 * 2**-23
    assert ulp[0, 0] == np.inf and ulp[0, 1] == np.inf


def test_no_warning_escapes():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compute(Config(points=6, rows=2, classes=4, scale_max=1e5), RunContext())
    assert [str(w.message) for w in caught] == []


def test_course_claims_have_verdicts_that_follow_the_data(tables):
    breaks = sf.breaks_finding(tables)
    argmax = sf.argmax_finding(tables)
    assert breaks.verdict == "supported" and "88.72284" in breaks.text
    assert argmax.verdict == "supported"
    # perturbed data flips the verdicts
    th = tables["thresholds"].copy()
    th.loc[th["formula"] == "naive", "matches_theory"] = False
    assert sf.breaks_finding({**tables, "thresholds": th}).verdict != "supported"
    # float rounding of the outputs does not decide 1.4(a) (softmax keeps the argmax exactly):
    # a tie made by rounding is reported, the verdict stays; exact probabilities decide it
    sweep = tables["sweep"].copy()
    sweep.loc[sweep["case"] == "temperature", "argmax_agreement"] = 0.75
    rounded = sf.argmax_finding({**tables, "sweep": sweep})
    assert rounded.verdict == "supported" and "75% of rows" in rounded.text
    temp = tables["temperature"].copy()
    top = temp["is_argmax"].astype(bool)
    coldest = temp["temperature"] == temp["temperature"].min()
    temp.loc[top & coldest, "probability"] = 0.2  # the exact top probability falls as T falls
    assert sf.argmax_finding({**tables, "temperature": temp}).verdict == "refuted"


def test_every_cell_finishes_even_when_the_exact_loss_underflows_float64():
    # one row, three classes: at s = 1e5 the exact cross-entropy of the top class is ~1e-10000
    config = Config(points=3, rows=1, classes=3, cases=("random", "outlier"))
    tables = compute(config, RunContext())
    assert len(tables["sweep"]) == 2 * 3 * 4 * 3  # no cell lost
    ce = tables["cross_entropy"]
    tiny = ce["exact_mean_loss"] < np.finfo(np.float64).tiny
    assert tiny.any() and ce.loc[tiny, "rel_error"].isna().all()
    assert ce.loc[~tiny & np.isfinite(ce["mean_loss"]), "rel_error"].notna().all()


def test_temperature_tends_to_uniform_and_to_one_hot(tables):
    ev = sf.argmax_evidence(tables)
    assert abs(ev["p_top_t_max"] - ev["uniform"]) < 0.02  # T = 100: nearly uniform
    assert ev["p_top_t_min"] == 1.0 and ev["monotone"]


def test_case_draws_do_not_depend_on_the_other_cases_or_formulas(tables):
    alone = compute(
        dataclasses.replace(SMALL, cases=("outlier",), formulas=("naive",)), RunContext()
    )
    full = sf.select(tables["sweep"], case="outlier", formula="naive").reset_index(drop=True)
    pd.testing.assert_frame_equal(alone["sweep"], full)
    other = thresholds_table(dataclasses.replace(SMALL, seed=1, cases=("random",)))
    mine = sf.select(tables["thresholds"], case="random").reset_index(drop=True)
    assert not np.allclose(other["scale_first_fail"], mine["scale_first_fail"], equal_nan=True)


def test_interrupt_then_resume_gives_the_same_run_and_rebuild_the_same_bytes(tmp_path):
    from nnhw.experiments.runs import runner

    config = Config(
        points=5, rows=2, classes=4, cases=("outlier", "temperature"), dtypes=("float16", "float32")
    )
    expected = compute(config, RunContext())

    class Stopper:  # Ctrl-C after the second finished cell
        calls = 0

        def advance(self, n: int = 1) -> None:
            Stopper.calls += n
            if Stopper.calls == 2:
                raise KeyboardInterrupt

        def close(self) -> None:
            pass

    stopped = runner.execute(
        COMMAND, config, out=tmp_path / "b", argv=[], progress=lambda d, t: Stopper()
    )
    assert (stopped.status, stopped.exit_code) == ("interrupted", 130)
    done = runner.execute(COMMAND, config, out=tmp_path, argv=[], resume=stopped.rundir.path)
    assert (done.status, done.exit_code) == ("completed", 0)
    assert "float32 NaN from 88.72" in done.headline
    saved = done.rundir.read_tables()
    assert set(saved) == {"sweep", "thresholds", "cross_entropy", "temperature"} == set(expected)
    for name, df in expected.items():
        pd.testing.assert_frame_equal(saved[name], df, check_dtype=False)
    path = done.rundir.path
    before = {p.name: p.read_bytes() for p in path.glob("plots/*.png")}
    report = (path / "report.html").read_bytes()
    runner.rebuild(path)
    assert (path / "report.html").read_bytes() == report
    assert {p.name: p.read_bytes() for p in path.glob("plots/*.png")} == before
    figures = {"error_vs_scale", "fractions_outlier", "fractions_temperature", "temperature"}
    assert set(before) == {f"{n}.png" for n in figures | {"cross_entropy"}}


@pytest.mark.parametrize(
    ("kw", "option"),
    [
        ({"dtypes": ("float8",)}, "--dtypes"),
        ({"formulas": ("fast",)}, "--formulas"),
        ({"cases": ()}, "--cases"),
        ({"scale_min": 10.0, "scale_max": 10.0}, "--scale-min"),
        ({"scale_min": -1.0}, "--scale-min"),
        ({"scale_max": 1e31}, "--scale-max"),
        ({"points": 1}, "--points"),
        ({"classes": 1}, "--classes"),
        ({"rows": 0}, "--rows"),
    ],
)
def test_bad_settings_name_the_option(kw, option):
    with pytest.raises(NnhwError, match=option):
        Config(**kw)
