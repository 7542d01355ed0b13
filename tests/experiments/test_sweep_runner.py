"""A sweep study through the runner (experiments.runner.execute): statuses and exit codes for
failed cells (keep-going and fail-fast) and Ctrl-C, resume to identical tables, and `--resume`
refused when the settings differ. The study is the toy in tests/experiments/sweep_toy.py."""

from __future__ import annotations

import pytest

from nnhw.core.errors import NnhwError
from nnhw.experiments.runs import studies
from nnhw.experiments.runs.context import RunContext, SweepOptions
from nnhw.experiments.runs.runner import execute
from nnhw.experiments.runs.sweep import combine, run_sweep
from tests.experiments import sweep_toy
from tests.experiments.sweep_toy import Config, failing_cell, marker_counts, toy_grid


@pytest.fixture(autouse=True)
def toy_study(monkeypatch):
    monkeypatch.setitem(studies.STUDIES, sweep_toy.COMMAND, sweep_toy.__name__)


@pytest.fixture
def markers(tmp_path, monkeypatch):
    folder = tmp_path / "markers"
    folder.mkdir()
    monkeypatch.setenv("NNHW_TOY_MARKERS", str(folder))
    return folder


def run(tmp_path, config=None, **kwargs):
    config = Config() if config is None else config
    return execute(sweep_toy.COMMAND, config, out=tmp_path / "runs", argv=["toy-sweep"], **kwargs)


def expected_csv(config: Config) -> bytes:
    cells = [dict(c, fail_a=config.fail_a) for c in toy_grid(config.n_a, config.n_b)]
    results = run_sweep(failing_cell, cells, RunContext(), config.seed)
    return combine(results)["summary"].to_csv(index=False).encode()


def test_interrupted_then_resumed_gives_the_uninterrupted_tables(tmp_path, monkeypatch, markers):
    monkeypatch.setenv("NNHW_TOY_INTERRUPT", "1,b1")  # Ctrl-C during cell 3 of 6
    first = run(tmp_path)
    assert (first.status, first.exit_code) == ("interrupted", 130)
    assert first.rundir.run_json()["status"] == "interrupted"
    assert sum(marker_counts(markers).values()) == 3  # cells 0-2 finished and are on disk

    monkeypatch.delenv("NNHW_TOY_INTERRUPT")
    second = run(tmp_path, resume=first.rundir.path)
    assert (second.status, second.exit_code) == ("completed", 0)
    assert second.rundir.path == first.rundir.path
    assert set(marker_counts(markers).values()) == {1}  # every cell computed exactly once
    summary = (second.rundir.path / "tables" / "summary.csv").read_bytes()
    assert summary == expected_csv(Config())


def test_resume_with_changed_settings_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("NNHW_TOY_INTERRUPT", "0,b1")
    first = run(tmp_path)
    monkeypatch.delenv("NNHW_TOY_INTERRUPT")
    with pytest.raises(
        NnhwError, match=r"--resume: settings differ from .*config\.toml: n_b was 2"
    ):
        run(tmp_path, Config(n_b=3), resume=first.rundir.path)
    assert first.rundir.run_json()["status"] == "interrupted"  # left as it was


def test_keep_going_failure_gives_exit_1_and_keeps_the_other_cells(tmp_path):
    outcome = run(tmp_path, Config(fail_a=1))
    assert (outcome.status, outcome.exit_code) == ("failed", 1)
    info = outcome.rundir.run_json()
    assert [f["index"] for f in info["failed_cells"]] == [2, 3]
    assert "2 sweep cell(s) failed" in outcome.message
    summary = (outcome.rundir.path / "tables" / "summary.csv").read_bytes()
    assert summary == expected_csv(Config(fail_a=1))
    assert len(summary.splitlines()) == 1 + 4


def test_fail_fast_failure_gives_exit_1_naming_the_cell(tmp_path):
    outcome = run(tmp_path, Config(fail_a=0), sweep=SweepOptions(keep_going=False))
    assert (outcome.status, outcome.exit_code) == ("failed", 1)
    assert outcome.message.startswith("sweep stopped (--fail-fast): cell 0 (a=0, b='b0'")
    assert [f["index"] for f in outcome.rundir.run_json()["failed_cells"]] == [0]
