"""experiments.train: config resolution and validation, the tables, divergence, Ctrl-C, figures
and findings rebuilt from the tables alone."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from nnhw.core.data import Standardizer, make_dataset, split, targets
from nnhw.core.errors import NnhwError
from nnhw.core.losses import get_loss
from nnhw.core.mlp import MLP
from nnhw.core.presets import PRESETS
from nnhw.experiments.reporting.plotting import figure_bytes
from nnhw.experiments.runs.context import Interrupted, RunContext
from nnhw.experiments.runs.studies import load
from nnhw.experiments.train import compute as train_compute
from nnhw.experiments.train.compute import prepare
from nnhw.experiments.train.config import Config

train = load("train")
SMALL = {"samples": 200, "epochs": 5, "hidden": (8,)}


def run(**kw):
    cfg = Config(**kw)
    return cfg, train.compute(cfg, RunContext())


# -- config ------------------------------------------------------------------------------------


@pytest.mark.parametrize("task", ["regression", "classification"])
def test_unset_options_take_the_task_preset(task):
    cfg, p = Config(task=task), PRESETS[task]
    got = (
        cfg.dataset,
        cfg.activation,
        cfg.output_activation,
        cfg.loss,
        cfg.hidden,
        cfg.init,
        cfg.optimizer,
        cfg.lr,
        cfg.epochs,
        cfg.batch_size,
        cfg.samples,
    )
    assert got == (
        p.dataset,
        p.activation,
        p.output_activation,
        p.loss,
        p.hidden,
        p.init,
        p.optimizer,
        p.lr,
        p.epochs,
        p.batch_size,
        p.n_samples,
    )


def test_resolution_rules():
    assert Config().task == "regression"
    assert Config(dataset="Spiral").task == "classification"  # from the dataset, any case
    c = Config(task="classification", loss="softmax-cross-entropy", activation="ReLU")
    assert (c.output_activation, c.activation) == ("identity", "relu")  # logits for softmax-CE
    c = Config(csv="x.csv", target="y")
    assert (c.dataset, c.samples, c.task) == (None, None, "regression")
    assert Config(**{f: getattr(c, f) for f in c.__dataclass_fields__}) == c  # idempotent


@pytest.mark.parametrize(
    ("kw", "option"),
    [
        ({"activation": "swish"}, "--activation"),
        ({"init": "orthogonal"}, "--init"),
        ({"loss": "hinge"}, "--loss"),
        ({"optimizer": "rmsprop"}, "--optimizer"),
        ({"dataset": "mnist"}, "--dataset"),
        ({"task": "ranking"}, "--task"),
        ({"reduction": "max"}, "--reduction"),
        ({"dtype": "float16"}, "--dtype"),
        ({"lr": 0.0}, "--lr"),
        ({"lr": float("nan")}, "--lr"),
        ({"epochs": 0}, "--epochs"),
        ({"batch_size": 0}, "--batch-size"),
        ({"hidden": (64, 0)}, "--hidden"),
        ({"hidden": ()}, "--hidden"),
        ({"test_fraction": 1.0}, "--test-fraction"),
        ({"samples": 1}, "--samples"),
        ({"noise": -0.1}, "--noise"),
        ({"seed": -1}, "--seed"),
        ({"optimizer": "adam", "momentum": 0.9}, "--momentum"),
        ({"optimizer": "sgd", "momentum": 1.5}, "--momentum"),
        ({"activation": "relu", "negative_slope": 0.2}, "--negative-slope"),
        ({"activation": "selu", "elu_alpha": 0.5}, "--elu-alpha applies to elu only"),
        ({"activation": "elu", "elu_alpha": -1.0}, "--elu-alpha"),
        ({"activation": "elu", "elu_alpha": float("inf")}, "--elu-alpha"),
        ({"task": "regression", "dataset": "moons"}, "--dataset"),
        ({"task": "classification", "loss": "bce", "output_activation": "tanh"}, "--loss bce"),
        ({"task": "regression", "loss": "bce"}, "--loss bce"),
        ({"task": "regression", "loss": "softmax-cross-entropy"}, "--loss softmax"),
        ({"dataset": "moons", "csv": "a.csv", "target": "y"}, "--dataset and --csv"),
        ({"csv": "a.csv"}, "--target"),
        ({"target": "y"}, "--target"),
        ({"csv": "a.csv", "target": "y", "samples": 10}, "--samples"),
        ({"lr": "fast"}, "--lr"),
    ],
)
def test_bad_settings_name_the_option(kw, option):
    with pytest.raises(NnhwError) as info:
        Config(**kw)
    msg = str(info.value)
    assert option in msg and "\n" not in msg


# -- compute -----------------------------------------------------------------------------------


def test_history_columns_for_a_deep_sigmoid_net():
    _, tables = run(task="classification", hidden=(6, 5, 4), epochs=3, samples=100)
    h = tables["history"]
    assert h["epoch"].tolist() == [0, 1, 2, 3]
    for name in ["train_loss", "test_loss", "train_accuracy", "test_accuracy"]:
        assert name in h
    for prefix, n in [
        ("grad_norm_W", 4),
        ("signal_norm_z", 4),
        ("dead_fraction_h", 3),
        ("saturated_fraction_h", 3),
        ("act_mean_h", 3),
        ("act_max_h", 3),
    ]:
        assert [c for c in h if c.startswith(prefix)] == [f"{prefix}{i + 1}" for i in range(n)]
    assert tables["dataset"]["sizes"].iloc[0] == "2-6-5-4-1"
    assert set(tables) == {"history", "milestones", "dataset", "test_points", "decision_grid"}
    # relu cannot saturate: no saturated columns; regression has R^2, not accuracy
    _, tables = run(task="regression", **SMALL)
    assert not any(c.startswith("saturated") for c in tables["history"])
    assert {"train_r2", "test_r2"} <= set(tables["history"]) and "fit_curve" in tables


def test_epoch_zero_matches_an_independent_forward_and_backward():
    """Row 0 is the net at initialisation: rebuild data and net from the documented streams."""
    cfg, tables = run(task="regression", **SMALL)
    data_seq, init_seq, _ = np.random.SeedSequence(cfg.seed).spawn(3)
    rng = np.random.default_rng(data_seq)
    ds = make_dataset("sine", 200, rng)
    tr, _ = split(ds, 0.2, rng)
    x = Standardizer.fit(tr.X)(tr.X)
    y = Standardizer.fit(targets(tr, 1))(targets(tr, 1))
    net = MLP([1, 8, 1], "relu", "identity", [np.random.default_rng(init_seq)])
    value, d = get_loss("mse")(net.forward(x), y, "mean")
    net.backward(d)
    row = tables["history"].iloc[0]
    assert row["train_loss"] == pytest.approx(value[0], rel=1e-12)
    for l in (1, 2):
        assert row[f"grad_norm_W{l}"] == pytest.approx(np.linalg.norm(net.grads[f"W{l}"]), 1e-12)


def test_same_seed_same_tables_and_streams_are_independent():
    _, a = run(task="classification", **SMALL)
    _, b = run(task="classification", **SMALL)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
    _, c = run(task="classification", init="he-normal", **SMALL)  # other init, same data
    pd.testing.assert_frame_equal(
        a["test_points"][["x1", "x2", "label"]], c["test_points"][["x1", "x2", "label"]]
    )
    assert not np.allclose(a["history"]["train_loss"], c["history"]["train_loss"])
    _, d = run(task="classification", seed=1, **SMALL)
    assert not np.array_equal(a["test_points"]["x1"], d["test_points"]["x1"])


@pytest.mark.parametrize(
    ("base", "changed"),
    [
        ({"optimizer": "sgd", "lr": 0.1}, {"momentum": 0.9}),
        ({"activation": "leaky-relu"}, {"negative_slope": 0.3}),
        ({"activation": "elu"}, {"elu_alpha": 0.3}),
        ({}, {"reduction": "sum"}),
        ({}, {"dtype": "float32"}),
        ({}, {"batch_size": 7}),
        ({}, {"noise": 0.5}),
    ],
)
def test_every_option_changes_the_run(base, changed):
    """No option is accepted and ignored."""
    _, a = run(task="regression", **SMALL, **base)
    _, b = run(task="regression", **SMALL, **base, **changed)
    assert not np.array_equal(a["history"]["train_loss"], b["history"]["train_loss"])


def test_defaults_learn():
    _, tables = run(task="classification")
    assert tables["history"]["test_accuracy"].iloc[-1] >= 0.95
    _, tables = run(task="regression")
    assert tables["history"]["test_r2"].iloc[-1] >= 0.95


def test_csv_data(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, size=(120, 2))
    label = (x[:, 0] + x[:, 1] > 0).astype(int)
    path = tmp_path / "points.csv"
    lines = ["<b>a</b>,b,cls"] + [f"{u},{v},{k}" for (u, v), k in zip(x, label)]
    path.write_text("\n".join(lines) + "\n")
    _, tables = run(task="classification", csv=str(path), target="cls", epochs=20)
    ds = tables["dataset"].iloc[0]
    assert (ds["n_samples"], ds["name"], ds["source"]) == (120, "points.csv", str(path))
    assert json.loads(ds["features"]) == ["<b>a</b>", "b"]
    assert tables["history"]["test_accuracy"].iloc[-1] >= 0.9
    assert "decision_grid" in tables
    with pytest.raises(NnhwError, match="--test-fraction"):
        prepare(Config(task="classification", csv=str(path), target="cls", test_fraction=0.001))


def test_divergence_is_a_result():
    cfg, tables = run(task="regression", optimizer="sgd", lr=1e3, **SMALL)
    h = tables["history"]
    assert train.status(tables) == "diverged"
    assert not np.isfinite(h["train_loss"].iloc[-1]) and np.isfinite(h["train_loss"].iloc[0])
    epoch = int(h["epoch"].iloc[-1])
    assert train.headline(tables) == f"diverged at epoch {epoch}"
    assert train.metrics(tables)["diverged_epoch"] == epoch
    assert "fit_curve" not in tables  # the net's outputs are not finite
    texts = [f.text for f in train.report(tables, cfg).findings]
    assert any(f"diverged at epoch {epoch}" in t for t in texts)
    assert set(train.figures(tables, cfg)) == {"loss", "gradient_norms"}


def test_ctrl_c_keeps_the_finished_epochs():
    class StopAfter:
        def __init__(self, n):
            self.n = n

        def advance(self, k=1):
            self.n -= k
            if self.n == 0:
                raise KeyboardInterrupt

        def close(self):
            pass

    ctx = RunContext(progress=lambda desc, total: StopAfter(3))
    with pytest.raises(Interrupted) as info:
        train.compute(Config(task="regression", **{**SMALL, "epochs": 50}), ctx)
    h = info.value.tables["history"]
    assert h["epoch"].tolist() == [0, 1, 2, 3]
    assert np.isfinite(h["train_loss"]).all()


def test_ctrl_c_mid_epoch_reports_the_net_of_the_last_recorded_epoch(monkeypatch):
    """Interrupted in the middle of epoch 4: the predictions are those of the 3-epoch net."""
    from nnhw.core.optim import make_optimizer

    def interrupting(*args, **kwargs):
        opt, steps = make_optimizer(*args, **kwargs), [0]
        inner = opt.step

        def step(model):
            steps[0] += 1
            if steps[0] == 3 * 5 + 2:  # 160 training points in batches of 32: 5 steps per epoch
                raise KeyboardInterrupt
            inner(model)

        opt.step = step
        return opt

    monkeypatch.setattr(train_compute, "make_optimizer", interrupting)
    with pytest.raises(Interrupted) as info:
        train.compute(Config(task="classification", **SMALL), RunContext())
    got = info.value.tables
    assert got["history"]["epoch"].tolist() == [0, 1, 2, 3]
    monkeypatch.undo()
    _, full = run(task="classification", **{**SMALL, "epochs": 3})
    for name in ("history", "test_points", "decision_grid"):
        pd.testing.assert_frame_equal(got[name], full[name])
    texts = " ".join(
        f.text for f in train.report(got, Config(task="classification", **SMALL)).findings
    )
    assert "stopped after 3 of 5 epochs (interrupted)" in texts


def test_progress_advances_once_per_epoch():
    seen = []

    class Tracker:
        def advance(self, n=1):
            seen.append(n)

        def close(self):
            seen.append("closed")

    train.compute(Config(task="regression", **SMALL), RunContext(progress=lambda d, t: Tracker()))
    assert seen == [1] * SMALL["epochs"] + ["closed"]


def _roundtrip(tables, tmp_path):
    out = {}
    for name, df in tables.items():
        df.to_csv(tmp_path / f"{name}.csv", index=False)
        out[name] = pd.read_csv(tmp_path / f"{name}.csv")
    return out


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_figures_and_report_rebuild_from_saved_tables(task, tmp_path):
    cfg, tables = run(task=task, **SMALL)
    saved = _roundtrip(tables, tmp_path)
    figs, again = train.figures(tables, cfg), train.figures(saved, cfg)
    expected = {"classification": "decision_boundary", "regression": "fit"}[task]
    assert set(figs) == {"loss", "gradient_norms", expected}
    for name in figs:
        assert figure_bytes(figs[name]) == figure_bytes(again[name]), name
    assert train.report(tables, cfg) == train.report(saved, cfg)
    assert train.headline(saved) == train.headline(tables)


def test_findings_carry_the_numbers_of_the_history():
    cfg, tables = run(task="classification", **SMALL)
    h = tables["history"]
    texts = " ".join(f.text for f in train.report(tables, cfg).findings)
    ratio0 = h["grad_norm_W1"].iloc[0] / h["grad_norm_W2"].iloc[0]
    assert f"{ratio0:.4g} at initialisation" in texts
    assert f"test accuracy {h['test_accuracy'].iloc[-1]:.4g}" in texts
    assert "did not diverge" in texts
    sat = h["saturated_fraction_h1"].iloc[-1]
    assert f"{100 * sat:.1f}% of unit activations are saturated" in texts


@pytest.mark.parametrize("activation", ["gelu", "elu", "mish"])
def test_new_activations_train_and_say_where_they_saturate(activation):
    """A smooth activation's units are never dead on a whole batch: no "0.0% dead" finding; its
    saturation is the flat left tail, and the finding says where that starts."""
    cfg, tables = run(task="regression", activation=activation, **SMALL)
    h = tables["history"]
    loss = h["train_loss"].to_numpy()
    assert np.all(np.isfinite(loss)) and loss[-1] < loss[0]
    texts = [f.text for f in train.report(tables, cfg).findings]
    assert not any("units are dead" in t for t in texts)
    saturation = [t for t in texts if "saturated" in t]
    assert saturation and all("flat left tail, z < -" in t for t in saturation)
