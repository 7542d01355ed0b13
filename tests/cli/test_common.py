"""cli.common through a throwaway `nnhw fake` command: config precedence, --json, the summary,
Ctrl-C with the resume hint, --resume refusal, parse_list errors."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Annotated

import pytest
import typer

from nnhw.cli.common import (
    RunOptions,
    SeedOption,
    parse_list,
    resolve_config,
    run_study,
    sweep_command,
)
from nnhw.core.errors import NnhwError
from nnhw.experiments.runs import studies
from tests.experiments import report_fake_study as fake


@sweep_command
def fake_cmd(
    ctx: typer.Context,
    epochs: Annotated[int, typer.Option("--epochs")] = 5,
    activations: Annotated[str, typer.Option("--activations")] = "relu,tanh",
    seed: SeedOption = None,
    *,
    run: RunOptions,
) -> None:
    values = {
        "epochs": epochs,
        "seed": seed,
        "activations": parse_list(activations, "--activations", choices=("relu", "tanh")),
    }
    cfg = resolve_config(ctx, "fake", fake.Config, values, run.config)
    run_study("fake", cfg, run)


@pytest.fixture(autouse=True)
def fake_command(monkeypatch: pytest.MonkeyPatch) -> None:
    from nnhw.cli.main import app

    monkeypatch.setitem(studies.STUDIES, "fake", "tests.experiments.report_fake_study")
    monkeypatch.setattr(fake, "INTERRUPT_AFTER", -1)
    monkeypatch.setattr(app, "registered_commands", list(app.registered_commands))
    app.command("fake")(fake_cmd)


def only_run(tmp_path: Path) -> Path:
    (path,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    return path


def test_json_prints_one_object_and_nothing_else(invoke, tmp_path: Path) -> None:
    code, out, err = invoke("fake", "--json", "--out", tmp_path, "--seed", "3")
    assert code == 0, err
    assert out.count("\n") == 1
    data = json.loads(out)
    assert set(data) == {"run_dir", "status", "headline", "metrics"}
    assert data["status"] == "completed" and Path(data["run_dir"]) == only_run(tmp_path)
    info = json.loads((only_run(tmp_path) / "run.json").read_text())
    assert info["argv"] == ["fake", "--json", "--out", str(tmp_path), "--seed", "3"]
    assert info["seed"] == 3


def test_summary_and_results_path(invoke, tmp_path: Path) -> None:
    code, out, err = invoke("fake", "--out", tmp_path, "--quiet")
    assert code == 0, err
    assert out.startswith("nnhw fake: completed — lowest final loss 0.00")
    assert "┃ activation ┃" in out and "│ tanh " in out
    assert out.strip().endswith(f"Report: {only_run(tmp_path) / 'report.html'}")


def test_precedence_cli_over_file_over_defaults(invoke, tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[fake]\nepochs = 3\nseed = 4\nactivations = ["tanh"]\n')
    code, _, err = invoke("fake", "--config", cfg, "--seed", "9", "--out", tmp_path / "r", "-q")
    assert code == 0, err
    saved = tomllib.loads((only_run(tmp_path / "r") / "config.toml").read_text())["fake"]
    assert (saved["epochs"], saved["seed"], saved["activations"]) == (3, 9, ["tanh"])
    # The saved config.toml reproduces the run.
    code, _, err = invoke("fake", "--config", only_run(tmp_path / "r") / "config.toml",
                          "--out", tmp_path / "s", "-q")  # fmt: skip
    assert code == 0, err
    again = (only_run(tmp_path / "s") / "tables" / "curve.csv").read_bytes()
    assert again == (only_run(tmp_path / "r") / "tables" / "curve.csv").read_bytes()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[fake]\nepochz = 3\n", "unknown key 'epochz'"),
        ("[fake]\nepochs = 'x'\n", r"c.toml \[fake\]: epochs must be an integer, got 'x'"),
        ("[fake\n", "is not valid TOML"),
        ("[train]\nlr = 1\n", r"has no \[fake\] table"),
    ],
)
def test_bad_config_file(invoke, tmp_path: Path, text: str, message: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    code, out, err = invoke("fake", "--config", cfg, "--out", tmp_path / "r")
    assert code == 2 and out == ""
    assert (
        err.count("\n") == 1 and str(cfg) in err and pytest.importorskip("re").search(message, err)
    )
    assert not (tmp_path / "r").exists()


def test_ctrl_c_exits_130_with_resume_hint_and_resume_refuses_changes(
    invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fake, "INTERRUPT_AFTER", 1)
    code, _, err = invoke("fake", "--out", tmp_path, "-q")
    path = only_run(tmp_path)
    assert code == 130
    assert err.strip() == f"nnhw: interrupted; resume with: nnhw fake --resume {path}"
    code, _, err = invoke("fake", "--epochs", "7", "--resume", path, "-q")
    assert code == 2 and err.count("\n") == 1
    assert f"--resume: {path} was started with other settings: --epochs 5 (given: 7);" in err
    monkeypatch.setattr(fake, "INTERRUPT_AFTER", -1)
    code, out, err = invoke("fake", "--resume", path, "--json")
    assert code == 0, err
    assert json.loads(out)["status"] == "completed"


def test_parse_list() -> None:
    assert parse_list("ReLU, tanh", "--activations", choices=("relu", "tanh")) == ("relu", "tanh")
    assert parse_list("1,2,4", "--depths", cast=int) == (1, 2, 4)
    assert parse_list("1e3", "--depths", cast=int) == (1000,)
    with pytest.raises(NnhwError, match="--depths must be a comma-separated list, got '64,,8'"):
        parse_list("64,,8", "--depths", cast=int)
    with pytest.raises(NnhwError, match="--depths: every item must be an integer, got 'x'"):
        parse_list("64,x", "--depths", cast=int)
    with pytest.raises(NnhwError, match=r"--depths: every item must be an integer, got '1\.5'"):
        parse_list("1.5", "--depths", cast=int)
    with pytest.raises(
        NnhwError, match="--activations: every item must be one of relu, tanh, got 'relu6'"
    ):
        parse_list("relu6", "--activations", choices=("relu", "tanh"))


def test_summary_pivots_per_group_metrics() -> None:
    from nnhw.cli.summary import pivot

    metrics = {"depth": 4, "relu.loss": 0.1, "relu.time": 1.0, "tanh.loss": 0.2, "tanh.time": None,
               "relu/he factor": 1.0, "tanh/he factor": 0.9, "odd max |z|": 2}  # fmt: skip
    columns, rows, rest = pivot(metrics)
    assert columns == ["loss", "time", "factor"]
    assert rows == {"relu": {"loss": 0.1, "time": 1.0}, "tanh": {"loss": 0.2, "time": None},
                    "relu/he": {"factor": 1.0}, "tanh/he": {"factor": 0.9}}  # fmt: skip
    assert rest == {"depth": 4, "odd max |z|": 2}  # a name no other group has stays a row
    assert pivot({"a.x": 1, "b.y": 2}) == ([], {}, {"a.x": 1, "b.y": 2})  # nothing shared
