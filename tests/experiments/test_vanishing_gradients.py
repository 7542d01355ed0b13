"""nnhw vanishing-gradients: the variance theory against Monte Carlo and closed forms, the
measured per-layer factors against the theory (issue 6's bounds), the dead-ReLU formula within
Monte-Carlo error, the tables' documented columns, and findings computed from the tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from nnhw.core.activations import get_activation
from nnhw.core.errors import NnhwError
from nnhw.experiments.runs.context import Interrupted, RunContext
from nnhw.experiments.runs.studies import load
from nnhw.experiments.vanishing_gradients import cells
from nnhw.experiments.vanishing_gradients import compute as vg
from nnhw.experiments.vanishing_gradients import findings as vf
from nnhw.experiments.vanishing_gradients import fits as gf
from nnhw.experiments.vanishing_gradients.config import Config
from nnhw.experiments.vanishing_gradients.findings import findings
from nnhw.experiments.vanishing_gradients.report import headline, metrics
from nnhw.experiments.vanishing_gradients.theory import (
    dead_relu_probability,
    gaussian_moments,
    geometric_factor,
    propagate,
    weight_variance,
)

TINY = {
    "depths": (1, 4),
    "width": 32,
    "activations": ("relu", "sigmoid"),
    "inits": ("xavier-normal", "he-normal"),
    "seeds": 3,
    "batch_size": 32,
    "batches": 2,
    "epochs": 2,
    "widths": (1, 3),
    "samples": 3000,
}


@pytest.fixture(scope="module")
def tiny() -> tuple[Config, dict[str, pd.DataFrame]]:
    config = Config(**TINY)
    return config, vg.compute(config, RunContext())


# --- theory ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "leaky-relu"])
@pytest.mark.parametrize("q", [0.3, 1.0, 4.0])
def test_gaussian_moments_match_monte_carlo(name: str, q: float) -> None:
    """Quadrature / closed forms against 400k samples of z ~ N(0, q): within 5 standard errors."""
    z = np.sqrt(q) * np.random.default_rng(7).standard_normal(400_000)
    act = get_activation(name)
    a = act.forward(z)
    d = act.derivative(z, a)
    m = gaussian_moments(name, q)
    for got, sample in ((m.mean, a), (m.second, a * a), (m.slope2, d * d)):
        se = sample.std() / math.sqrt(sample.size)
        assert abs(got - sample.mean()) <= 5 * se + 1e-12, (name, q, got, sample.mean())


def test_textbook_factors() -> None:
    """Sigmoid + Xavier: the signal shrinks by about 1/4 per layer (f' <= 1/4, E[f'^2] a little
    under 1/16); ReLU + He keeps it exactly; ReLU + Xavier halves the activations' variance."""
    sig = propagate("sigmoid", "xavier-normal", 10, 64, 64)
    assert 0.2 < geometric_factor(sig.signal) < 0.25
    relu_he = propagate("relu", "he-normal", 10, 64, 64)
    np.testing.assert_allclose(relu_he.signal, 1.0, rtol=1e-12)
    relu_x = propagate("relu", "xavier-normal", 10, 64, 64)
    np.testing.assert_allclose(relu_x.preact_var[1:] / relu_x.preact_var[:-1], 0.5, rtol=1e-12)
    assert geometric_factor(relu_x.signal) == pytest.approx(math.sqrt(0.5), rel=1e-12)
    assert 64 * weight_variance("standard", 64, 64) == pytest.approx(1 / 3)


def test_dead_relu_formula() -> None:
    assert dead_relu_probability(1, 1) == pytest.approx(0.5)
    assert dead_relu_probability(2, 3) == pytest.approx(1 - 0.75**3)
    assert dead_relu_probability(60, 16) == pytest.approx(16 * 2.0**-60, rel=1e-6)


# --- measurement against theory (issue 6) -------------------------------------------------------


def test_sigmoid_xavier_vanishes_relu_he_does_not(tiny) -> None:
    _, t = tiny
    s = t["summary"]
    sig = gf.factor(s, "sigmoid", "xavier-normal", 4)
    relu = gf.factor(s, "relu", "he-normal", 4)
    assert sig["fitted_factor"] < 0.35
    assert 0.7 <= relu["fitted_factor"] <= 1.4
    # and both agree with variance propagation
    assert sig["fitted_factor"] == pytest.approx(sig["predicted_factor"], rel=0.15)
    assert relu["fitted_factor"] == pytest.approx(relu["predicted_factor"], rel=0.2)
    assert sig["first_last_ratio"] == pytest.approx(sig["fitted_factor"] ** 3, rel=1e-9)


def test_dead_relu_matches_formula_within_monte_carlo_error(tiny) -> None:
    """Bound: 4 binomial standard errors sqrt(p (1 - p) / samples) at the formula's p (each row
    is `samples` independent nets, one input each)."""
    config, t = tiny
    d = t["dead_relu"]
    assert sorted(zip(d["width"], d["depth"])) == [(w, D) for w in (1, 3) for D in (1, 4)]
    p = 1 - (1 - 2.0 ** -d["width"]) ** d["depth"]
    bound = 4 * np.sqrt(p * (1 - p) / config.samples)
    assert np.all(np.abs(d["dead"] / config.samples - p) <= bound), d


def test_tables_have_documented_columns(tiny) -> None:
    config, t = tiny
    assert list(t) == list(vg.TABLES)
    assert list(t["fixed_points"].columns) == gf.FIXED_POINT_COLUMNS
    assert list(t["critical"].columns) == gf.CRITICAL_COLUMNS
    assert list(t["factor_curve"].columns) == gf.CURVE_COLUMNS
    assert list(t["selfnorm"].columns) == [*cells.SELFNORM_COLUMNS, "cell"]
    assert list(t["layers"].columns) == [*cells.LAYER_COLUMNS, "cell"]
    assert list(t["training"].columns) == [*cells.TRAINING_COLUMNS, "cell"]
    assert list(t["dead_relu"].columns) == [*cells.DEAD_COLUMNS, "cell"]
    assert list(t["theory"].columns) == gf.THEORY_COLUMNS
    assert list(t["summary"].columns) == gf.SUMMARY_COLUMNS
    cases = len(config.activations) * len(config.inits)
    layers = t["layers"]
    assert len(layers) == cases * sum(d + 1 for d in config.depths) * config.seeds
    assert len(t["training"]) == len(layers) * (config.epochs + 1)
    assert len(t["summary"]) == cases * 3  # depth 4 only (depth 1 has no ratio) x 3 quantities
    assert np.all(np.isfinite(layers[["weight_grad_norm", "signal_norm", "act_std"]]))


def test_seeds_are_stable_members() -> None:
    """Member k of a cell is the same net whatever the number of seeds (child k + 1 of the cell's
    SeedSequence), and the same cell gives the same bits twice."""
    params = {"study": "gradients", "activation": "tanh", "init": "standard", "depth": 3,
              "width": 8, "batch_size": 16, "batches": 2, "epochs": 1, "lr": 0.01}  # fmt: skip
    seed = np.random.SeedSequence(5, spawn_key=(2,))
    one = cells.run_cell({**params, "seeds": 1}, seed)["layers"]
    two = cells.run_cell({**params, "seeds": 2}, seed)["layers"]
    again = cells.run_cell({**params, "seeds": 2}, seed)["layers"]
    pd.testing.assert_frame_equal(one, two[two["seed"] == 0].reset_index(drop=True))
    pd.testing.assert_frame_equal(two, again)
    assert not np.allclose(
        two[two["seed"] == 0]["signal_norm"], two[two["seed"] == 1]["signal_norm"]
    )


# --- fitted factors and verdicts ---------------------------------------------------------------


def _synthetic(factors: dict[tuple[str, str], float], depth: int = 5) -> pd.DataFrame:
    rows = []
    for (act, init), f in factors.items():
        for seed in range(2):
            for layer in range(1, depth + 2):
                v = f ** (depth - layer)
                rows.append((act, init, depth, seed, layer, "hidden", v, v, 1.0, f**layer))
    return pd.DataFrame(rows, columns=cells.LAYER_COLUMNS)


def test_fitted_factor_is_geometric_mean_of_ratios() -> None:
    layers = _synthetic({("sigmoid", "xavier-normal"): 0.25})
    fitted = gf.fitted_factors(layers).set_index("quantity")
    assert fitted.loc["signal", "fitted_factor"] == pytest.approx(0.25, rel=1e-12)
    assert fitted.loc["signal", "first_last_ratio"] == pytest.approx(0.25**4, rel=1e-12)
    assert fitted.loc["act_std", "fitted_factor"] == pytest.approx(0.25, rel=1e-12)  # forward
    assert fitted.loc["act_std", "direction"] == "forward"


def test_claim_verdict_follows_the_data() -> None:
    theory = gf.theory_table(("sigmoid", "relu"), ("xavier-normal", "he-normal"), (5,), 16)
    good = _synthetic({("sigmoid", "xavier-normal"): 0.25, ("sigmoid", "he-normal"): 0.3,
                       ("relu", "xavier-normal"): 0.95, ("relu", "he-normal"): 1.0})  # fmt: skip
    summary = gf.summarize(good, theory)
    verdict, inits = gf.claim_verdict(summary, ("sigmoid",), ("relu",))
    assert verdict == "supported" and set(inits) == {"xavier-normal", "he-normal"}
    bad_relu = good.copy()
    mask = (bad_relu["activation"] == "relu") & (bad_relu["init"] == "xavier-normal")
    bad_relu.loc[mask, "signal_norm"] = 0.5 ** (5 - bad_relu.loc[mask, "layer"])
    verdict, inits = gf.claim_verdict(gf.summarize(bad_relu, theory), ("sigmoid",), ("relu",))
    assert verdict == "holds only when the init is he-normal" and inits == ("he-normal",)
    flat = good.assign(signal_norm=1.0)
    assert gf.claim_verdict(gf.summarize(flat, theory), ("sigmoid",), ("relu",))[0] == "refuted"


# --- config, report ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("depths", (0, 2), "--depths"),
        ("depths", (), "--depths"),
        ("width", 0, "--width"),
        ("inits", ("xavier",), "--inits"),
        ("inits", ("zero",), "--inits"),
        ("activations", ("swish",), "--activations"),
        ("lr", 0.0, "--lr"),
        ("selfnorm_depth", 0, "--selfnorm-depth"),
        ("lr", float("nan"), "--lr"),
        ("widths", (2, 2), "--widths"),
        ("samples", 0, "--samples"),
        ("seed", -1, "--seed"),
    ],
)
def test_config_rejects_bad_values(field: str, value: object, message: str) -> None:
    with pytest.raises(NnhwError, match=message):
        Config(**{field: value})


def test_config_normalises_names() -> None:
    c = Config(activations=["ReLU", "Sigmoid"], inits=("He-Normal",), depths=[2, 3])
    assert c.activations == ("relu", "sigmoid") and c.inits == ("he-normal",)
    assert c.depths == (2, 3)


def test_findings_name_numbers_from_the_tables(tiny) -> None:
    config, t = tiny
    found = findings(t, config)
    claim = next(f for f in found if f.claim and f.claim.startswith("1.3(b)"))
    v = t["vanishing"].set_index(["activation", "init"])
    for key in [("sigmoid", "xavier-normal"), ("relu", "he-normal")]:
        assert f"{v.loc[key, 'fitted_factor']:.3g}" in claim.text
    # decided per init on each case's CI over seeds (the pooled factor alone has no interval)
    decisions = vf.case_decisions(t)
    expected = vf.claim_from_decisions(decisions, ("sigmoid",), ("relu",))[0]
    assert claim.verdict == expected and "95% CI" in claim.text
    assert set(decisions["outcome"]) <= {"vanishes", "flows", "inconclusive"}
    dead = next(f for f in found if f.claim and "2^-width" in f.claim)
    assert dead.verdict == "supported"
    assert f"{t['dead_relu']['z_score'].abs().max():.3g}" in dead.text
    # perturb the data: the finding and headline change with it
    s2 = t["summary"].copy()
    s2.loc[s2["activation"] == "sigmoid", "fitted_factor"] = 1.0
    ly = t["layers"].copy()
    ly.loc[ly["activation"] == "sigmoid", "signal_norm"] = 1.0  # every seed's factor is 1
    t2 = {**t, "summary": s2, "vanishing": gf.vanishing_cases(s2), "layers": ly}
    claim2 = next(f for f in findings(t2, config) if f.claim and f.claim.startswith("1.3(b)"))
    assert claim2.verdict == "refuted"
    assert headline(t2) != headline(t)
    assert metrics(t)["sigmoid/xavier-normal signal factor"] == pytest.approx(
        v.loc[("sigmoid", "xavier-normal"), "fitted_factor"])  # fmt: skip


def test_figures_from_tables(tiny) -> None:
    config, t = tiny
    figs = load("vanishing-gradients").figures(t, config)
    assert set(figs) == {"signal_by_layer", "weight_grad_by_layer", "act_std_by_layer",
                         "fitted_vs_predicted", "training_heatmap", "dead_relu", "factor_curve",
                         "selfnorm"}  # fmt: skip
    sigmoid_ax = figs["signal_by_layer"].axes[len(config.inits)]  # first sigmoid panel
    assert sigmoid_ax.get_yscale() == "log"
    from nnhw.experiments.reporting.plotting import close_figure

    for fig in figs.values():
        close_figure(fig)


def test_ctrl_c_hands_over_theory(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: object, **kw: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(vg, "run_sweep", interrupted)
    with pytest.raises(Interrupted) as exc:
        vg.compute(Config(**TINY), RunContext())
    assert list(exc.value.tables) == [
        "theory", "fixed_points", "critical", "factor_curve", "selfnorm_theory"
    ]  # the theory needs no measurement  # fmt: skip


def test_case_decisions_give_a_ci_per_case_and_inconclusive_when_it_straddles(tiny) -> None:
    _, t = tiny
    d = vf.case_decisions(t).set_index(["activation", "init"])
    row = d.loc[("sigmoid", "xavier-normal")]
    assert row["factor_low"] <= row["factor"] <= row["factor_high"] < gf.VANISHING_FACTOR
    assert row["outcome"] == "vanishes" and row["agree"] == row["seeds"]
    assert row["layers_to_1pct"] == pytest.approx(np.log(0.01) / np.log(row["factor"]))
    assert vf.layers_to_one_percent(1.0) == np.inf
    # one seed's signal made to grow: the CI of sigmoid/xavier now contains the cut-off
    ly = t["layers"].copy()
    case = (ly["activation"] == "sigmoid") & (ly["init"] == "xavier-normal") & (ly["seed"] == 0)
    ly.loc[case, "signal_norm"] = ly.loc[case, "layer"].astype(float) ** -4.0
    d2 = vf.case_decisions({**t, "layers": ly}).set_index(["activation", "init"])
    assert d2.loc[("sigmoid", "xavier-normal"), "outcome"] == "inconclusive"
    verdict, holds, undecided = vf.claim_from_decisions(d2.reset_index(), ("sigmoid",), ("relu",))
    assert "xavier-normal" in undecided and "xavier-normal" not in holds
    assert "inconclusive under xavier-normal" in verdict or verdict == "inconclusive"


def test_xavier_relu_finding_is_decided_on_the_ci_over_seeds(tiny) -> None:
    config, t = tiny
    pick = lambda found: next(f for f in found if f.claim == vf.CLAIM_XAVIER_RELU)  # noqa: E731
    f = pick(findings(t, config))
    assert "95% CI" in f.text and f.verdict in ("supported", "inconclusive", "refuted")
    # activations that keep their variance (factor 1 per layer) are far from 1/2: refuted
    ly = t["layers"].copy()
    ly.loc[(ly["activation"] == "relu") & (ly["init"] == "xavier-normal"), "act_std"] = 1.0
    assert pick(findings({**t, "layers": ly}, config)).verdict == "refuted"
