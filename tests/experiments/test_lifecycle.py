"""A run's life in real processes: SIGTERM handled like Ctrl-C (exit 143, interrupted, cells
kept, and the printed hint resumes the run as printed); a run killed with SIGKILL is seen as
interrupted whatever pid its run.json records; of two resumes started together exactly one runs;
worker processes of a killed `--workers 2` run end within seconds; durations add up across
sessions. The process is `python -m tests.experiments.toy_cli toy-sweep` (the real CLI with the
toy sweep study: 6 cells of NNHW_TOY_SLEEP seconds each). Every wait is bounded."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from nnhw.experiments.runs import studies
from nnhw.experiments.runs.catalog import list_runs
from nnhw.experiments.runs.rundir import RunDir, run_status
from nnhw.experiments.runs.runner import execute
from tests.experiments import sweep_toy
from tests.experiments.sweep_toy import marker_counts

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 60.0
N_CELLS = 6  # sweep_toy.Config(): n_a 3 x n_b 2


def toy(*args: object, sleep: float = 0.5, markers: Path | None = None, run: int = 0,
        env: dict[str, str] | None = None) -> subprocess.Popen:  # fmt: skip
    """`nnhw toy-sweep ARGS` in a new process."""
    environ = dict(os.environ, PYTHONPATH=str(REPO), NNHW_TOY_SLEEP=str(sleep))
    environ["NNHW_TOY_RUN"] = str(run)
    environ.pop("NNHW_TOY_INTERRUPT", None)
    if markers is not None:
        environ["NNHW_TOY_MARKERS"] = str(markers)
    environ.update(env or {})
    return subprocess.Popen(
        [sys.executable, "-m", "tests.experiments.toy_cli", "toy-sweep", *map(str, args)],
        cwd=REPO,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def cell_files(run: Path) -> list[Path]:
    """The finished cells on disk (whatever their file format): not temporary, not failed."""
    return [
        p
        for p in run.glob("cells/*/*")
        if not p.name.startswith(".") and not p.name.endswith(".failed.json")
    ]


def wait_until(condition: Callable[[], bool], proc: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert proc.poll() is None, f"ended before {what}: {proc.communicate()[1]}"
        assert time.monotonic() < deadline, f"no {what} within {TIMEOUT} s"
        time.sleep(0.02)


def started_run(out: Path, proc: subprocess.Popen, cells: int = 1) -> Path:
    """The run folder of `proc` once at least `cells` cells are on disk."""
    wait_until(lambda: out.is_dir() and any(out.iterdir()), proc, "run folder")
    (run,) = out.iterdir()
    wait_until(lambda: len(cell_files(run)) >= cells, proc, f"{cells} finished cell(s)")
    return run


def info(run: Path) -> dict:
    return json.loads((run / "run.json").read_text())


def test_sigterm_is_handled_like_ctrl_c_and_the_hint_resumes_as_printed(tmp_path: Path) -> None:
    out, markers = tmp_path / "runs", tmp_path / "markers"
    markers.mkdir()
    proc = toy("--out", out, markers=markers)
    run = started_run(out, proc, cells=2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 143, err
    hint = f"nnhw toy-sweep --resume {shlex.quote(str(run))}"
    assert err == f"nnhw: interrupted; resume with: {hint}\n"
    first = info(run)
    assert first["status"] == "interrupted" and run_status(run) == "interrupted"
    kept = {p.name for p in cell_files(run)}
    assert 2 <= len(kept) < N_CELLS and first["duration_s"] > 0

    # The hint, run exactly as printed (no option repeated), finishes the run.
    args = shlex.split(hint)
    assert args[:2] == ["nnhw", "toy-sweep"]
    proc = toy(*args[2:], sleep=0.0, markers=markers, run=1)
    out_text, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err
    assert out_text.startswith("nnhw toy-sweep: completed — 6 cells")
    last = info(run)
    assert last["status"] == "completed" and len(last["resumes"]) == 1
    # Every cell computed once, but for at most the one in flight at the SIGTERM.
    counts = marker_counts(markers)
    assert len(counts) == N_CELLS and sum(counts.values()) <= N_CELLS + 1
    assert last["duration_s"] > first["duration_s"]  # the sessions add up


def test_a_killed_run_is_interrupted_whatever_pid_it_records(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    proc = toy("--out", out, sleep=0.3)
    run = started_run(out, proc, cells=1)
    assert run_status(run) == "running"  # its process holds the lock
    time.sleep(1.1)  # past the next heartbeat (at most one a second, as cells finish)
    proc.kill()
    proc.communicate(timeout=TIMEOUT)
    before = info(run)
    assert before["status"] == "running"  # SIGKILL: nobody could write the final status
    assert before["duration_s"] > 0  # the heartbeats recorded the session so far
    # The recorded pid belongs to a live process now (pid reuse): still not "running".
    RunDir.open(run).update(pid=os.getpid())
    assert run_status(run) == "interrupted"
    assert [e.status for e in list_runs(out)] == ["interrupted"]

    proc = toy("--resume", run.name[:15], "--out", out, sleep=0.0)  # an id prefix under --out
    _, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err
    after = info(run)
    assert after["status"] == "completed" and after["duration_s"] >= before["duration_s"]


@pytest.fixture
def toy_study(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(studies.STUDIES, sweep_toy.COMMAND, sweep_toy.__name__)


def interrupted_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A toy run interrupted (in this process) during its third cell."""
    monkeypatch.setenv("NNHW_TOY_INTERRUPT", "1,b0")
    outcome = execute(sweep_toy.COMMAND, sweep_toy.Config(), out=tmp_path, argv=["toy-sweep"])
    monkeypatch.delenv("NNHW_TOY_INTERRUPT")
    assert outcome.status == "interrupted" and len(cell_files(outcome.rundir.path)) == 2
    return outcome.rundir.path


def test_of_two_resumes_started_together_exactly_one_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toy_study: None
) -> None:
    run = interrupted_run(tmp_path / "runs", monkeypatch)
    markers = tmp_path / "markers"
    markers.mkdir()
    procs = [toy("--resume", run, sleep=0.3, markers=markers, run=i) for i in (1, 2)]
    results = [(p.returncode, err) for p in procs for _, err in [p.communicate(timeout=TIMEOUT)]]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    (refusal,) = [err for code, err in results if code == 2]
    assert refusal.count("\n") == 1 and refusal.startswith(
        f"nnhw: error: --resume: {run} is in use"
    )
    assert info(run)["status"] == "completed" and len(info(run)["resumes"]) == 1
    assert marker_counts(markers) and set(marker_counts(markers).values()) == {1}  # once each
    assert sum(marker_counts(markers).values()) == N_CELLS - 2


def test_workers_end_with_a_killed_parent(tmp_path: Path) -> None:
    psutil = pytest.importorskip("psutil")
    out = tmp_path / "runs"
    proc = toy("--out", out, "--workers", "2", "--n-a", "4", sleep=5.0)
    parent = psutil.Process(proc.pid)

    def workers() -> list:
        children = parent.children(recursive=True)
        return [c for c in children if "loky" in " ".join(c.cmdline())]

    descendants: list = []
    try:
        wait_until(lambda: len(workers()) >= 2, proc, "two loky workers")
        time.sleep(0.5)  # the workers are inside their first cells
        descendants = parent.children(recursive=True)  # workers and resource trackers
        assert len(descendants) >= 3
        proc.kill()
        proc.communicate(timeout=TIMEOUT)
        t0 = time.monotonic()
        _, alive = psutil.wait_procs(descendants, timeout=5.0)
        assert not alive, [p.cmdline() for p in alive]
        print(f"{len(descendants)} worker processes ended {time.monotonic() - t0:.2f} s after")
    finally:
        for p in descendants:
            if p.is_running():
                p.kill()


class Recorder:
    """A progress factory that records every bar: [description, total, advanced, closed]."""

    def __init__(self) -> None:
        self.bars: list[list] = []

    def __call__(self, description: str, total: int | None) -> object:
        bar = [description, total, 0, False]
        self.bars.append(bar)

        class Tracker:
            def advance(self, n: int = 1) -> None:
                bar[2] += n

            def close(self) -> None:
                bar[3] = True

        return Tracker()


@pytest.fixture
def fake_study(monkeypatch: pytest.MonkeyPatch) -> object:
    from tests.experiments import report_fake_study as fake

    monkeypatch.setitem(studies.STUDIES, fake.COMMAND, fake.__name__)
    monkeypatch.setattr(fake, "INTERRUPT_AFTER", -1)
    return fake


def test_every_stage_has_a_bar_and_every_bar_counts_to_its_total(
    tmp_path: Path, fake_study, toy_study
) -> None:
    for command, config in [("fake", fake_study.Config()), ("toy-sweep", sweep_toy.Config())]:
        progress = Recorder()
        outcome = execute(command, config, out=tmp_path, argv=[command], progress=progress)
        assert outcome.status == "completed"
        stages = [bar[0] for bar in progress.bars]
        assert stages[-4:] == ["tables", "drawing figures", "saving figures", "report"], stages
        for description, total, advanced, closed in progress.bars:
            assert closed, description
            assert total is None or advanced == total, (command, description, total, advanced)
        tables = len(list((outcome.rundir.path / "tables").glob("*.csv")))
        assert [b[1] for b in progress.bars if b[0] == "tables"] == [tables]
    assert [b[1] for b in progress.bars if b[0] == "cells"] == [N_CELLS]  # the toy sweep


def test_parallel_figure_saving_reports_every_figure(tmp_path: Path) -> None:
    from nnhw.experiments.reporting.parallel_figures import save_figures
    from tests.experiments.test_parallel_figures import figures

    saved: list[int] = []
    rd = RunDir.create(tmp_path, "fake", ["fake"], {}, None)
    save_figures(rd, figures(5), workers=2, on_saved=saved.append)
    assert sum(saved) == 5 and all(n >= 0 for n in saved)


def test_duration_covers_figures_and_report_and_adds_up_across_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_study
) -> None:
    def slow(function: Callable, seconds: float) -> Callable:
        def wrapped(*args: object) -> object:
            time.sleep(seconds)
            return function(*args)

        return wrapped

    monkeypatch.setattr(fake_study, "figures", slow(fake_study.figures, 0.4))
    monkeypatch.setattr(fake_study, "report", slow(fake_study.report, 0.4))
    t0 = time.monotonic()
    outcome = execute("fake", fake_study.Config(), out=tmp_path, argv=["fake"])
    wall = time.monotonic() - t0
    first = info(outcome.rundir.path)
    assert 0.8 <= first["duration_s"] <= wall  # compute, figures and report
    assert 0 <= first["report_duration_s"] <= first["duration_s"]

    # A resumed session adds its time to what the earlier sessions recorded.
    RunDir.open(outcome.rundir.path).update(status="interrupted", duration_s=100.0)
    t0 = time.monotonic()
    execute("fake", fake_study.Config(), out=tmp_path, argv=["fake"], resume=outcome.rundir.path)
    wall = time.monotonic() - t0
    assert 100.8 <= info(outcome.rundir.path)["duration_s"] <= 100.0 + wall


def test_verify_counts_its_measurements_not_its_claims(monkeypatch: pytest.MonkeyPatch) -> None:
    import pandas as pd

    from nnhw.experiments.runs.context import RunContext
    from nnhw.experiments.verify import compute as verify
    from nnhw.experiments.verify.config import Config

    # Three quick measurements and no sub-study: the bar's total is what is measured.
    jobs = {name: (lambda s, c, n=name: {n: pd.DataFrame({"x": [1]})}) for name in "abc"}
    monkeypatch.setattr(verify, "MEASUREMENTS", jobs)
    monkeypatch.setattr(verify, "SUBSTUDIES", ())
    monkeypatch.setattr(verify, "claims_table_from", lambda tables, config: pd.DataFrame())
    progress = Recorder()
    tables = verify.compute(Config(), RunContext(progress=progress))
    assert set(tables) == {"a", "b", "c", "claims"}
    assert [b[:3] for b in progress.bars] == [["measurements", 3, 3], ["claims", None, 0]]
