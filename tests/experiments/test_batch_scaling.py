"""nnhw batch-scaling: the measurement against exact identities, the fits against theory, the
training study's divergence, and the report computed from the tables."""

from __future__ import annotations

import itertools
import math
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from nnhw.core.errors import NnhwError
from nnhw.experiments.batch_scaling import compute as bs
from nnhw.experiments.batch_scaling import fits
from nnhw.experiments.batch_scaling import measure as bm
from nnhw.experiments.batch_scaling.cells import MemberSGD, cell_lr, train_cell
from nnhw.experiments.batch_scaling.config import Config, default_batch_sizes
from nnhw.experiments.batch_scaling.figures import figures
from nnhw.experiments.batch_scaling.findings import (
    CLAIM_GRADIENT,
    CLAIM_LR,
    claim_verdict,
    lr_category,
    lr_claim,
)
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
    assert len(tables["training"]) == n * 4  # batch size x (mean: 3 rules, sum: fixed)
    per_cell = tables["training_members"].groupby(["batch_size", "reduction", "lr_rule"]).size()
    assert (per_cell == config.seeds).all() and len(per_cell) == n * 4
    assert len(tables["noise_seeds"]) == 2 * config.seeds  # phase x seed
    assert list(tables["b_simple"]["phase"]) == ["init", "trained"]
    assert "failed_cells" not in tables


def test_report_findings_come_from_the_tables(small) -> None:
    config, tables = small
    rep = report(tables, config)
    direct, _ = fits.b_simple(tables, "init")
    text = " ".join(f.text for f in rep.findings)
    assert f"{direct:.3g}" in text
    assert f"{fits.slope(tables, 'init', 'sum', 'large-B'):.3g}" in text
    gradient = [f for f in rep.findings if f.claim == CLAIM_GRADIENT]
    assert gradient and gradient[0].verdict.startswith("holds only when the loss is summed")
    lr = [f for f in rep.findings if f.claim == CLAIM_LR]
    br = tables["training_breaks"]
    mean = br[br["reduction"] == "mean"].set_index("lr_rule")["close_up_to"].to_dict()
    assert len(lr) == 1 and lr[0].verdict.startswith(lr_category(mean, max(config.sizes)))
    assert "B_simple" in headline(tables) and "linear" in headline(tables)
    assert metrics(tables)["sum_fixed_diverges_from"] > 1
    assert metrics(tables)["b_simple_init_ci_low"] <= metrics(tables)["b_simple_init_estimate"]
    assert set(figures(tables, config)) == {
        "gradient_norm", "sq_norm", "lr_rules", "training_loss", "training_final"
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
    assert set(tables) == {"gradients", "noise", "noise_seeds", "b_simple", "fits", "slopes"}
    assert set(figures(tables, config)) == {"gradient_norm", "sq_norm"}
    titles = [s.title for s in report(tables, config).sections]
    assert not any(t.startswith("Training") for t in titles) and "Gradient noise model" in titles


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
        for seed in range(3):
            rows.append({"batch_size": B, "reduction": "mean", "lr_rule": "linear", "seed": seed,
                         "diverged": div, "curve_gap": gap,
                         "close": (not div) and gap <= math.log(1.5)})  # fmt: skip
    br = fits.training_breaks(pd.DataFrame(rows), 1.5).iloc[0]
    assert (br["diverges_from"], br["close_up_to"], br["breaks_at"]) == (16, 4, 8)
    assert (br["seeds_agree"], br["seed_close_low"], br["seed_close_high"]) == (3, 4, 4)
    # the gap 0.3 at B = 4 exceeds 0.75 ln 1.5 = 0.304? no (0.3 < 0.304): tight keeps 4
    assert (br["close_up_to_tight"], br["close_up_to_loose"]) == (4, 4)
    # the crossing of ln 1.5 = 0.405 between B = 4 (0.3) and 8 (0.9), on log B
    frac = (math.log(1.5) - 0.3) / 0.6
    assert br["break_estimate"] == pytest.approx(4 * 2**frac)
    assert br["break_seeds"] == 3


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


# --- 1.4(f) as asked: the learning-rate rules, on synthetic curve gaps ---------------------------

SIZES = (1, 2, 4, 8, 16, 32, 64)
TOL = math.log(1.5)


def _lr_tables(gap: dict[str, Any], seeds: int = 5) -> dict[str, pd.DataFrame]:
    """training_members / training_breaks whose curve gaps are gap[rule](B, seed)."""
    rows = []
    for rule, fn in gap.items():
        for B in SIZES:
            for seed in range(seeds):
                g = 0.0 if B == 1 else float(fn(B, seed))
                div = not math.isfinite(g)
                rows.append({"batch_size": B, "reduction": "mean", "lr_rule": rule,
                             "seed": seed, "curve_gap": g, "diverged": div,
                             "close": (not div) and g <= TOL})  # fmt: skip
    members = pd.DataFrame(rows)
    return {"training_members": members, "training_breaks": fits.training_breaks(members, 1.5)}


LR_CONFIG = SimpleNamespace(curve_factor=1.5, warmup_epochs=0.0)


def _slope(a: float) -> Any:
    return lambda B, seed: a * math.log2(B)


def test_lr_claim_flips_with_the_data() -> None:
    # linear keeps the curve up to 8 (0.36 <= ln 1.5 < 0.48), sqrt up to 4, fixed up to 2
    holds = {"fixed": _slope(0.3), "linear": _slope(0.12), "sqrt": _slope(0.2)}
    verdict, text, n = lr_claim(_lr_tables(holds), LR_CONFIG)
    assert verdict.startswith("holds only when B <= 8") and (n["seeds"], n["agree"]) == (5, 5)
    assert "with the linear rule up to B = 8 (5 of 5 seeds agree)" in text
    # the break point: where 0.12 log2 B crosses ln 1.5, B = 2^(ln 1.5 / 0.12)
    assert n["linear"]["break_estimate"] == pytest.approx(2 ** (TOL / 0.12))
    # linear at every size tried: supported
    assert lr_claim(_lr_tables({**holds, "linear": _slope(0.01)}), LR_CONFIG)[0] == "supported"
    # the square-root rule keeps it further: refuted
    assert lr_claim(_lr_tables({**holds, "sqrt": _slope(0.05)}), LR_CONFIG)[0] == "refuted"
    # a fixed rate does as well: refuted
    assert lr_claim(_lr_tables({**holds, "fixed": _slope(0.12)}), LR_CONFIG)[0] == "refuted"
    # diverging right after b_ref: refuted
    diverges = {**holds, "linear": lambda B, s: math.inf}
    assert lr_claim(_lr_tables(diverges), LR_CONFIG)[0] == "refuted"


def test_lr_claim_is_inconclusive_when_the_seeds_disagree() -> None:
    def linear(B: int, seed: int) -> float:
        # seeds 0, 1: never break (supported); 2, 3: break at once (refuted); 4: up to 8
        return {0: 0.01, 1: 0.01, 2: 0.5, 3: 0.5, 4: 0.12}[seed] * math.log2(B) + (
            0.5 if seed in (2, 3) else 0.0
        )

    tables = _lr_tables({"fixed": _slope(0.3), "linear": linear, "sqrt": _slope(0.2)})
    verdict, _, n = lr_claim(tables, LR_CONFIG)
    assert n["category"] == "holds only when" and n["agree"] == 1
    assert verdict.startswith("inconclusive: only 1 of 5 seeds")


def test_lr_claim_against_the_noise_scale_prediction() -> None:
    tables = _lr_tables({"fixed": _slope(0.3), "linear": _slope(0.12), "sqrt": _slope(0.2)})
    near = pd.DataFrame([{"phase": "init", "seeds": 5, "estimate": 6.0, "ci_low": 4.0,
                          "ci_high": 9.0}])  # fmt: skip
    _, text, n = lr_claim({**tables, "b_simple": near}, LR_CONFIG)
    assert n["prediction"]["init"]["break"] == (8.0, 6.0, 11.0)  # B* = 2 + B_noise
    assert "consistent with the noise-scale prediction" in text
    far = near.assign(estimate=300.0, ci_low=200.0, ci_high=400.0)
    _, text, _ = lr_claim({**tables, "b_simple": far}, LR_CONFIG)
    assert "below the predicted range" in text and "not consistent" in text


def test_member_gaps_compare_each_seed_with_its_own_reference() -> None:
    rows, members = [], []
    for seed, factor in ((0, 1.2), (1, 3.0)):
        for epoch in range(4):
            ref = 1.0 / (1 + epoch + seed)
            rows.append({"batch_size": 1, "reduction": "mean", "lr_rule": "fixed", "seed": seed,
                         "epoch": epoch, "train_loss": ref})  # fmt: skip
            rows.append({"batch_size": 4, "reduction": "mean", "lr_rule": "linear", "seed": seed,
                         "epoch": epoch, "train_loss": ref * factor})  # fmt: skip
        for B, rule in ((1, "fixed"), (4, "linear")):
            members.append({"batch_size": B, "reduction": "mean", "lr_rule": rule, "seed": seed,
                            "diverged": False, "nonfinite_epoch": -1})  # fmt: skip
    gaps = fits.member_gaps(pd.DataFrame(rows), pd.DataFrame(members), 1.5)
    g = gaps.set_index(["batch_size", "seed"])
    assert g.loc[(4, 0), "curve_gap"] == pytest.approx(math.log(1.2))
    assert g.loc[(4, 1), "curve_gap"] == pytest.approx(math.log(3.0))
    assert bool(g.loc[(4, 0), "close"]) and not bool(g.loc[(4, 1), "close"])
    assert (g.loc[1, "curve_gap"] == 0).all()


def test_b_simple_interval_adds_seeds_and_data() -> None:
    values = [2.0, 4.0, 8.0, 4.0, 4.0]
    seeds = pd.DataFrame({"phase": "init", "seed": range(5), "b_simple_direct": values,
                          "log_b_simple_sd": 0.0})  # fmt: skip
    row = fits.b_simple_table(seeds).iloc[0]
    logs = np.log(values)
    half = 2.776 * logs.std(ddof=1) / math.sqrt(5)
    assert row["estimate"] == pytest.approx(math.exp(logs.mean()))
    assert row["ci_low"] == pytest.approx(math.exp(logs.mean() - half), rel=1e-3)
    assert (row["seed_min"], row["seed_max"]) == (2.0, 8.0)
    wider = fits.b_simple_table(seeds.assign(log_b_simple_sd=0.5)).iloc[0]
    assert wider["ci_high"] > row["ci_high"] and wider["ci_low"] < row["ci_low"]
    one = fits.b_simple_table(seeds.iloc[:1].assign(log_b_simple_sd=0.1)).iloc[0]
    assert one["ci_high"] == pytest.approx(2.0 * math.exp(1.96 * 0.1))


def test_bootstrap_b_simple_is_noise_statistics_of_a_resample(problem: bm.Problem) -> None:
    G = bm.per_example_gradients(problem.net, problem.X, problem.Y, problem.loss)
    boot = bm.bootstrap_b_simple(G, 3, np.random.default_rng(5))
    counts = np.random.default_rng(5).multinomial(len(G), np.full(len(G), 1 / len(G)), size=3)
    for r in range(3):
        resample = np.repeat(G, counts[r], axis=0)
        assert boot[r] == pytest.approx(bm.noise_statistics(resample)["b_simple_direct"])


def test_learning_rate_rules_and_warmup() -> None:
    assert cell_lr(0.01, "sqrt", 16, 1) == pytest.approx(0.04)
    assert cell_lr(0.01, "linear", 16, 2) == pytest.approx(0.08)
    assert cell_lr(0.01, "fixed", 16, 1) == 0.01
    net = bm.make_net("regression", 1, 1, [np.random.default_rng(0)] * 2)
    opt = MemberSGD(np.full(net.flat.size, 0.01), np.full(net.flat.size, 0.05), 4)
    net.grad_flat[:] = 1.0
    steps = []
    for _ in range(6):
        before = net.flat.copy()
        opt.step(net)
        steps.append(float((before - net.flat)[0]))
    np.testing.assert_allclose(steps, [0.01, 0.02, 0.03, 0.04, 0.05, 0.05])
    params = {"task": "regression", "n_samples": 32, "root_seed": 0, "loss": "mse", "seeds": 2,
              "epochs": 2, "lr": 0.01, "b_ref": 1, "batch_size": 8, "reduction": "mean",
              "lr_rules": ["fixed", "linear"]}  # fmt: skip
    plain = train_cell(params, np.random.SeedSequence(0))
    warm = train_cell({**params, "warmup_epochs": 1.0}, np.random.SeedSequence(0))
    m = warm["training_members"].set_index(["lr_rule", "seed"])
    assert (m.loc["fixed", "warmup_epochs"] == 0).all() and (
        m.loc["linear", "warmup_epochs"] == 1
    ).all()
    c0, c1 = plain["training_curves"], warm["training_curves"]
    fixed, linear = c0["lr_rule"] == "fixed", c0["lr_rule"] == "linear"
    np.testing.assert_array_equal(c0.loc[fixed, "train_loss"], c1.loc[fixed, "train_loss"])
    late = linear & (c0["epoch"] > 0)
    assert not np.allclose(c0.loc[late, "train_loss"], c1.loc[late, "train_loss"])


def test_one_ensemble_of_rules_equals_one_rule_at_a_time() -> None:
    params = {"task": "regression", "n_samples": 32, "root_seed": 1, "loss": "mse",
              "seeds": 2, "epochs": 2, "lr": 0.01, "b_ref": 1, "batch_size": 4,
              "reduction": "mean"}  # fmt: skip
    both = train_cell({**params, "lr_rules": ["fixed", "sqrt"]}, np.random.SeedSequence(0))
    alone = train_cell({**params, "lr_rules": ["sqrt"]}, np.random.SeedSequence(0))
    c = both["training_curves"]
    sqrt = c[c["lr_rule"] == "sqrt"]["train_loss"].to_numpy()
    np.testing.assert_allclose(sqrt, alone["training_curves"]["train_loss"], rtol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"warmup_epochs": -1.0}, "--warmup-epochs must be >= 0"),
        ({"warmup_epochs": 30.0, "train_epochs": 20}, "--warmup-epochs: 30 is longer"),
    ],
)
def test_bad_warmup_names_the_option(kwargs: dict, message: str) -> None:
    with pytest.raises(NnhwError, match=message):
        Config(**kwargs)
