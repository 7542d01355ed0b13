"""experiments.compare_activations on tiny configurations: the tables, the course's claims as
measured (vanishing sigmoid gradients, dead ReLU units, two linear layers = least squares), and
findings that quote the tables and flip with them."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from core.errors import NnhwError
from core.presets import PRESETS
from experiments import compare_activations as ca
from experiments import compare_activations_findings as cf
from experiments.compare_activations_cell import activation_cell
from experiments.context import Interrupted, RunContext, SweepOptions
from experiments.plotting import close_figure
from experiments.sweep import cell_seed

TINY = {"seeds": 2, "epochs": 3, "samples": 100, "timing_repeats": 2}
KEY_COLUMNS = [
    "final_train_loss", "final_test_loss", "grad_ratio_init", "grad_ratio", "dead_fraction",
    "act_mean", "act_min", "act_max", "time_ratio", "time_ratio_net",
]  # fmt: skip


def run(**kw) -> tuple[ca.Config, dict[str, pd.DataFrame]]:
    cfg = ca.Config(**{**TINY, **kw})
    return cfg, ca.compute(cfg, RunContext())


@pytest.fixture(scope="module")
def classification():
    return run(include_identity=True)


@pytest.fixture(scope="module")
def deep():
    return run(activations=("relu", "sigmoid"), hidden=(16, 16, 16, 16), seeds=3, samples=200)


# -- tables ------------------------------------------------------------------------------------


def test_summary_has_one_row_per_activation_with_finite_numbers(classification):
    _, tables = classification
    s = tables["summary"]
    assert list(s["activation"]) == ["relu", "leaky-relu", "tanh", "sigmoid", "identity"]
    assert np.all(np.isfinite(s[[*KEY_COLUMNS, "test_accuracy", "test_accuracy_std"]]))
    assert (s["seeds"] == 2).all() and (s["depth"] == 1).all() and (s["diverged"] == 0).all()
    # saturation is measured exactly where units can saturate
    saturating = s["activation"].isin(["tanh", "sigmoid"])
    assert s.loc[saturating, "saturated_fraction"].notna().all()
    assert s.loc[~saturating, "saturated_fraction"].isna().all()


def test_tidy_tables_have_a_row_per_seed_epoch_and_layer(classification):
    cfg, tables = classification
    h, layers = tables["history"], tables["layers"]
    assert len(h) == 5 * cfg.seeds * (cfg.epochs + 1)
    assert set(h.columns) >= {"activation", "seed", "epoch", "train_loss", "test_accuracy"}
    assert len(layers) == len(h) * 2  # two weight layers
    hidden = layers[layers["layer"] == 1]
    assert (
        hidden["act_mean"].notna().all()
        and layers.loc[layers["layer"] == 2, "act_mean"].isna().all()
    )
    assert len(tables["decision_grid"]) == 5 * 60 * 60
    assert set(tables["points"].columns) == {"x1", "x2", "label"}
    assert len(tables["layer_summary"]) == 5 * 2


def test_timing_is_positive_and_relative_to_relu(classification):
    _, tables = classification
    t = tables["timing"]
    assert len(t) == 5 * 2 and set(t["scope"]) == {"activation", "net"}
    assert np.all(np.isfinite(t["median_s"])) and np.all(t["median_s"] > 0)
    assert (t["baseline"] == "relu").all() and (t["repeats"] == 2).all()
    np.testing.assert_array_equal(t.loc[t["activation"] == "relu", "ratio"], 1.0)
    assert np.all(np.isfinite(t["ratio"])) and np.all(t["ratio"] > 0)


def test_epochs_to_target_is_the_first_epoch_at_or_below_it(classification):
    cfg, tables = classification
    h, s = tables["history"], tables["summary"]
    for act in ("relu", "sigmoid"):
        hit = h[(h["activation"] == act) & (h["train_loss"] <= cfg.target_loss)]
        first = hit.groupby("seed")["epoch"].min()
        row = s[s["activation"] == act].iloc[0]
        assert row["reached"] == len(first)
        if len(first):
            assert row["epochs_to_target"] == pytest.approx(first.mean())


# -- the course's claims, measured -------------------------------------------------------------


def test_sigmoid_gradient_ratio_is_below_relus_at_depth_4(deep):
    _, tables = deep
    s = tables["summary"].set_index("activation")
    assert (s["depth"] == 4).all()
    assert s.loc["sigmoid", "grad_ratio_init"] < 0.1 * s.loc["relu", "grad_ratio_init"]
    assert s.loc["sigmoid", "grad_ratio"] < s.loc["relu", "grad_ratio"]
    verdict = cf.vanishing_finding(tables["summary"])
    assert verdict is not None and verdict.verdict == "supported"


def test_relu_with_a_large_negative_bias_shift_has_dead_units():
    _, tables = run(activations=("relu", "leaky-relu"), bias_shift=-5.0)
    s = tables["summary"].set_index("activation")
    assert s.loc["relu", "dead_fraction"] > 0.9 and s.loc["leaky-relu", "dead_fraction_peak"] == 0
    finding = cf.dead_finding(tables["summary"])
    assert finding is not None and finding.verdict == "supported"
    _, healthy = run(activations=("relu",))
    assert healthy["summary"]["dead_fraction"].iloc[0] < 0.5


def test_identity_net_matches_least_squares():
    cfg, tables = run(task="regression", dataset="linear", activations=("identity",), hidden=(4,),
                      optimizer="sgd", lr=0.3, batch_size=1000, epochs=200)  # fmt: skip
    lb = tables["linear_baseline"]
    assert len(lb) == cfg.seeds
    assert (lb["collapse_error"] <= 1e-12).all()
    assert (lb["map_distance"] <= 1e-6).all() and (lb["bias_distance"] <= 1e-6).all()
    np.testing.assert_allclose(lb["test_metric"], lb["test_metric_lstsq"], atol=1e-6)
    assert cf.linear_finding(tables["summary"], lb).verdict == "supported"


def test_sigmoid_outputs_are_never_negative(classification):
    _, tables = classification
    s = tables["summary"].set_index("activation")
    assert s.loc["sigmoid", "act_min"] >= 0 and s.loc["sigmoid", "act_max"] <= 1
    assert s.loc["tanh", "act_min"] < 0
    assert cf.range_findings(tables["summary"])[0].verdict == "refuted"


# -- findings ------------------------------------------------------------------------------------

_NUMBER = re.compile(r"(?<![\w.^-])-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def _quotable(tables: dict[str, pd.DataFrame]) -> set[str]:
    out = set()
    for name in ("summary", "timing", "linear_baseline", "layer_summary"):
        for v in tables[name].select_dtypes("number").to_numpy().ravel():
            out.add(cf.fmt(v))
    return out


def test_findings_name_numbers_that_appear_in_the_tables(classification):
    cfg, tables = classification
    report = ca.report(tables, cfg)
    quotable = _quotable(tables)
    assert len(report.findings) >= 7
    for finding in report.findings:
        numbers = _NUMBER.findall(finding.text)
        assert numbers, finding.text
        missing = [n for n in numbers if n not in quotable]
        assert not missing, (missing, finding.text)
    claims = [f for f in report.findings if f.claim]
    assert all(f.verdict for f in claims) and len(claims) >= 6


def test_verdicts_follow_the_data(classification):
    _, tables = classification
    s = tables["summary"].copy()
    sig = s["activation"] == "sigmoid"
    s.loc[sig, "act_min"] = -0.5
    assert cf.range_findings(s)[0].verdict == "supported"
    s.loc[sig, ["grad_ratio_init", "grad_ratio"]] = 10.0
    assert cf.vanishing_finding(s).verdict == "refuted"
    s.loc[sig, ["reached", "epochs_to_target"]] = [2, 0.0]
    s.loc[s["activation"] == "relu", ["reached", "epochs_to_target"]] = [2, 3.0]
    assert cf.speed_finding(s).verdict is None  # one hidden layer: not a test of the claim
    s["depth"] = 4
    assert cf.speed_finding(s).verdict == "refuted"
    s.loc[sig, ["reached", "epochs_to_target"]] = [2, 9.0]
    assert cf.speed_finding(s).verdict == "supported"
    leaky = s["activation"] == "leaky-relu"
    s.loc[leaky, ["time_ratio", "time_ratio_net"]] = [0.9, 1.5]
    assert cf.cost_finding(s, tables["timing"]).verdict == "refuted"
    s.loc[leaky, ["time_ratio", "time_ratio_net"]] = [1.5, 1.2]
    assert cf.cost_finding(s, tables["timing"]).verdict == "supported"
    s.loc[leaky, "time_ratio_net"] = 1.0
    assert cf.cost_finding(s, tables["timing"]).verdict.startswith("holds only for the activation")


def test_figures_headline_and_metrics_from_the_tables(classification):
    cfg, tables = classification
    figs = ca.figures(tables, cfg)
    assert set(figs) == {"loss_curves", "gradient_norms", "unit_health", "activation_ranges",
                         "timing", "decision_boundaries"}  # fmt: skip
    for fig in figs.values():
        close_figure(fig)
    assert "best test accuracy" in ca.headline(tables)
    metrics = ca.metrics(tables)
    assert metrics["relu.time_ratio"] == 1.0 and "sigmoid.grad_ratio" in metrics


def test_regression_draws_fitted_curves():
    cfg, tables = run(task="regression", activations=("relu", "tanh"))
    assert "fit_curve" in tables and "decision_grid" not in tables
    assert "test_r2" in tables["summary"]
    figs = ca.figures(tables, cfg)
    assert "fit_curves" in figs and "decision_boundaries" not in figs
    for fig in figs.values():
        close_figure(fig)


# -- sweep, determinism, interruption ----------------------------------------------------------


def test_one_cell_per_activation_and_a_cell_is_deterministic():
    cfg = ca.Config(**TINY, activations=("tanh", "relu"))
    cells = ca.cells(cfg)
    assert [c["activation"] for c in cells] == ["tanh", "relu"]
    assert [(c["depth"], c["hidden"], c["stream"]) for c in cells] == [(1, (64,), 0), (1, (64,), 1)]
    a = activation_cell(cells[1], cell_seed(cfg.seed, 1))
    b = activation_cell(cells[1], cell_seed(cfg.seed, 1))
    pd.testing.assert_frame_equal(a["history"], b["history"])
    # the cell's stream is its activation's (params["stream"]), the same without it at index 1
    plain = activation_cell({k: v for k, v in cells[1].items() if k != "stream"}, cell_seed(0, 1))
    pd.testing.assert_frame_equal(a["history"], plain["history"])
    other = activation_cell({**cells[1], "stream": 7}, cell_seed(cfg.seed, 1))
    assert not a["history"]["train_loss"].equals(other["history"]["train_loss"])
    seeds = a["history"].pivot(index="epoch", columns="seed", values="train_loss")
    assert not np.allclose(seeds[0], seeds[1])  # members differ: own init and data order


def test_two_workers_give_the_same_tables_as_serial():
    cfg = ca.Config(**{**TINY, "activations": ("relu", "sigmoid"), "epochs": 2})
    serial = ca.compute(cfg, RunContext())
    parallel = ca.compute(cfg, RunContext(sweep=SweepOptions(workers=2)))
    for name in ("history", "layers", "summary"):
        cols = [c for c in serial[name].columns if not c.startswith("time_ratio")]
        pd.testing.assert_frame_equal(serial[name][cols], parallel[name][cols])


def test_ctrl_c_keeps_what_finished(monkeypatch):
    import experiments.compare_activations_cell as cell

    def interrupted(params, seed):
        raise KeyboardInterrupt

    monkeypatch.setattr(cell, "activation_cell", interrupted)
    with pytest.raises(Interrupted) as info:
        ca.compute(ca.Config(**TINY), RunContext())
    assert "points" in info.value.tables and "summary" not in info.value.tables


# -- config ---------------------------------------------------------------------------------------


def test_config_resolves_the_preset_and_identity():
    cfg = ca.Config(task="regression", include_identity=True)
    p = PRESETS["regression"]
    assert (cfg.dataset, cfg.hidden, cfg.optimizer, cfg.lr) == (
        p.dataset,
        p.hidden,
        p.optimizer,
        p.lr,
    )
    assert cfg.activations == ("relu", "leaky-relu", "tanh", "sigmoid", "identity")
    assert ca.Config(dataset="spiral").task == "classification"
    assert ca.Config(activations=("ReLU", "TANH")).activations == ("relu", "tanh")
    assert replace(cfg, seeds=3).activations == cfg.activations  # resolving twice is stable


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"activations": ("relu", "swish")}, r"--activations: 'swish' is not one of relu"),
        ({"activations": ()}, r"--activations needs at least one"),
        ({"activations": ("relu", "relu")}, r"--activations: each activation once"),
        ({"seeds": 0}, r"--seeds must be an integer >= 1, got 0"),
        ({"hidden": (64, 0)}, r"--hidden: every layer width must be an integer >= 1, got 0"),
        ({"lr": 0.0}, r"--lr must be > 0, got 0.0"),
        ({"lr": float("nan")}, r"--lr must be a finite number"),
        ({"epochs": 0}, r"--epochs must be an integer >= 1"),
        ({"batch_size": 0}, r"--batch-size must be an integer >= 1"),
        ({"samples": 5}, r"--samples must be an integer >= 10"),
        ({"target_loss": -1.0}, r"--target-loss must be > 0"),
        ({"negative_slope": 1.0}, r"--negative-slope must be in \[0, 1\)"),
        ({"optimizer": "rmsprop"}, r"--optimizer: 'rmsprop' is not one of sgd, adam"),
        ({"init": "kaiming"}, r"--init: 'kaiming' is not one of zero"),
        ({"dataset": "mnist"}, r"--dataset: 'mnist' is not one of sine"),
        ({"task": "regression", "dataset": "moons"}, r"--dataset moons is a classification"),
        ({"timing_repeats": 0}, r"--timing-repeats must be an integer >= 1"),
    ],
)
def test_bad_settings_name_the_option(kw, message):
    with pytest.raises(NnhwError, match=message):
        ca.Config(**kw)
