"""The sweep engine in process: grid order and seeds, identical tables on every executor, cells
on disk and resume, failures (keep-going and fail-fast), crashes while writing a cell."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nnhw.core.errors import NnhwError
from nnhw.experiments.runs import executors, sweep
from nnhw.experiments.runs.context import RunContext, SweepOptions
from nnhw.experiments.runs.rundir import RunDir
from nnhw.experiments.runs.sweep import (
    SweepFailed,
    _CellStore,
    cell_seed,
    combine,
    grid,
    run_sweep,
    sweep_key,
)
from tests.experiments import sweep_toy
from tests.experiments.sweep_toy import (
    ROOT_SEED,
    failing_cell,
    flaky_cell,
    marker_counts,
    toy_cell,
    toy_grid,
)

N_CELLS = 12


def csv_bytes(tables: dict[str, pd.DataFrame]) -> dict[str, bytes]:
    return {name: df.to_csv(index=False).encode() for name, df in sorted(tables.items())}


def make_rundir(tmp_path: Path) -> RunDir:
    return RunDir.create(tmp_path / "runs", "toy", ["toy"], {"n": 1}, ROOT_SEED)


def sweep_folder(rd: RunDir, cells: list[dict], fn=toy_cell) -> Path:
    return rd.cells_dir / sweep_key(fn.__name__, cells, ROOT_SEED)


class Progress:
    def __init__(self) -> None:
        self.total: int | None = None
        self.done = 0
        self.closed = False

    def __call__(self, description: str, total: int) -> Progress:
        self.total = total
        return self

    def advance(self, n: int = 1) -> None:
        self.done += n

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def markers(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "markers"
    folder.mkdir()
    monkeypatch.setenv("NNHW_TOY_MARKERS", str(folder))
    return folder


@pytest.fixture(scope="module")
def reference() -> dict[str, bytes]:
    """The serial, in-memory sweep: what every other way of running it must reproduce."""
    return csv_bytes(combine(run_sweep(toy_cell, toy_grid(), RunContext(), ROOT_SEED)))


def test_grid_order_first_axis_slowest():
    cells = grid({"act": ["relu", "tanh"], "depth": [1, 2, 4]})
    assert cells[:4] == [
        {"act": "relu", "depth": 1},
        {"act": "relu", "depth": 2},
        {"act": "relu", "depth": 4},
        {"act": "tanh", "depth": 1},
    ]
    assert len(cells) == 6


def test_cell_seed_depends_on_root_and_index_only():
    draw = [np.random.default_rng(cell_seed(5, i)).integers(1 << 62) for i in range(3)]
    assert len(set(draw)) == 3
    assert np.random.default_rng(cell_seed(5, 1)).integers(1 << 62) == draw[1]
    assert np.random.default_rng(cell_seed(6, 1)).integers(1 << 62) != draw[1]


def test_results_in_cell_order_with_cell_column(reference):
    tables = combine(run_sweep(toy_cell, toy_grid(), RunContext(), ROOT_SEED))
    assert list(tables["summary"]["cell"]) == list(range(N_CELLS))
    assert list(tables["summary"]["a"]) == [c["a"] for c in toy_grid()]
    assert csv_bytes(tables) == reference


def test_cost_starts_the_longest_cells_first_and_changes_no_result(markers, reference):
    """cost = a: cells of larger a start first (longest first); the tables are the same."""
    results = run_sweep(toy_cell, toy_grid(), RunContext(), ROOT_SEED, cost=lambda c: c["a"])
    assert csv_bytes(combine(results)) == reference
    started = sorted(markers.iterdir(), key=lambda p: int(p.name.split("-")[-1]))
    order = [int(p.name.split("-")[0]) for p in started]  # 100 a + b, in computation order
    assert [code // 100 for code in order] == sorted((c["a"] for c in toy_grid()), reverse=True)
    assert order[:3] == [300, 301, 302]  # ties keep cell order


def test_cells_get_every_core_only_when_they_run_one_at_a_time():
    serial = combine(run_sweep(sweep_toy.threads_cell, toy_grid(2, 1), RunContext(), ROOT_SEED))
    two = RunContext(sweep=SweepOptions(workers=2))
    parallel = combine(run_sweep(sweep_toy.threads_cell, toy_grid(2, 1), two, ROOT_SEED))
    assert list(serial["threads"]["threads"]) == [executors.available_cores()] * 2
    assert list(parallel["threads"]["threads"]) == [1, 1]
    assert executors.cell_threads() == 1  # back to 1 outside a cell


def test_workers_and_dask_give_identical_tables(tmp_path, reference):
    two = RunContext(rundir=make_rundir(tmp_path), sweep=SweepOptions(workers=2))
    results = run_sweep(toy_cell, toy_grid(), two, ROOT_SEED)
    assert results.computed == N_CELLS and not results.failed
    assert csv_bytes(combine(results)) == reference
    assert len(list(sweep_folder(two.rundir, toy_grid()).glob("*.cell"))) == N_CELLS

    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=2,
        processes=False,
        protocol="tcp://",
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        ctx = RunContext(
            rundir=make_rundir(tmp_path), sweep=SweepOptions(dask=cluster.scheduler_address)
        )
        tables = combine(run_sweep(toy_cell, toy_grid(), ctx, ROOT_SEED))
    assert csv_bytes(tables) == reference


def test_cells_written_then_resume_reads_them(tmp_path, markers, reference, monkeypatch):
    monkeypatch.setattr(sweep, "HEARTBEAT_EVERY", 0.0)  # a heartbeat for every finished cell
    rd = make_rundir(tmp_path)
    beats = []
    rd.heartbeat = lambda: beats.append(1)  # type: ignore[method-assign]
    progress = Progress()
    run_sweep(toy_cell, toy_grid(), RunContext(rundir=rd, progress=progress), ROOT_SEED)
    assert len(beats) == N_CELLS
    assert (progress.total, progress.done, progress.closed) == (N_CELLS, N_CELLS, True)
    files = sorted(sweep_folder(rd, toy_grid()).iterdir())
    assert [f.name for f in files] == [f"{i:05d}.cell" for i in range(N_CELLS)]

    progress = Progress()
    again = run_sweep(
        toy_cell, toy_grid(), RunContext(rundir=rd, resume=True, progress=progress), ROOT_SEED
    )
    assert (again.resumed, again.computed) == (N_CELLS, 0)
    assert progress.done == N_CELLS
    assert set(marker_counts(markers).values()) == {1}  # nothing computed twice
    assert csv_bytes(combine(again)) == reference


def test_keep_going_records_failure_and_finishes_others(tmp_path, markers):
    rd = make_rundir(tmp_path)
    cells = [dict(c, fail_a=2) for c in toy_grid()]
    results = run_sweep(failing_cell, cells, RunContext(rundir=rd), ROOT_SEED)
    failed = [i for i, c in enumerate(cells) if c["a"] == 2]
    assert [f.index for f in results.failed] == failed
    assert [i for i, r in enumerate(results) if r is None] == failed
    assert sum(marker_counts(markers).values()) == N_CELLS - len(failed)
    recorded = rd.run_json()["failed_cells"]
    assert [f["index"] for f in recorded] == failed
    assert recorded[0]["error"] == "ValueError: toy failure at a=2 b=b0"
    assert recorded[0]["params"] == {"a": 2, "b": "b0", "fail_a": 2}
    on_disk = json.loads((sweep_folder(rd, cells, failing_cell) / "00006.failed.json").read_text())
    assert on_disk["error"] == "ValueError: toy failure at a=2 b=b0"
    assert "Traceback" in on_disk["traceback"]
    assert len(combine(results)["summary"]) == N_CELLS - len(failed)


def test_resume_retries_failed_cells_and_clears_them(tmp_path, monkeypatch, reference):
    rd = make_rundir(tmp_path)
    folder = sweep_folder(rd, toy_grid(), flaky_cell)
    monkeypatch.setenv("NNHW_TOY_FAIL", "1")
    first = run_sweep(flaky_cell, toy_grid(), RunContext(rundir=rd), ROOT_SEED)
    assert [f.index for f in first.failed] == [6, 7, 8]
    assert (folder / "00006.failed.json").exists()
    # Still failing: a resume recomputes only the failed cells and records them again.
    again = run_sweep(flaky_cell, toy_grid(), RunContext(rundir=rd, resume=True), ROOT_SEED)
    assert (again.resumed, again.computed, len(again.failed)) == (9, 3, 3)
    assert [f["index"] for f in rd.run_json()["failed_cells"]] == [6, 7, 8]
    # Fixed: the resume finishes them and clears the failure records.
    monkeypatch.delenv("NNHW_TOY_FAIL")
    fixed = run_sweep(flaky_cell, toy_grid(), RunContext(rundir=rd, resume=True), ROOT_SEED)
    assert (fixed.resumed, fixed.computed, fixed.failed) == (9, 3, [])
    assert rd.run_json()["failed_cells"] == []
    assert not list(folder.glob("*.failed.json"))
    assert csv_bytes(combine(fixed)) == reference


def test_fail_fast_stops_at_the_failing_cell(tmp_path, markers):
    rd = make_rundir(tmp_path)
    cells = [dict(c, fail_a=1) for c in toy_grid()]
    ctx = RunContext(rundir=rd, sweep=SweepOptions(keep_going=False))
    with pytest.raises(SweepFailed) as info:
        run_sweep(failing_cell, cells, ctx, ROOT_SEED)
    assert "cell 3 (a=1, b='b0', fail_a=1) failed: ValueError: toy failure" in str(info.value)
    assert sum(marker_counts(markers).values()) == 3  # cells 0-2 ran, nothing after cell 3
    assert [f["index"] for f in rd.run_json()["failed_cells"]] == [3]
    kept = info.value.results
    assert all(r is not None for r in kept[:3]) and all(r is None for r in kept[3:])


def test_fail_fast_with_workers(tmp_path):
    cells = [dict(c, fail_a=0) for c in toy_grid()]
    ctx = RunContext(rundir=make_rundir(tmp_path), sweep=SweepOptions(workers=2, keep_going=False))
    with pytest.raises(SweepFailed) as info:
        run_sweep(failing_cell, cells, ctx, ROOT_SEED)
    assert info.value.failures[0].params["a"] == 0


class Crash(BaseException):
    """Stands in for the process dying (kill -9, power loss) in the middle of a write."""


def test_crash_while_writing_a_cell_leaves_no_corrupt_file(
    tmp_path, markers, monkeypatch, reference
):
    rd = make_rundir(tmp_path)
    folder = sweep_folder(rd, toy_grid())
    real_write = sweep.write_file

    def dying_write(root: Path, rel: str, data: bytes) -> None:
        if Path(rel).name == "00004.cell":
            tmp = Path(root) / Path(rel).parent / ".00004.cell.1a2b3c4d.tmp"
            tmp.write_bytes(data[: len(data) // 2])  # half written, never renamed
            raise Crash
        real_write(root, rel, data)

    monkeypatch.setattr(sweep, "write_file", dying_write)
    with pytest.raises(Crash):
        run_sweep(toy_cell, toy_grid(), RunContext(rundir=rd), ROOT_SEED)
    monkeypatch.setattr(sweep, "write_file", real_write)
    assert [f.name for f in sorted(folder.glob("*.cell"))] == [f"{i:05d}.cell" for i in range(4)]
    assert (folder / ".00004.cell.1a2b3c4d.tmp").exists()

    before = marker_counts(markers)
    again = run_sweep(toy_cell, toy_grid(), RunContext(rundir=rd, resume=True), ROOT_SEED)
    assert (again.resumed, again.computed) == (4, N_CELLS - 4)
    after = marker_counts(markers)
    assert {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)} == {
        (a, b): 1 for a in range(4) for b in range(3) if a * 3 + b >= 4
    }
    assert not (folder / ".00004.cell.1a2b3c4d.tmp").exists()  # the leftover is cleaned up
    assert csv_bytes(combine(again)) == reference


def test_torn_cell_file_is_recomputed(tmp_path, markers, reference):
    rd = make_rundir(tmp_path)
    run_sweep(toy_cell, toy_grid(), RunContext(rundir=rd), ROOT_SEED)
    torn = sweep_folder(rd, toy_grid()) / "00007.cell"
    torn.write_bytes(torn.read_bytes()[:-40])  # e.g. a filesystem without atomic rename
    (sweep_folder(rd, toy_grid()) / "00002.cell").write_bytes(b"")
    again = run_sweep(toy_cell, toy_grid(), RunContext(rundir=rd, resume=True), ROOT_SEED)
    assert (again.resumed, again.computed) == (N_CELLS - 2, 2)
    counts = marker_counts(markers)
    assert counts[(2, 1)] == counts[(0, 2)] == 2 and sum(counts.values()) == N_CELLS + 2
    assert csv_bytes(combine(again)) == reference


def test_cell_file_with_other_params_is_refused(tmp_path):
    rd = make_rundir(tmp_path)
    cells = toy_grid()
    store = _CellStore(sweep_folder(rd, cells), "forged", ROOT_SEED)
    store.save(1, {"a": 9, "b": "b9"}, {"t": pd.DataFrame({"x": [1.0]})})
    with pytest.raises(NnhwError, match=r"00001\.cell: holds cell 1 .*'a': 9"):
        run_sweep(toy_cell, cells, RunContext(rundir=rd, resume=True), ROOT_SEED)


def test_cells_of_two_sweeps_in_one_run_do_not_collide(tmp_path):
    rd = make_rundir(tmp_path)
    small, large = toy_grid(1, 2), toy_grid(2, 2)
    run_sweep(toy_cell, small, RunContext(rundir=rd), ROOT_SEED)
    results = run_sweep(toy_cell, large, RunContext(rundir=rd, resume=True), ROOT_SEED)
    assert (results.resumed, results.computed) == (0, 4)
    assert len(list(rd.cells_dir.iterdir())) == 2


def test_bad_options_are_refused(tmp_path, monkeypatch):
    with pytest.raises(NnhwError, match="--workers must be >= 1, got 0"):
        run_sweep(toy_cell, toy_grid(), RunContext(sweep=SweepOptions(workers=0)), ROOT_SEED)
    both = SweepOptions(workers=2, dask="tcp://127.0.0.1:1")
    with pytest.raises(NnhwError, match="--workers and --dask"):
        run_sweep(toy_cell, toy_grid(), RunContext(sweep=both), ROOT_SEED)
    with pytest.raises(NnhwError, match="needs its run directory"):
        run_sweep(toy_cell, toy_grid(), RunContext(resume=True), ROOT_SEED)


def test_dask_missing_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # import fails as if absent
    ctx = RunContext(sweep=SweepOptions(dask="tcp://127.0.0.1:8786"))
    with pytest.raises(NnhwError) as info:
        run_sweep(toy_cell, toy_grid(), ctx, ROOT_SEED)
    assert str(info.value) == "--dask needs the optional dask extra: pip install 'nnhw[dask]'"


def test_dask_unreachable_scheduler_is_one_clear_error(monkeypatch):
    pytest.importorskip("dask.distributed")
    monkeypatch.setattr(executors, "DASK_CONNECT_TIMEOUT", "0.5s")
    ctx = RunContext(sweep=SweepOptions(dask="tcp://127.0.0.1:1"))
    with pytest.raises(NnhwError, match=r"--dask tcp://127\.0\.0\.1:1: cannot connect"):
        run_sweep(toy_cell, toy_grid(1, 1), ctx, ROOT_SEED)


def test_toy_module_is_importable_by_name():
    # Workers (loky, Dask) unpickle cell functions by module path.
    assert toy_cell.__module__ == "tests.experiments.sweep_toy"
    assert sweep_toy.toy_cell is toy_cell
    assert os.path.isfile(sweep_toy.__file__)
