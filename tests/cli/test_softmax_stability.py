"""`nnhw softmax-stability` at the command line: the default run and its tables, options that
reach the config, a config file reproducing a run, and bad input exiting 2 with one line."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from tests.cli.conftest import Invoke
from tests.runfiles import read_table, table_path, table_paths

TINY = ["--points", "3", "--rows", "1", "--classes", "3", "--quiet"]
TABLES = ("sweep", "thresholds", "cross_entropy", "temperature")


def test_default_run_exits_0_and_writes_the_documented_tables(
    invoke: Invoke, tmp_path: Path
) -> None:
    code, out, err = invoke("softmax-stability", "--json", "--out", tmp_path)
    assert code == 0, err
    payload = json.loads(out)
    assert payload["status"] == "completed"
    run = Path(payload["run_dir"])
    for name in TABLES:  # a large table is .csv.bz2, without a Markdown copy
        path = table_path(run, name)
        assert path.suffix == ".bz2" or (run / "tables" / f"{name}.md").is_file(), name
    for name in ("error_vs_scale", "fractions_outlier", "temperature", "cross_entropy"):
        assert (run / "plots" / f"{name}.png").is_file(), name
    sweep = read_table(run, "sweep")
    assert len(sweep) == 4 * 3 * 4 * 29  # cases x dtypes x formulas x points
    thresholds = pd.read_csv(run / "tables" / "thresholds.csv")
    naive = thresholds[thresholds["formula"] == "naive"]
    assert naive["matches_theory"].all()
    assert payload["metrics"]["max_shifted_broken_points"] == 0
    assert abs(payload["metrics"]["naive_overflow_float32"] - 88.72284) < 1e-4
    report = (run / "report.md").read_text()
    assert "88.72284 in float32 (theory 88.72284)" in report
    assert (run / "report.html").is_file()


def test_options_reach_the_run_and_its_config_file_reproduces_it(
    invoke: Invoke, tmp_path: Path
) -> None:
    args = [
        "--dtypes",
        "FLOAT32",
        "--cases",
        "outlier,shifted-down",
        "--formulas",
        "naive,max-shifted",
        "--scale-min",
        "1",
        "--scale-max",
        "1000",
        "--seed",
        "7",
    ]
    code, _, err = invoke("softmax-stability", *TINY, *args, "--out", tmp_path / "a")
    assert code == 0, err
    (run,) = (tmp_path / "a").iterdir()
    settings = tomllib.loads((run / "config.toml").read_text())["softmax-stability"]
    assert settings["dtypes"] == ["float32"] and settings["seed"] == 7
    assert settings["cases"] == ["outlier", "shifted-down"] and settings["points"] == 3
    sweep = read_table(run, "sweep")
    assert set(sweep["dtype"]) == {"float32"} and set(sweep["formula"]) == {"naive", "max-shifted"}
    assert sweep["scale"].min() == 1 and sweep["scale"].max() == 1000
    code, _, err = invoke(
        "softmax-stability", "--config", run / "config.toml", "--quiet", "--out", tmp_path / "b"
    )
    assert code == 0, err
    (again,) = (tmp_path / "b").iterdir()
    for table in table_paths(run):
        assert (again / "tables" / table.name).read_bytes() == table.read_bytes(), table.name


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--dtypes", "float8"], "--dtypes"),
        (["--dtypes", "float16,,float32"], "--dtypes"),
        (["--formulas", "fast"], "--formulas"),
        (["--cases", "huge"], "--cases"),
        (["--scale-min", "10", "--scale-max", "10"], "--scale-min"),
        (["--scale-min", "100", "--scale-max", "1"], "--scale-min"),
        (["--scale-min", "0"], "--scale-min"),
        (["--points", "1"], "--points"),
        (["--classes", "1"], "--classes"),
        (["--rows", "0"], "--rows"),
        (["--points", "many"], "--points"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    invoke: Invoke, tmp_path: Path, args: list[str], needle: str
) -> None:
    code, _, err = invoke("softmax-stability", *TINY, *args, "--out", tmp_path)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], err
    assert not any(tmp_path.iterdir())  # no run directory for a bad setting
