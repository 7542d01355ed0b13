"""experiments.compare_activations on tiny configurations: the tables, the course's claims as
measured (vanishing sigmoid gradients, dead ReLU units, two linear layers = least squares), and
findings that quote the tables and flip with them."""

from __future__ import annotations

import re
from dataclasses import replace
from importlib.util import find_spec

import numpy as np
import pandas as pd
import pytest

from nnhw.core.errors import NnhwError
from nnhw.core.presets import PRESETS
from nnhw.experiments.compare_activations import compute
from nnhw.experiments.compare_activations import depth as cd
from nnhw.experiments.compare_activations import findings as cf
from nnhw.experiments.compare_activations.cells import activation_cell
from nnhw.experiments.compare_activations.config import Config
from nnhw.experiments.reporting.numbers import number
from nnhw.experiments.reporting.plotting import close_figure
from nnhw.experiments.reporting.uncertainty import decide
from nnhw.experiments.runs.context import Interrupted, RunContext, SweepOptions
from nnhw.experiments.runs.studies import load
from nnhw.experiments.runs.sweep import cell_seed

TINY = {"seeds": 2, "epochs": 3, "samples": 100, "timing_repeats": 2}
KEY_COLUMNS = [
    "final_train_loss", "final_test_loss", "grad_ratio_init", "grad_ratio", "dead_fraction",
    "act_mean", "act_min", "act_max", "time_ratio", "time_ratio_net",
]  # fmt: skip


ca = load("compare-activations")  # the study's roles: compute, figures, report, ...


def run(**kw) -> tuple[Config, dict[str, pd.DataFrame]]:
    cfg = Config(**{**TINY, **kw})
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
    torch = find_spec("torch") is not None  # PyTorch's kernels beside NumPy's when installed
    assert len(t) == 5 * (3 if torch else 2) and set(t["scope"]) == {"activation", "net"}
    assert set(t["library"]) == ({"numpy", "torch"} if torch else {"numpy"})
    assert set(t.loc[t["scope"] == "net", "library"]) == {"numpy"}
    assert np.all(np.isfinite(t["median_s"])) and np.all(t["median_s"] > 0)
    assert (t["baseline"] == "relu").all() and (t["repeats"] == 2).all()
    np.testing.assert_array_equal(t.loc[t["activation"] == "relu", "ratio"], 1.0)
    assert np.all(np.isfinite(t["ratio"])) and np.all(t["ratio"] > 0)
    # two rounds give no 95% interval: every test says so instead of deciding
    assert set(t.loc[t["activation"] != "relu", "test"]) == {"inconclusive"}


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
    verdict = cf.vanishing_finding(tables["summary"], tables)
    assert verdict is not None and verdict.verdict == "supported"
    assert "95% CI" in verdict.text and "3 seeds" in verdict.text


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
                      optimizer="sgd", lr=0.3, batch_size=80, epochs=200)  # fmt: skip
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
            out.add(number(v))
    # the uncertainty of the sigmoid-mean verdict: computed from the layers table's seeds
    s = tables["summary"]
    depth = int(s["depth"].iloc[0])
    d = decide(cf.seed_final_mean(tables["layers"], "sigmoid", depth), cf.MEAN_CUTOFF)
    out |= {
        number(v)
        for v in (d.agree, d.seeds, d.cutoff, d.estimate.low, d.estimate.high, *d.moved_cutoffs, 95)
    }  # fmt: skip (95: "95% CI")
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
    assert all(f.verdict for f in claims) and len(claims) >= 5


def test_verdicts_follow_the_data(classification):
    _, tables = classification
    s = tables["summary"].copy()
    sig = s["activation"] == "sigmoid"
    s.loc[sig, "act_min"] = -0.5
    assert cf.range_findings(s)[0].verdict == "supported"
    # the non-zero mean: decided on the per-seed final means' CI against 0.1
    assert cf.range_findings(s, tables)[1].verdict == "supported"
    ly = tables["layers"].copy()
    ly.loc[ly["activation"] == "sigmoid", "act_mean"] = 0.01
    assert cf.range_findings(s, {**tables, "layers": ly})[1].verdict == "refuted"
    # one hidden layer: neither 1.3(b) finding tests the claim about deeper nets
    assert cf.vanishing_finding(s, tables).verdict is None
    assert cf.speed_finding(s, tables).verdict is None
    # deeper: the verdicts come from the per-seed values, with a CI against the 1.25x cut-off
    deep = {k: v.assign(depth=4) if "depth" in v.columns else v for k, v in tables.items()}
    s["depth"] = 4
    assert cf.speed_finding(s, _final_losses(deep, {4: 3.0})).verdict == "supported"
    assert cf.speed_finding(s, _final_losses(deep, {4: 1 / 3})).verdict == "refuted"
    assert cf.speed_finding(s, _final_losses(deep, {4: 1.25}, spread=2.0)).verdict == "inconclusive"
    ly = deep["layers"].copy()
    first = (ly["layer"] == 1) & (ly["activation"] == "sigmoid")
    ly.loc[first, "grad_norm"] *= 1e-3  # sigmoid's first layer gets far less than ReLU's
    assert cf.vanishing_finding(s, {**deep, "layers": ly}).verdict == "supported"
    ly.loc[first, "grad_norm"] *= 1e6  # ... and now far more
    assert cf.vanishing_finding(s, {**deep, "layers": ly}).verdict == "refuted"
    t = tables["timing"].copy()

    def cost(numpy_test: str, torch_test: str | None) -> str:
        leaky = (t["activation"] == "leaky-relu") & (t["scope"] == "activation")
        rows = t[~(leaky & (t["library"] == "torch"))] if torch_test is None else t.copy()
        for library, test in (("numpy", numpy_test), ("torch", torch_test)):
            rows.loc[leaky & (rows["library"] == library), "test"] = test
        if torch_test is not None and not (leaky & (t["library"] == "torch")).any():
            extra = rows[leaky & (rows["library"] == "numpy")].assign(library="torch", test=test)
            rows = pd.concat([rows, extra], ignore_index=True)
        return cf.cost_finding(s, rows).verdict

    assert cost("costs more", "costs more") == "supported"
    assert cost("costs more", "within the margin").startswith("holds only when it is computed as")
    assert cost("within the margin", "within the margin") == "refuted"
    assert cost("costs more", "inconclusive").startswith("inconclusive")
    assert cost("costs more", None).startswith("holds only when it is computed with NumPy")
    assert cost("inconclusive", None).startswith("inconclusive")


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
    cfg = Config(**TINY, activations=("tanh", "relu"))
    cells = compute.cells(cfg)
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
    cfg = Config(**{**TINY, "activations": ("relu", "sigmoid"), "epochs": 2})
    serial = ca.compute(cfg, RunContext())
    parallel = ca.compute(cfg, RunContext(sweep=SweepOptions(workers=2)))
    for name in ("history", "layers", "summary"):
        cols = [c for c in serial[name].columns if not c.startswith("time_ratio")]
        pd.testing.assert_frame_equal(serial[name][cols], parallel[name][cols])


def test_ctrl_c_keeps_what_finished(monkeypatch):
    def interrupted(params, seed):
        raise KeyboardInterrupt

    monkeypatch.setattr(compute, "activation_cell", interrupted)
    with pytest.raises(Interrupted) as info:
        ca.compute(Config(**TINY), RunContext())
    assert "points" in info.value.tables and "summary" not in info.value.tables


# -- config ---------------------------------------------------------------------------------------


def test_config_resolves_the_preset_and_identity():
    cfg = Config(task="regression", include_identity=True)
    p = PRESETS["regression"]
    assert (cfg.dataset, cfg.hidden, cfg.optimizer, cfg.lr) == (
        p.dataset,
        p.hidden,
        p.optimizer,
        p.lr,
    )
    assert cfg.activations == ("relu", "leaky-relu", "tanh", "sigmoid", "identity")
    assert Config(dataset="spiral").task == "classification"
    assert Config(activations=("ReLU", "TANH")).activations == ("relu", "tanh")
    assert replace(cfg, seeds=3).activations == cfg.activations  # resolving twice is stable
    assert Config(samples=20).batch_size == 16  # the preset's 32, clamped to the training rows
    assert Config(samples=20, batch_size=16).batch_size == 16
    csv_cfg = Config(csv="d.csv", target="y")  # no file read: the data are read by the cells
    assert (csv_cfg.dataset, csv_cfg.samples, csv_cfg.data_name) == (None, None, "d.csv")


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        (
            {"activations": ("relu", "swish")},
            r"--activations: every activation must be one of relu, .*, got 'swish'",
        ),
        ({"activations": ()}, r"--activations must have at least one"),
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
        ({"optimizer": "rmsprop"}, r"--optimizer must be one of sgd, adam, got 'rmsprop'"),
        ({"init": "kaiming"}, r"--init must be one of zero, .*, got 'kaiming'"),
        ({"dataset": "mnist"}, r"--dataset must be one of sine, .*, got 'mnist'"),
        ({"task": "regression", "dataset": "moons"}, r"--dataset moons is a classification"),
        ({"timing_repeats": 0}, r"--timing-repeats must be an integer >= 1"),
        ({"depths": (1, 2, 1)}, r"--depths: each depth once, got 1, 2, 1"),
        ({"depths": (0, 2)}, r"--depths: every depth must be an integer >= 1, got 0"),
        ({"depths": ()}, r"--depths must have at least one depth"),
        ({"depths": (1, 2), "hidden": (8, 16)}, r"--hidden must be one width .* --depths"),
        ({"csv": "d.csv"}, r"--csv d.csv needs --target COLUMN"),
        ({"target": "y"}, r"--target names a column of --csv, but no --csv file was given"),
        ({"dataset": "moons", "csv": "d.csv", "target": "y"}, r"--dataset and --csv exclude"),
        ({"csv": "d.csv", "target": "y", "samples": 50}, r"--samples applies to generated"),
        ({"csv": "", "target": "y"}, r"--csv must be a non-empty text, got ''"),
        ({"samples": 100, "batch_size": 81}, r"--batch-size 81 is larger than the 80 training"),
    ],
)
def test_bad_settings_name_the_option(kw, message):
    with pytest.raises(NnhwError, match=message):
        Config(**kw)


# -- the depth axis (--depths) --------------------------------------------------------------------

DEPTHS = {**TINY, "activations": ("relu", "sigmoid"), "hidden": (8,), "epochs": 4}


@pytest.fixture(scope="module")
def depths():
    return run(**DEPTHS, depths=(3, 1, 2))


def test_cells_are_activations_by_depths_with_their_hidden_layers():
    cfg = Config(**DEPTHS, depths=(4, 1, 2))
    assert cfg.depths == (1, 2, 4) and cfg.depth == 4
    got = [(c["activation"], c["depth"], c["hidden"], c["stream"]) for c in compute.cells(cfg)]
    assert got == [
        ("relu", 1, (8,), 0), ("relu", 2, (8, 8), 0), ("relu", 4, (8,) * 4, 0),
        ("sigmoid", 1, (8,), 1), ("sigmoid", 2, (8, 8), 1), ("sigmoid", 4, (8,) * 4, 1),
    ]  # fmt: skip
    assert [c["depth"] for c in compute.cells(Config(**{**DEPTHS, "hidden": (8, 8, 8)}))] == [3, 3]
    assert Config(**{**DEPTHS, "hidden": (8, 8)}, depths=(2,)).hidden_at(3) == (8, 8, 8)


def test_every_table_has_a_row_set_per_activation_and_depth(depths):
    _, tables = depths
    s = tables["summary"]
    assert list(zip(s["activation"], s["depth"])) == [
        ("relu", 1), ("relu", 2), ("relu", 3), ("sigmoid", 1), ("sigmoid", 2), ("sigmoid", 3)
    ]  # fmt: skip
    for name in ("history", "layers", "decision_grid", "timing", "layer_summary"):
        assert list(tables[name].columns[:2]) == ["activation", "depth"], name
    layers = tables["layers"]
    assert (layers.groupby("depth")["layer"].max() == pd.Series({1: 2, 2: 3, 3: 4})).all()
    assert len(tables["layer_summary"]) == 2 * (2 + 3 + 4)
    t = tables["timing"]
    t = t[t["library"] == "numpy"]
    assert len(t) == 2 * 3 * 2  # activation x depth x scope
    np.testing.assert_array_equal(t.loc[t["activation"] == "relu", "ratio"], 1.0)
    assert np.isfinite(s[["grad_ratio", "time_ratio", "time_ratio_net"]]).all().all()


def test_a_cell_does_not_depend_on_the_other_depths_and_depth_1_is_the_default_run(depths):
    _, tables = depths
    alone = ca.compute(Config(**DEPTHS, depths=(2,)), RunContext())
    default = ca.compute(Config(**DEPTHS), RunContext())  # hidden (8,): one hidden layer
    for name in ("history", "layers"):
        full = tables[name].drop(columns="cell")
        for d, other in ((2, alone), (1, default)):
            mine = full[full["depth"] == d].reset_index(drop=True)
            pd.testing.assert_frame_equal(mine, other[name].drop(columns="cell"), check_like=False)


def test_two_workers_give_the_same_depth_tables_as_serial(depths):
    cfg, serial = depths
    parallel = ca.compute(cfg, RunContext(sweep=SweepOptions(workers=2)))
    for name in ("history", "layers", "decision_grid", "layer_summary"):
        pd.testing.assert_frame_equal(serial[name], parallel[name])


def test_figure_count_does_not_grow_with_the_depths(depths):
    cfg, tables = depths
    figs = ca.figures(tables, cfg)
    two_cfg = Config(**DEPTHS, depths=(1, 2))
    fewer = ca.figures(ca.compute(two_cfg, RunContext()), two_cfg)
    assert set(figs) == set(fewer) == {
        "depth_effect", "loss_curves", "gradient_norms", "unit_health", "activation_ranges",
        "timing", "decision_boundaries",
    }  # fmt: skip
    # the one-net figures show the deepest depth: four weight layers at depth 3
    labels = figs["gradient_norms"].legends[0].get_texts()
    assert [t.get_text() for t in labels] == ["W1", "W2", "W3", "W4"]
    for fig in [*figs.values(), *fewer.values()]:
        close_figure(fig)


def test_depth_report_headline_and_metrics(depths):
    cfg, tables = depths
    report = ca.report(tables, cfg)
    texts = [f.text for f in report.findings]
    assert texts[0].startswith("At depth 3, the deepest, test accuracy")
    speed = [f for f in report.findings if f.claim == cf.SPEED_CLAIM]
    assert len(speed) == 1 and speed[0].verdict is not None
    assert "at depth 1" in speed[0].text and "at depth 3" in speed[0].text
    assert any(t.startswith("The first layer's weight gradient over the last") for t in texts)
    assert not any("one hidden layer, so it does not test" in t for t in texts)
    assert "Depth" in [sec.title for sec in report.sections]
    assert ca.headline(tables).startswith("depth 3: best test accuracy")
    assert "sigmoid depth 2.grad_ratio" in ca.metrics(tables)


def _final_losses(
    tables: dict[str, pd.DataFrame], ratio: dict[int, float], spread: float = 1.1
) -> dict[str, pd.DataFrame]:
    """`tables` with each seed's final training loss set: ReLU's 0.1 (times `spread` for the
    second seed), sigmoid's `ratio[depth]` times that, at each depth in `ratio`."""
    h = tables["history"].copy()
    last = h["epoch"] == h.groupby(["activation", "depth", "seed"])["epoch"].transform("max")
    for depth, r in ratio.items():
        for act, factor in (("relu", 1.0), ("sigmoid", r)):
            rows = last & (h["activation"] == act) & (h["depth"] == depth)
            h.loc[rows, "train_loss"] = 0.1 * factor * np.where(h.loc[rows, "seed"] == 0, 1, spread)
    return {**tables, "history": h}


def _speed(tables: dict[str, pd.DataFrame], relu_faster_at: set[int]) -> str | None:
    """The speed verdict when sigmoid ends at 3x ReLU's loss exactly at `relu_faster_at` (and at
    a third of it elsewhere)."""
    s = tables["summary"]
    ratio = {int(d): 3.0 if d in relu_faster_at else 1 / 3 for d in s["depth"].unique()}
    finding = cf.depth_speed_finding(s, _final_losses(tables, ratio))
    assert finding is not None and finding.claim == cf.SPEED_CLAIM
    return finding.verdict


def test_depth_speed_verdict_follows_the_data(depths):
    _, tables = depths
    assert _speed(tables, {2, 3}) == "supported"
    assert _speed(tables, {1}) == "refuted"  # depth 1 does not count for the claim
    assert _speed(tables, {3}) == "holds only when the net has at least 3 hidden layers"
    assert _speed(tables, {2}) == "holds only at depth 2"
    # a gap inside the noise decides nothing: inconclusive at that depth
    noisy = _final_losses(_final_losses(tables, {1: 3.0, 2: 3.0}), {3: 1.25}, spread=2.0)
    f = cf.depth_speed_finding(tables["summary"], noisy)
    assert f.verdict == "holds only at depth 2 (inconclusive at depth 3)", f.text
    # sigmoid never reaching the target where ReLU does: said
    never = tables["summary"].copy()
    never.loc[never["activation"] == "sigmoid", "reached"] = 0
    never.loc[never["activation"] == "relu", "reached"] = 2
    f = cf.depth_speed_finding(never, _final_losses(tables, {1: 3.0, 2: 3.0, 3: 3.0}))
    assert "Sigmoid never reached it at depths 1, 2, 3" in f.text and f.verdict == "supported"


def test_depth_gradient_finding_quotes_the_ratios_and_their_trend(depths):
    _, tables = depths
    s = tables["summary"].copy()
    sig, relu = s["activation"] == "sigmoid", s["activation"] == "relu"
    s.loc[relu, "grad_ratio"] = 1.0
    s.loc[sig, "grad_ratio"] = [0.5, 0.1, 0.01]
    f = cf.depth_gradient_finding(s)
    assert "0.01 against 1 at depth 3" in f.text
    assert "2 times sigmoid's at depth 1 and 100 times at depth 3: the gap widens" in f.text
    s.loc[sig, "grad_ratio"] = [0.01, 0.1, 0.5]
    assert "the gap narrows with depth" in cf.depth_gradient_finding(s).text
    s.loc[sig, "grad_ratio"] = [0.1, 0.01, 0.5]
    assert "does not change monotonically" in cf.depth_gradient_finding(s).text
    one = s[s["depth"] == 1]
    assert cf.depth_gradient_finding(one) is None and cf.depth_speed_finding(one) is None


def test_tables_without_a_depth_column_are_one_depth(depths):
    """A run written before --depths existed: its tables have no depth column."""
    _, tables = depths
    one = cd.at_depth(tables, 2)
    old = {
        k: v.drop(columns="depth") if k != "summary" and "depth" in v else v for k, v in one.items()
    }
    cfg2 = Config(**{**DEPTHS, "hidden": (8, 8)})
    assert [f.text for f in ca.report(old, cfg2).findings] == [
        f.text for f in ca.report(one, cfg2).findings
    ]
    assert ca.headline(old) == ca.headline(one)
    figs = ca.figures(old, cfg2)
    assert "depth_effect" not in figs and len(figs) == 6
    for fig in figs.values():
        close_figure(fig)


def test_cell_cost_orders_deeper_wider_and_exp_based_cells_first() -> None:
    from nnhw.experiments.compare_activations.cells import cell_cost
    from nnhw.experiments.compare_activations.compute import Config

    by_cell = {
        (c["activation"], c["depth"]): cell_cost(c) for c in compute.cells(Config(depths=(1, 2, 4)))
    }
    assert by_cell[("relu", 4)] > by_cell[("relu", 2)] > by_cell[("relu", 1)]
    assert by_cell[("sigmoid", 2)] > by_cell[("relu", 2)]
    more_seeds = {c["activation"]: cell_cost(c) for c in compute.cells(Config(seeds=10))}
    assert more_seeds["relu"] == 2 * by_cell[("relu", 1)]


def test_the_activation_alone_is_timed_once_and_shown_at_every_depth() -> None:
    from nnhw.experiments.compare_activations.compute import Config, cells
    from nnhw.experiments.compare_activations.summary import time_activations

    config = Config(depths=(1, 2), samples=60, seeds=2, epochs=1, timing_repeats=2)
    timing = time_activations(config, cells(config))
    timing = timing[timing["library"] == "numpy"]
    alone = timing[timing["scope"] == "activation"].set_index(["activation", "depth"])
    net = timing[timing["scope"] == "net"].set_index(["activation", "depth"])
    assert len(alone) == len(net) == 2 * len(config.activations)
    for act in config.activations:
        assert alone.loc[(act, 1), "median_s"] == alone.loc[(act, 2), "median_s"]
        assert net.loc[(act, 1), "median_s"] != net.loc[(act, 2), "median_s"]
