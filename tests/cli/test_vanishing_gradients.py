"""`nnhw vanishing-gradients` at the command line: a tiny run with its run directory, its config
file reproducing it, resume refusing other settings, and bad input exiting 2 with one line."""

from __future__ import annotations

import contextlib
import io
import json
import tomllib
from pathlib import Path

import pytest

from tests.cli.conftest import Invoke
from tests.runfiles import table_paths

TINY = ["--depths", "1,3", "--width", "16", "--activations", "sigmoid,relu",
        "--inits", "xavier-normal,he-normal", "--seeds", "2", "--batch-size", "16",
        "--batches", "2", "--epochs", "1", "--widths", "1,2", "--samples", "300",
        "--quiet"]  # fmt: skip


@pytest.fixture(scope="module")
def tiny_json(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One tiny run with --json shared by the tests below (invoke is function-scoped, so call
    main here); returns the JSON payload printed on stdout."""
    from nnhw.cli.main import main

    out = tmp_path_factory.mktemp("vg")
    stdout = io.StringIO()
    with pytest.raises(SystemExit) as exc, contextlib.redirect_stdout(stdout):
        main(["vanishing-gradients", *TINY, "--json", "--out", str(out)])
    assert exc.value.code == 0
    payload = json.loads(stdout.getvalue())  # the JSON line is all there is on stdout
    assert Path(payload["run_dir"]).parent == out
    return payload


@pytest.fixture(scope="module")
def tiny_run(tiny_json: dict) -> Path:
    return Path(tiny_json["run_dir"])


def test_tiny_run_writes_the_run_directory(tiny_json: dict, tiny_run: Path) -> None:
    assert tiny_json["status"] == "completed"
    info = json.loads((tiny_run / "run.json").read_text())
    assert info["status"] == "completed"
    for name in ("layers", "training", "theory", "summary", "vanishing", "dead_relu"):
        assert (tiny_run / "tables" / f"{name}.csv").is_file(), name
    for name in ("signal_by_layer", "weight_grad_by_layer", "act_std_by_layer",
                 "fitted_vs_predicted", "training_heatmap", "dead_relu"):  # fmt: skip
        assert (tiny_run / "plots" / f"{name}.png").is_file(), name
    report = (tiny_run / "report.md").read_text()
    assert "1.3(b)" in report and "Dead ReLU" in report
    settings = tomllib.loads((tiny_run / "config.toml").read_text())["vanishing-gradients"]
    assert settings["depths"] == [1, 3] and settings["activations"] == ["sigmoid", "relu"]
    assert settings["width"] == 16 and settings["samples"] == 300
    assert tiny_json["metrics"]["depth"] == 3
    assert 0 < tiny_json["metrics"]["sigmoid/xavier-normal signal factor"] < 0.35


def test_config_file_reproduces_the_run(invoke: Invoke, tiny_run: Path, tmp_path: Path) -> None:
    code, _, err = invoke("vanishing-gradients", "--config", tiny_run / "config.toml", "--quiet",
                          "--out", tmp_path)  # fmt: skip
    assert code == 0, err
    (again,) = tmp_path.iterdir()
    tables = table_paths(tiny_run)  # plain and compressed
    assert len(tables) == 12  # experiments.vanishing_gradients.compute.TABLES
    for table in tables:
        assert (again / "tables" / table.name).read_bytes() == table.read_bytes(), table.name


def test_resume_with_other_settings_is_refused(invoke: Invoke, tiny_run: Path) -> None:
    code, _, err = invoke("vanishing-gradients", *TINY, "--width", "8", "--resume", tiny_run)
    assert code == 2
    assert "--resume" in err and "width" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--depths", "0"], "--depths"),
        (["--depths", "1,,2"], "--depths"),
        (["--depths", "two"], "--depths"),
        (["--inits", "glorot"], "--inits"),
        (["--inits", "zero"], "--inits"),
        (["--activations", "swish"], "--activations"),
        (["--activations", "swish"], "gelu, gelu-tanh, silu, elu, selu, softplus, mish"),
        (["--selfnorm-depth", "0"], "--selfnorm-depth"),
        (["--inits", "lecun"], "lecun-normal"),
        (["--width", "0"], "--width"),
        (["--widths", "0,2"], "--widths"),
        (["--seeds", "0"], "--seeds"),
        (["--lr", "-1"], "--lr"),
        (["--epochs", "0"], "--epochs"),
        (["--samples", "0"], "--samples"),
        (["--batch-size", "0"], "--batch-size"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    invoke: Invoke, tmp_path: Path, args: list[str], needle: str
) -> None:
    code, _, err = invoke("vanishing-gradients", *TINY, *args, "--out", tmp_path)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], err
    assert "Traceback" not in err
    assert not any(tmp_path.iterdir())  # no run directory for bad input


def test_help_lists_the_options(invoke: Invoke) -> None:
    code, out, err = invoke("vanishing-gradients", "--help")
    assert code == 0, err
    for option in ("--depths", "--width", "--activations", "--inits", "--seeds", "--batch-size",
                   "--batches", "--epochs", "--lr", "--widths", "--samples", "--workers",
                   "--dask", "--resume", "--keep-going", "--out", "--seed", "--config",
                   "--quiet", "--json"):  # fmt: skip
        assert option in out, option


def test_help_lists_the_registries(invoke: Invoke) -> None:
    """The help's choices are the registries' (every activation; every init but zero), and
    --help does not need NumPy to list them."""
    from nnhw.cli.vanishing_gradients import HELP_CHOICES
    from nnhw.core.activations import ACTIVATION_NAMES
    from nnhw.experiments.vanishing_gradients.config import STUDY_INITS

    assert HELP_CHOICES["activation"] == ", ".join(ACTIVATION_NAMES)
    assert HELP_CHOICES["init"] == ", ".join(STUDY_INITS)
    code, out, _ = invoke("vanishing-gradients", "--help")
    assert code == 0 and "mish" in out and "lecun-normal" in out and "--selfnorm-depth" in out
