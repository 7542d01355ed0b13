"""`nnhw compare-activations` at the command line: a tiny run and its run directory, --json, the
config file reproducing the run, resume refusing other settings, the help's choices against the
core's registries, and bad input exiting 2 with one line."""

from __future__ import annotations

import contextlib
import io
import json
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from tests.cli.conftest import Invoke
from tests.runfiles import table_path

TINY = ["--activations", "relu,sigmoid", "--seeds", "2", "--epochs", "3", "--samples", "100",
        "--hidden", "8", "--timing-repeats", "2", "--quiet"]  # fmt: skip
DETERMINISTIC = ("points", "history", "layers", "decision_grid", "linear_baseline", "layer_summary")


@pytest.fixture(scope="module")
def tiny_json(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One tiny run with --json, shared by the tests below; the JSON printed on stdout."""
    from nnhw.cli.main import main

    out = tmp_path_factory.mktemp("ca")
    stdout = io.StringIO()
    with pytest.raises(SystemExit) as exc, contextlib.redirect_stdout(stdout):
        main(["compare-activations", *TINY, "--include-identity", "--json", "--out", str(out)])
    assert exc.value.code == 0
    payload = json.loads(stdout.getvalue())  # the JSON line is all there is on stdout
    assert Path(payload["run_dir"]).parent == out
    return payload


@pytest.fixture(scope="module")
def tiny_run(tiny_json: dict) -> Path:
    return Path(tiny_json["run_dir"])


def test_tiny_run_writes_the_run_directory(tiny_json: dict, tiny_run: Path) -> None:
    assert tiny_json["status"] == "completed"
    assert json.loads((tiny_run / "run.json").read_text())["status"] == "completed"
    summary = pd.read_csv(tiny_run / "tables" / "summary.csv")
    assert list(summary["activation"]) == ["relu", "sigmoid", "identity"]
    for name in (*DETERMINISTIC, "timing", "summary"):
        assert table_path(tiny_run, name).is_file(), name  # .csv, or .csv.bz2 when large
    for name in ("loss_curves", "gradient_norms", "unit_health", "activation_ranges", "timing",
                 "decision_boundaries"):  # fmt: skip
        assert (tiny_run / "plots" / f"{name}.png").is_file(), name
    report = (tiny_run / "report.md").read_text()
    assert "Activation functions compared" in report and "1.4(c)" in report
    assert (tiny_run / "report.html").is_file()
    settings = tomllib.loads((tiny_run / "config.toml").read_text())["compare-activations"]
    assert settings["activations"] == ["relu", "sigmoid", "identity"]
    assert settings["hidden"] == [8] and settings["dataset"] == "moons"
    assert tiny_json["metrics"]["relu.time_ratio"] == 1.0
    assert 0 <= tiny_json["metrics"]["sigmoid.test_accuracy"] <= 1


def test_config_file_reproduces_the_run(invoke: Invoke, tiny_run: Path, tmp_path: Path) -> None:
    code, out, err = invoke("compare-activations", "--config", tiny_run / "config.toml", "--quiet",
                            "--out", tmp_path)  # fmt: skip
    assert code == 0, err
    (again,) = tmp_path.iterdir()
    for name in DETERMINISTIC:  # timing (wall clock) is the only table that may differ
        a, b = table_path(tiny_run, name), table_path(again, name)
        assert a.read_bytes() == b.read_bytes(), name
    # the terminal summary: status and headline, the key numbers, the run directory
    assert out.startswith("nnhw compare-activations: completed")
    # one row per activation, one column per number (not one line per activation x number)
    assert "test accuracy" in out and "grad ratio" in out and "relu.test_accuracy" not in out
    assert any(line.startswith("│ identity ") for line in out.splitlines()), out
    assert out.strip().splitlines()[-1] == f"Report: {again / 'report.html'}"


def test_resume_with_other_settings_is_refused(invoke: Invoke, tiny_run: Path) -> None:
    code, _, err = invoke("compare-activations", *TINY, "--include-identity", "--seeds", "3",
                          "--resume", tiny_run)  # fmt: skip
    assert code == 2, err
    assert "--resume" in err and "seeds" in err and len(err.strip().splitlines()) == 1


def test_help_choices_are_the_registries(invoke: Invoke) -> None:
    from nnhw.cli.compare_activations import HELP_CHOICES
    from nnhw.core.activations import ACTIVATION_NAMES
    from nnhw.core.data import DATASET_NAMES, TASKS
    from nnhw.core.init import INIT_NAMES
    from nnhw.core.optim import OPTIMIZER_NAMES

    registries = {"task": TASKS, "dataset": DATASET_NAMES, "activation": ACTIVATION_NAMES,
                  "init": INIT_NAMES, "optimizer": OPTIMIZER_NAMES}  # fmt: skip
    for key, names in registries.items():
        assert HELP_CHOICES[key] == ", ".join(names), key
    code, out, err = invoke("compare-activations", "--help")
    assert code == 0, err
    for option in ("--task", "--dataset", "--activations", "--seeds", "--hidden", "--epochs",
                   "--lr", "--optimizer", "--batch-size", "--init", "--target-loss",
                   "--include-identity", "--workers", "--dask", "--resume", "--keep-going",
                   "--fail-fast", "--out", "--seed", "--config", "--quiet", "--json"):  # fmt: skip
        assert option in out, option


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--activations", "swish"], "--activations"),
        (["--activations", "swish"], "identity, gelu, gelu-tanh, silu, elu, selu, softplus, mish"),
        (["--activations", "all,relu"], "--activations"),
        (["--elu-alpha", "0.5"], "--elu-alpha applies to elu only"),
        (["--activations", "elu", "--elu-alpha", "-1"], "--elu-alpha"),
        (["--activations", "relu,,tanh"], "--activations"),
        (["--activations", "relu,relu"], "--activations"),
        (["--seeds", "0"], "--seeds"),
        (["--seeds", "two"], "--seeds"),
        (["--hidden", "0"], "--hidden"),
        (["--hidden", "64,,x"], "--hidden"),
        (["--lr", "0"], "--lr"),
        (["--lr", "-1"], "--lr"),
        (["--epochs", "0"], "--epochs"),
        (["--batch-size", "0"], "--batch-size"),
        (["--samples", "5"], "--samples"),
        (["--target-loss", "0"], "--target-loss"),
        (["--negative-slope", "1.5"], "--negative-slope"),
        (["--timing-repeats", "0"], "--timing-repeats"),
        (["--optimizer", "rmsprop"], "--optimizer"),
        (["--init", "kaiming"], "--init"),
        (["--dataset", "mnist"], "--dataset"),
        (["--task", "ranking"], "--task"),
        (["--task", "regression", "--dataset", "moons"], "--dataset"),
        (["--workers", "0"], "--workers"),
        (["--config", "/nonexistent/config.toml"], "--config"),
        (["--resume", "/nonexistent/run"], "/nonexistent/run"),
        (["--depths", "1,2,1"], "--depths"),
        (["--depths", "0,2"], "--depths"),
        (["--depths", "1,x"], "--depths"),
        (["--depths", "1,,2"], "--depths"),
        (["--depths", "1,2", "--hidden", "8,16"], "--hidden"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    invoke: Invoke, tmp_path: Path, args: list[str], needle: str
) -> None:
    code, _, err = invoke("compare-activations", *TINY, *args, "--out", tmp_path / "out")
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_bad_config_file_keys_are_named(invoke: Invoke, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[compare-activations]\nseeds = "five"\n')
    code, _, err = invoke("compare-activations", "--config", bad, "--out", tmp_path / "out")
    assert code == 2 and "seeds" in err and str(bad) in err, err
    bad.write_text("[compare-activations]\nwidth = 3\n")
    code, _, err = invoke("compare-activations", "--config", bad, "--out", tmp_path / "out")
    assert code == 2 and "width" in err and len(err.strip().splitlines()) == 1, err


# -- --depths -------------------------------------------------------------------------------------

DEPTHS = [*TINY, "--depths", "1,2"]


def test_depths_with_unequal_widths_names_both_options(invoke: Invoke, tmp_path: Path) -> None:
    code, _, err = invoke("compare-activations", *TINY, "--depths", "1,2", "--hidden", "8,16",
                          "--out", tmp_path)  # fmt: skip
    assert code == 2 and "--hidden" in err and "--depths" in err, err
    assert len(err.strip().splitlines()) == 1


def _run(invoke: Invoke, out: Path, *args: str) -> Path:
    code, _, err = invoke("compare-activations", *DEPTHS, *args, "--out", out)
    assert code == 0, err
    (run,) = out.iterdir()
    return run


def test_depths_run_is_the_same_with_two_workers_and_rebuilds_byte_identically(
    invoke: Invoke, tmp_path: Path
) -> None:
    one = _run(invoke, tmp_path / "w1", "--workers", "1")
    two = _run(invoke, tmp_path / "w2", "--workers", "2")
    for name in (*DETERMINISTIC[:-2], "layer_summary"):  # no identity: no linear_baseline
        a, b = table_path(one, name), table_path(two, name)
        assert a.read_bytes() == b.read_bytes(), name
    summary = pd.read_csv(one / "tables" / "summary.csv")
    assert list(zip(summary["activation"], summary["depth"])) == [
        ("relu", 1), ("relu", 2), ("sigmoid", 1), ("sigmoid", 2)
    ]  # fmt: skip
    settings = tomllib.loads((one / "config.toml").read_text())["compare-activations"]
    assert settings["depths"] == [1, 2] and settings["hidden"] == [8]
    plots = sorted(p.name for p in (one / "plots").glob("*.png"))
    assert "depth_effect.png" in plots and len(plots) == 7
    report = (one / "report.md").read_text()
    assert "## Depth" in report and "At depth 2, the deepest" in report
    before = {p.name: p.read_bytes() for p in [one / "report.md", one / "report.html"]}
    before |= {p.name: p.read_bytes() for p in (one / "plots").iterdir()}
    code, _, err = invoke("report", one)
    assert code == 0, err
    after = {p.name: p.read_bytes() for p in [one / "report.md", one / "report.html"]}
    after |= {p.name: p.read_bytes() for p in (one / "plots").iterdir()}
    assert after.keys() == before.keys()
    assert [k for k in before if before[k] != after[k]] == []
