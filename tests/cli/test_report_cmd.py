"""`nnhw report RUN_DIR`: rebuilds the same bytes from the saved tables; interrupted runs say
what is missing; bad run directories are one clear line."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from nnhw.experiments.runs import studies
from nnhw.experiments.runs.runner import execute
from tests.experiments import report_fake_study as fake


@pytest.fixture(autouse=True)
def fake_study(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(studies.STUDIES, "fake", "tests.experiments.report_fake_study")
    monkeypatch.setattr(fake, "INTERRUPT_AFTER", -1)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_rebuild_shows_the_duration_the_report_showed(invoke, tmp_path: Path) -> None:
    """The run finishes (and run.json's duration_s grows) after its report is written; the
    rebuilt report still shows the duration the original showed, whatever the rounding."""
    rd = execute("fake", fake.Config(), out=tmp_path, argv=["fake"]).rundir
    before = sha(rd.path / "report.md")
    info = rd.run_json()
    shown = info["report_duration_s"]
    assert isinstance(shown, float) and shown <= info["duration_s"]
    rd.update(duration_s=shown + 7.49)  # as if finishing had taken seconds after the report
    code, _, err = invoke("report", rd.path)
    assert code == 0, err
    assert sha(rd.path / "report.md") == before


def test_rebuild_same_bytes_without_recomputing(invoke, tmp_path: Path) -> None:
    rd = execute("fake", fake.Config(), out=tmp_path, argv=["fake"]).rundir
    files = ["report.html", "report.md", "plots/loss.png", "plots/loss.svg"]
    before = {f: sha(rd.path / f) for f in files}
    for f in files:
        (rd.path / f).unlink()
    calls = len(fake.CALLS)
    code, out, err = invoke("report", rd.path)
    assert code == 0, err
    assert len(fake.CALLS) == calls  # nothing recomputed
    assert {f: sha(rd.path / f) for f in files} == before
    assert out.splitlines()[0] == f"Report: {rd.path / 'report.html'}"
    code, _, err = invoke("report", rd.id[:15], "--out", tmp_path)  # id prefix under --out
    assert code == 0, err


def test_interrupted_run_report_says_what_is_missing(invoke, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(fake, "INTERRUPT_AFTER", 1)
    rd = execute("fake", fake.Config(), out=tmp_path, argv=["fake"]).rundir
    (rd.path / "report.md").unlink()
    code, _, err = invoke("report", rd.path)
    assert code == 0 and "the run is interrupted" in err
    assert "interrupted before it finished" in (rd.path / "report.md").read_text()


def test_bad_run_dirs(invoke, tmp_path: Path) -> None:
    code, _, err = invoke("report", tmp_path / "nope")
    assert code == 2 and err.count("\n") == 1 and "no run" in err
    rd = execute("fake", fake.Config(), out=tmp_path, argv=["fake"]).rundir
    (rd.path / "run.json").write_text("{")
    code, _, err = invoke("report", rd.path)
    assert code == 2 and err.count("\n") == 1 and "run.json: unreadable" in err


def test_running_run_is_not_rebuilt(invoke, tmp_path: Path) -> None:
    from nnhw.experiments.runs.rundir import RunDir

    rd = execute("fake", fake.Config(), out=tmp_path, argv=["fake"]).rundir
    owner = RunDir.open(rd.path)
    owner.acquire()  # another owner works on the run (its lock is held)
    owner.update(status="running")
    code, _, err = invoke("report", rd.path)
    assert code == 2 and "is still running" in err and err.count("\n") == 1
    owner.release()  # the owner died: the run is interrupted, and can be rebuilt
    code, _, err = invoke("report", rd.path)
    assert code == 0 and "the run is interrupted" in err


def test_interrupted_sweep_report_points_to_resume(invoke, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(fake, "INTERRUPT_AFTER", 0)
    rd = execute("fake", fake.Config(), out=tmp_path, argv=["fake"]).rundir
    for i in range(3):
        (rd.cells_dir / "cell-abc").mkdir(parents=True, exist_ok=True)
        (rd.cells_dir / "cell-abc" / f"{i:05d}.cell").write_bytes(b"x")
    code, _, err = invoke("report", rd.path)
    assert code == 0, err
    md = (rd.path / "report.md").read_text()
    assert "3 finished sweep cell(s) are saved in cells/" in md and "fake --resume" in md
