"""nnhw batch-scaling: the measurement against exact identities, the fits against theory, the
training study's divergence, and the report computed from the tables."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from nnhw.core.errors import NnhwError
from nnhw.experiments.batch_scaling import compute as bs
from nnhw.experiments.batch_scaling import fits
from nnhw.experiments.batch_scaling import measure as bm
from nnhw.experiments.batch_scaling.config import Config, default_batch_sizes
from nnhw.experiments.batch_scaling.figures import figures
from nnhw.experiments.batch_scaling.findings import claim_verdict
from nnhw.experiments.batch_scaling.report import headline, metrics, report
from nnhw.experiments.runs.context import Interrupted, RunContext

SMALL = {"samples": 64, "minibatches": 500, "pretrain_epochs": 5, "train_epochs": 5, "seeds": 2}


@pytest.fixture(scope="module")
def small() -> tuple[Config, dict[str, pd.DataFrame]]:
    config = Config(**SMALL)
    return config, bs.compute(config, RunContext())


@pytest.fixture(scope="module")
def problem() -> bm.Problem:
    return bm.build_problem("regression", 12, seed=3)


# --- the measurement ---------------------------------------------------------------------------


def test_sum_gradient_is_b_times_mean_gradient(problem: bm.Problem) -> None:
    """MSE with one output: sum reduction = B x mean reduction, for every minibatch, exactly up to
    rounding (the loss gradient is scaled by 1/B and back-propagation is linear in it)."""
    rng = np.random.default_rng(0)
    for B in (1, 3, 12):
        rows = bm.sample_minibatches(rng, problem.n_samples, B, 7)
        g_sum = bm.minibatch_gradients(problem.net, problem.X, problem.Y, problem.loss, rows, "sum")
        g_mean = bm.minibatch_gradients(
            problem.net, problem.X, problem.Y, problem.loss, rows, "mean"
        )
        np.testing.assert_allclose(g_sum, B * g_mean, rtol=1e-13, atol=1e-15)


def test_minibatch_gradient_is_mean_of_per_example_gradients(problem: bm.Problem) -> None:
    """Two routes to a minibatch gradient: one forward/backward pass over the batch (ensemble
    axis), and the average of the batch-of-one passes."""
    G = bm.per_example_gradients(problem.net, problem.X, problem.Y, problem.loss)
    rows = bm.sample_minibatches(np.random.default_rng(1), problem.n_samples, 5, 4)
    g = bm.minibatch_gradients(problem.net, problem.X, problem.Y, problem.loss, rows, "mean")
    np.testing.assert_allclose(g, G[rows].mean(axis=1), rtol=1e-12, atol=1e-14)
    sq = bm.minibatch_sq_norms(problem.net, problem.X, problem.Y, problem.loss, 5, 4,
                               np.random.default_rng(1))  # fmt: skip
    np.testing.assert_allclose(sq["mean"], np.einsum("mp,mp->m", g, g), rtol=1e-12)


def test_noise_model_with_correction_is_exact_over_all_subsets(problem: bm.Problem) -> None:
    """Averaging |g_B|^2 over every B-subset of N examples gives exactly
    |G|^2 + tr(Sigma)/B (N - B)/(N - 1): the corrected model is an identity, not an estimate."""
    G = bm.per_example_gradients(problem.net, problem.X, problem.Y, problem.loss)[:8]
    stats = bm.noise_statistics(G)
    for B in (1, 2, 3, 5, 8):
        subsets = np.array(list(itertools.combinations(range(8), B)))
        g = G[subsets].mean(axis=1)
        measured = np.einsum("mp,mp->m", g, g).mean()
        model = stats["grad_sq_norm"] + stats["trace_sigma"] / B * (8 - B) / 7
        assert measured == pytest.approx(model, rel=1e-12)


def test_minibatches_hold_distinct_examples() -> None:
    rows = bm.sample_minibatches(np.random.default_rng(0), 20, 7, 50)
    assert rows.shape == (50, 7)
    assert all(len(set(r)) == 7 for r in rows.tolist())
    assert rows.min() >= 0 and rows.max() < 20


def test_chunked_passes_equal_one_pass(problem: bm.Problem, monkeypatch: pytest.MonkeyPatch
                                       ) -> None:  # fmt: skip
    args = (problem.net, problem.X, problem.Y, problem.loss, 4, 9)
    whole = bm.minibatch_sq_norms(*args, np.random.default_rng(2))
    monkeypatch.setattr(bm, "CHUNK_EXAMPLES", 8)  # two minibatches per pass
    chunked = bm.minibatch_sq_norms(*args, np.random.default_rng(2))
    for r in ("sum", "mean"):
        np.testing.assert_allclose(chunked[r], whole[r], rtol=1e-13)


# --- the study on a small problem (issue 8's tests) --------------------------------------------


def test_summed_gradient_slope_at_large_batch_is_one(small) -> None:
    _, tables = small
    slope = fits.slope(tables, "init", "sum", "large-B")
    assert abs(slope - 1) <= 0.1, tables["slopes"]
    # ... the mean's does not grow, and the slopes match the noise model's prediction
    assert abs(fits.slope(tables, "init", "mean", "large-B")) <= 0.1
    s = tables["slopes"].dropna()
    np.testing.assert_allclose(s["slope"], s["predicted_slope"], atol=0.1)


def test_mean_fit_r2_and_b_simple_two_ways(small) -> None:
    _, tables = small
    f = tables["fits"].set_index(["phase", "model"])
    assert f.loc[("init", "corrected"), "r2"] >= 0.98
    direct, fitted = fits.b_simple(tables, "init")
    assert fitted == pytest.approx(direct, rel=0.25)
    noise = tables["noise"]
    np.testing.assert_allclose(noise["full_batch_sq_norm"], noise["grad_sq_norm"], rtol=1e-12)


def test_fixed_lr_sum_diverges_at_largest_batch_while_mean_does_not(small) -> None:
    config, tables = small
    t = tables["training"].set_index(["batch_size", "reduction", "lr_rule"])
    largest = max(config.sizes)
    assert bool(t.loc[(largest, "sum", "fixed"), "diverged"])
    assert not bool(t.loc[(largest, "mean", "fixed"), "diverged"])
    assert math.isfinite(t.loc[(largest, "mean", "fixed"), "final_loss"])
    br = tables["training_breaks"].set_index(["reduction", "lr_rule"])
    assert br.loc[("mean", "fixed"), "diverges_from"] == -1
    assert 1 < br.loc[("sum", "fixed"), "diverges_from"] <= largest


def test_sum_with_fixed_lr_is_the_linear_rule(small) -> None:
    """lr * g_sum = (lr B) g_mean: with common random numbers the two cells follow one path."""
    _, tables = small
    c = tables["training_curves"]
    for B in (2, 4):
        a = c[(c.batch_size == B) & (c.reduction == "sum") & (c.lr_rule == "fixed")]
        b = c[(c.batch_size == B) & (c.reduction == "mean") & (c.lr_rule == "linear")]
        np.testing.assert_allclose(a["train_loss"].to_numpy(), b["train_loss"].to_numpy(),
                                   rtol=1e-9)  # fmt: skip


def test_tables_have_documented_shape(small) -> None:
    config, tables = small
    n = len(config.sizes)
    assert config.sizes == (1, 2, 4, 8, 16, 32, 64)
    assert len(tables["gradients"]) == 2 * 2 * n  # phase x reduction x batch size
    assert set(tables["fits"]["model"]) == set(fits.MODELS)
    assert len(tables["training"]) == n * 2 * 2
    assert (tables["training_members"].groupby("cell").size() == config.seeds).all()
    assert "failed_cells" not in tables


def test_report_findings_come_from_the_tables(small) -> None:
    config, tables = small
    rep = report(tables, config)
    direct, _ = fits.b_simple(tables, "init")
    text = " ".join(f.text for f in rep.findings)
    assert f"{direct:.3g}" in text
    assert f"{fits.slope(tables, 'init', 'sum', 'large-B'):.3g}" in text
    claims = [f for f in rep.findings if f.claim]
    assert claims and claims[0].verdict.startswith("holds only when the loss is summed")
    assert "B_simple" in headline(tables)
    assert metrics(tables)["sum_fixed_diverges_from"] > 1
    assert set(figures(tables, config)) == {
        "gradient_norm", "sq_norm", "training_loss", "training_final"
    }  # fmt: skip


def test_verdict_flips_when_the_slope_is_not_proportional(small) -> None:
    config, tables = small
    perturbed = dict(tables)
    s = tables["slopes"].copy()
    s.loc[(s.phase == "init") & (s.reduction == "sum") & (s.range == "large-B"), "slope"] = 0.55
    perturbed["slopes"] = s
    assert claim_verdict(perturbed, "init", config.regime_factor)[0] == "refuted"
    assert claim_verdict(tables, "init", config.regime_factor)[0].startswith("holds only when")


def test_ctrl_c_during_training_keeps_the_gradient_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(params: dict, seed: np.random.SeedSequence) -> dict:
        raise KeyboardInterrupt

    monkeypatch.setattr(bs, "train_cell", interrupted)
    config = Config(samples=16, minibatches=10, pretrain_epochs=0)
    with pytest.raises(Interrupted) as exc:
        bs.compute(config, RunContext())
    tables = exc.value.tables
    assert set(tables) == {"gradients", "noise", "fits", "slopes"}
    assert set(figures(tables, config)) == {"gradient_norm", "sq_norm"}
    titles = [s.title for s in report(tables, config).sections]
    assert "Training with growing batches" not in titles and "Gradient noise model" in titles


# --- fits on exact synthetic data --------------------------------------------------------------


def _synthetic(g2: float, trace: float, n: int, sizes: list[int]) -> tuple[pd.DataFrame, ...]:
    B = np.array(sizes, float)
    y = g2 + trace * fits.regressor(B, n)
    rows = [{"phase": "p", "reduction": "mean", "batch_size": int(b), "minibatches": 100,
             "norm_mean": math.sqrt(v), "norm_std": 0.1, "sq_norm_mean": v,
             "sq_norm_std": 0.1 * v} for b, v in zip(B, y)]  # fmt: skip
    rows += [dict(r, reduction="sum", norm_mean=r["norm_mean"] * r["batch_size"]) for r in rows]
    noise = pd.DataFrame([{"phase": "p", "n_samples": n, "grad_sq_norm": g2, "trace_sigma": trace,
                           "b_simple_direct": trace / g2}])  # fmt: skip
    return pd.DataFrame(rows), noise


def test_noise_fit_recovers_exact_parameters_and_the_uncorrected_bias() -> None:
    grads, noise = _synthetic(0.5, 10.0, 100, [1, 2, 4, 8, 16, 32, 64, 100])
    f = fits.noise_fit(grads, noise, "p")
    assert f["grad_sq_norm_fit"] == pytest.approx(0.5, rel=1e-9)
    assert f["b_simple_fit"] == pytest.approx(20.0, rel=1e-9)
    assert f["r2"] == pytest.approx(1.0)
    u = fits.noise_fit(grads, noise, "p", "uncorrected")
    assert u["r2"] == pytest.approx(1.0)  # same curve ...
    assert u["b_simple_fit"] == pytest.approx(20 * 100 / (99 - 20), rel=1e-9)  # ... biased B_simple


def test_slopes_follow_the_regimes() -> None:
    sizes = [2**i for i in range(15)]
    grads, noise = _synthetic(1.0, 64.0, 2**14, sizes)  # B_simple = 64
    s = fits.slopes_table(grads, noise, regime_factor=4).set_index(["reduction", "range"])
    assert s.loc[("sum", "small-B"), "b_max"] == 16 and s.loc[("sum", "large-B"), "b_min"] == 256
    assert s.loc[("sum", "small-B"), "slope"] == pytest.approx(0.5, abs=0.1)
    assert s.loc[("sum", "large-B"), "slope"] == pytest.approx(1.0, abs=0.05)
    assert s.loc[("mean", "small-B"), "slope"] == pytest.approx(-0.5, abs=0.1)


def test_training_breaks_criteria() -> None:
    rows = []
    for B, gap, div in [(1, 0.0, False), (2, 0.1, False), (4, 0.3, False), (8, 0.9, False),
                        (16, np.inf, True)]:  # fmt: skip
        rows.append({"batch_size": B, "reduction": "mean", "lr_rule": "linear", "diverged": div,
                     "close": (not div) and gap <= math.log(1.5)})  # fmt: skip
    br = fits.training_breaks(pd.DataFrame(rows)).iloc[0]
    assert (br["diverges_from"], br["close_up_to"], br["breaks_at"]) == (16, 4, 8)


# --- configuration -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch_sizes": (0, 2, 4)}, "--batch-sizes: every batch size must be an integer >= 1"),
        ({"samples": 16, "batch_sizes": (1, 2, 32)}, "--batch-sizes: 32 is larger than --samples"),
        ({"task": "nope"}, "--task"),
        ({"minibatches": 3}, "--minibatches must be an integer >= 10, got 3"),
        ({"lr": -1.0}, "--lr must be > 0"),
        ({"batch_sizes": (1, 2)}, "at least 3"),
        ({"curve_factor": 1.0}, "--curve-factor"),
    ],
)
def test_bad_config_names_the_option(kwargs: dict, message: str) -> None:
    with pytest.raises(NnhwError, match=message):
        Config(**kwargs)


def test_default_batch_sizes() -> None:
    assert default_batch_sizes(8) == (1, 2, 4, 8)
    assert default_batch_sizes(12) == (1, 2, 4, 8, 12)
    assert Config(samples=12, batch_sizes=(12, 3, 1, 3)).sizes == (1, 3, 12)
