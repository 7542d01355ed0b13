"""`--dask` when the cluster is not there or goes away, in real processes (so that anything Dask
prints late, even at interpreter exit, is seen): a malformed address and a closed port fail
within seconds with one line and no run folder; a scheduler without workers fails after the
stated timeout with one line; a scheduler killed mid-run ends the run with one line, exit 1,
status failed and the finished cells kept, and a resume without Dask completes it. The Dask
scheduler and worker are `dask scheduler` / `dask worker` subprocesses of this test, ended by it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.experiments.sweep_toy import marker_counts
from tests.experiments.test_lifecycle import REPO, TIMEOUT, cell_files, started_run, toy

pytest.importorskip("dask.distributed")
DASK = Path(sys.executable).with_name("dask")


def one_line(err: str) -> str:
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err.strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """A Dask process in its own session (so the test can end it and all its children)."""
    # PYTHONPATH: workers unpickle the toy cell by reference; `env`: the toy cell's test hooks
    env = dict(os.environ, PYTHONPATH=str(REPO), **(env or {}))
    return subprocess.Popen(
        [str(DASK), *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def end(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=TIMEOUT)


@pytest.fixture
def scheduler(tmp_path: Path) -> Iterator[tuple[str, Path, subprocess.Popen]]:
    """(address, scheduler file, process) of a fresh `dask scheduler`."""
    if not DASK.exists():
        pytest.skip("no dask command line in this environment")
    file = tmp_path / "scheduler.json"
    proc = spawn("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                 "--scheduler-file", str(file))  # fmt: skip
    try:
        deadline = time.monotonic() + TIMEOUT
        while not file.exists() or not file.read_text().strip():
            assert proc.poll() is None and time.monotonic() < deadline, "no Dask scheduler"
            time.sleep(0.05)
        time.sleep(0.1)  # the file is written in one go, but let it settle
        yield json.loads(file.read_text())["address"], file, proc
    finally:
        end(proc)


@pytest.mark.parametrize("address", ["garbage", "tcp://127.0.0.1:{port}"])
def test_a_bad_address_fails_fast_with_one_line(tmp_path: Path, address: str) -> None:
    address = address.format(port=free_port())
    t0 = time.monotonic()
    proc = toy("--out", tmp_path / "runs", "--dask", address)
    out, err = proc.communicate(timeout=TIMEOUT)
    elapsed = time.monotonic() - t0
    assert proc.returncode == 2, err
    assert one_line(err).startswith(f"nnhw: error: --dask {address}: cannot connect")
    assert out == "" and not list((tmp_path / "runs").iterdir())  # no run folder left behind
    assert elapsed < 15.0, elapsed  # a 5 s connection timeout and the process's start-up


def test_no_worker_fails_after_the_stated_timeout(tmp_path: Path, scheduler) -> None:
    address, _, _ = scheduler
    t0 = time.monotonic()
    proc = toy("--out", tmp_path / "runs", "--dask", address,
               env={"NNHW_TOY_DASK_WORKER_TIMEOUT": "2"})  # fmt: skip
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 2, err
    assert one_line(err) == (
        f"nnhw: error: --dask {address}: no Dask worker connected to the scheduler within 2 s"
    )
    assert out == "" and time.monotonic() - t0 < 20.0


def test_a_scheduler_dying_mid_run_keeps_the_finished_cells(tmp_path: Path, scheduler) -> None:
    address, file, scheduler_proc = scheduler
    out, markers = tmp_path / "runs", tmp_path / "markers"
    markers.mkdir()
    hooks = {"NNHW_TOY_SLEEP": "0.5", "NNHW_TOY_MARKERS": str(markers), "NNHW_TOY_RUN": "0"}
    worker = spawn("worker", "--scheduler-file", str(file), "--nworkers", "1", "--nthreads", "1",
                   "--no-dashboard", "--death-timeout", "10", env=hooks)  # fmt: skip
    try:
        proc = toy("--out", out, "--dask", address, sleep=0.5, markers=markers)
        run = started_run(out, proc, cells=2)
        os.killpg(scheduler_proc.pid, signal.SIGKILL)
        t0 = time.monotonic()
        _, err = proc.communicate(timeout=TIMEOUT)
        assert time.monotonic() - t0 < 20.0
    finally:
        end(worker)
    assert proc.returncode == 1, err
    line = one_line(err)
    assert line.startswith(f"nnhw: error: --dask {address}: the Dask cluster went away mid-sweep")
    assert line.endswith(f"the finished sweep cells are kept; resume with: nnhw toy-sweep "
                         f"--resume {run}")  # fmt: skip
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "failed" and "went away" in info["error"]
    kept = len(cell_files(run))
    assert 2 <= kept < 6

    proc = toy("--resume", run, sleep=0.0, markers=markers, run=1)  # no --dask: locally
    _, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err
    computed_later = [p for p in markers.iterdir() if p.name.split("-")[1] == "1"]
    assert len(computed_later) == 6 - kept  # the kept cells were read, not recomputed
    assert len(marker_counts(markers)) == 6
