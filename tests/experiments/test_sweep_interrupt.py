"""Ctrl-C on a real process: a sweep interrupted by SIGINT at several points and resumed each time
ends with the tables of an uninterrupted run, byte for byte, and no finished cell is computed
again. The subprocess is `python -m tests.experiments.sweep_toy` (RunDir + run_sweep)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from nnhw.experiments.runs.context import RunContext
from nnhw.experiments.runs.sweep import combine, run_sweep, sweep_key
from tests.experiments.sweep_toy import ROOT_SEED, toy_cell, toy_grid

REPO = Path(__file__).resolve().parents[2]
N_CELLS = len(toy_grid())
TIMEOUT = 60.0


def start(run_root: Path, markers: Path, run: int, *args: str) -> subprocess.Popen:
    env = dict(os.environ, NNHW_TOY_SLEEP="0.25", NNHW_TOY_MARKERS=str(markers))
    env["NNHW_TOY_RUN"] = str(run)
    env["PYTHONPATH"] = str(REPO)
    return subprocess.Popen(
        [sys.executable, "-m", "tests.experiments.sweep_toy", str(run_root), *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(folder: Path) -> set[int]:
    return {int(p.stem) for p in folder.glob("*.cell")} if folder.is_dir() else set()


def interrupt_after(proc: subprocess.Popen, folder: Path, n_cells: int) -> None:
    """SIGINT once at least `n_cells` cells are on disk; the process must exit 130."""
    deadline = time.monotonic() + TIMEOUT
    while len(finished(folder)) < n_cells:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "the sweep made no progress"
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 130, err


def computations_by_run(markers: Path) -> dict[int, list[int]]:
    """run number -> the cell indices computed in that run (from the toy's marker files)."""
    by_run: dict[int, list[int]] = {}
    for path in markers.iterdir():
        code, run, _, _ = (int(x) for x in path.name.split("-"))
        by_run.setdefault(run, []).append((code // 100) * 3 + code % 100)
    return by_run


def reference_csv() -> dict[str, bytes]:
    tables = combine(run_sweep(toy_cell, toy_grid(), RunContext(), ROOT_SEED))
    return {name: df.to_csv(index=False).encode() for name, df in tables.items()}


def run_interrupted(tmp_path: Path, points: list[int], workers: int) -> None:
    """Interrupt after each count of finished cells in `points`, resume, then finish."""
    markers = tmp_path / "markers"
    markers.mkdir()
    options = ["--workers", str(workers)]
    proc = start(tmp_path / "runs", markers, 0, *options)
    assert proc.stdout is not None
    run_dir = Path(proc.stdout.readline().strip())
    folder = run_dir / "cells" / sweep_key("toy_cell", toy_grid(), ROOT_SEED)
    on_disk: list[set[int]] = []  # after run i was interrupted: the cells finished so far
    for run, n_cells in enumerate(points):
        interrupt_after(proc, folder, n_cells)
        on_disk.append(finished(folder))
        proc = start(run_dir, markers, run + 1, "--resume", *options)
    _, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err

    sizes = [len(cells) for cells in on_disk]
    assert sizes == sorted(set(sizes)) and sizes[-1] < N_CELLS  # distinct interrupt points
    assert finished(folder) == set(range(N_CELLS))
    by_run = computations_by_run(markers)
    for run, cells in enumerate(on_disk):
        # No cell finished before interrupt `run` is computed again by a later run.
        later = [i for r, computed in by_run.items() if r > run for i in computed]
        assert not set(later) & cells, (run, sorted(set(later) & cells))
    # Only the cells in flight at an interrupt (at most one per worker) are computed twice.
    total = sum(len(computed) for computed in by_run.values())
    print("finished at interrupts:", sizes, "computations:", total)
    assert N_CELLS <= total <= N_CELLS + len(points) * workers
    for name, expected in reference_csv().items():
        assert (run_dir / "tables" / f"{name}.csv").read_bytes() == expected, name


def test_serial_sweep_interrupted_three_times_resumes_to_identical_tables(tmp_path):
    run_interrupted(tmp_path, [1, 3, 6], workers=1)


def test_parallel_sweep_interrupted_resumes_to_identical_tables(tmp_path):
    run_interrupted(tmp_path, [2, 5], workers=2)
