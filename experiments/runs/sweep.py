"""The sweep engine: a grid of cells, each with a stable index and its own random stream, run on
a serial, local-process or Dask executor, each finished cell saved the moment it finishes.

Contract:
- `grid(axes)` lists the cells of the product of the axes (a dict of name -> values) in canonical
  order: the first axis varies slowest. A cell is a dict of axis values; its index is its position.
- `cell_seed(root, index)` = SeedSequence(root, spawn_key=(index,)): a cell's randomness depends on
  the root seed and its index only, never on which worker runs it or in which order.
- `run_sweep(cell_fn, cells, ctx, root_seed, *, name=None)` runs `cell_fn(params, seed) ->
  dict[str, DataFrame]` for every cell and returns a `SweepResults` (a list: the results in cell
  order, None for a failed cell; `.failed` lists the failures). `cell_fn` must be a module-level
  function (picklable) for the parallel executors. Every cell runs with BLAS pinned to one thread,
  so a cell's result depends only on (root_seed, index, params): serial, `--workers N` and Dask
  give the same bits, and `combine` (cell order) gives byte-identical tables.
- `combine(results)` concatenates each table over cells in cell order, adding a `cell` column.

Executors (`ctx.sweep`, see experiments.executors): `workers=1` runs in process; `workers=N` uses N
joblib/loky processes; `dask="tcp://host:port"` submits to that dask.distributed scheduler
(optional extra; without it NnhwError "--dask needs the optional dask extra: ..."). Results are
handled as they complete. Progress: one bar over the cells (`ctx.progress("cells", n)`).

On disk (`ctx.rundir`; None keeps everything in memory): one folder per sweep,
`cells/<name>-<digest>/`, where `name` defaults to the cell function's name and `digest` hashes
(root_seed, cells), so several sweeps in one run never collide. In it, per cell index i:
- `{i:05d}.cell`: a finished cell, written atomically the moment it finishes, in the data-only
  format of experiments.runs.cellfile (checksummed JSON, columns as raw bytes: exact floats and
  dtypes; loading it cannot run code, as a pickle could: a run folder may come from someone else).
- `{i:05d}.failed.json`: a failed cell: sweep, index, params, error ("Type: message"), traceback.
With `ctx.resume`, finished cells are read instead of recomputed; a file that is damaged or not
in the current format is deleted and the cell recomputed (the pickled `.pkl` cells of earlier
versions are never opened); a valid file holding other params than its cell raises NnhwError.
Failed cells are retried. Leftover temporary files of interrupted writes are removed, nothing
else; every file is reached without following links (experiments.runs.safefs: a link or special
file in cells/ refuses the run with one line). `finished_cells(rd)` counts the finished cells.

run.json (through RunDir): `heartbeat()` as cells finish (at most once a second); `failed_cells`,
a list of {"sweep", "index", "params", "error"}, rewritten as cells fail (entries of this sweep
are reset when it starts, so a resume that fixes them clears them); `sweeps`, per sweep key
{"cells", "resumed", "computed", "failed"} of the session that ran it last, written when the
sweep ends.

Failures: a cell that raises is recorded (cells/ and run.json). With `keep_going` the others
finish and run_sweep returns (results.failed non-empty: the runner makes the exit code 1 when
run.json's failed_cells is non-empty); without it, run_sweep raises `SweepFailed` at the first
failure, cells in flight dropped. Ctrl-C: cells in flight are dropped, finished ones are already
on disk, and KeyboardInterrupt propagates (the runner marks the run interrupted, exit 130).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nnhw.core.errors import NnhwError
from nnhw.experiments.runs import cellfile, safefs
from nnhw.experiments.runs.context import RunContext, SweepOptions
from nnhw.experiments.runs.executors import CellFn, CellOutcome, outcomes
from nnhw.experiments.runs.rundir import RunDir

HEARTBEAT_EVERY = 1.0  # seconds: at most one run.json heartbeat per second as cells finish
CELL_FILE = re.compile(r"^\d{5,}\.cell$")
write_file = safefs.write  # the one writer of cell files (tests stand a crash in for it)


def grid(axes: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Cells of the product of `axes`, first axis slowest."""
    names = list(axes)
    return [dict(zip(names, values)) for values in itertools.product(*axes.values())]


def cell_seed(root: int, index: int) -> np.random.SeedSequence:
    """The random stream of cell `index` under root seed `root`."""
    return np.random.SeedSequence(root, spawn_key=(index,))


@dataclass(frozen=True)
class CellFailure:
    """A cell that raised: which sweep and cell, and the error ("Type: message")."""

    sweep: str
    index: int
    params: dict[str, Any]
    error: str

    def describe(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"cell {self.index} ({settings}) failed: {self.error}"

    def to_json(self) -> dict[str, Any]:
        return {"sweep": self.sweep, "index": self.index, "params": _jsonable(self.params)} | {
            "error": self.error
        }


class SweepResults(list):
    """The results in cell order (None for a failed cell), plus what happened: `failed`
    (CellFailure list), `resumed` (cells read from disk), `computed` (cells run now)."""

    def __init__(self, results: list[dict[str, pd.DataFrame] | None]) -> None:
        super().__init__(results)
        self.failed: list[CellFailure] = []
        self.resumed = 0
        self.computed = 0


class SweepFailed(Exception):  # noqa: N818 - the name the runner and studies use
    """Fail-fast: a cell raised and the sweep stopped there. `failures` (CellFailure list) and
    `results` (the SweepResults finished so far). The runner marks the run failed, exit 1."""

    def __init__(self, failures: list[CellFailure], results: SweepResults) -> None:
        super().__init__(f"sweep stopped (--fail-fast): {failures[0].describe()}")
        self.failures = failures
        self.results = results


def run_sweep(
    cell_fn: CellFn,
    cells: Sequence[dict[str, Any]],
    ctx: RunContext,
    root_seed: int,
    *,
    name: str | None = None,
    cost: Callable[[dict[str, Any]], float] | None = None,
) -> SweepResults:
    """Run every cell not already finished on disk; return the results in cell order.

    cost: an estimate of a cell's run time (any unit). Cells are then started most expensive
    first, so that with several workers a long cell does not start last and leave the others
    idle (longest-processing-time-first scheduling). It changes only the order of work, never a
    result: every cell keeps its index and seed.
    """
    _check_options(ctx.sweep)
    cells = [dict(params) for params in cells]
    key = sweep_key(name or str(getattr(cell_fn, "__name__", "sweep")), cells, root_seed)
    rd = ctx.rundir
    if ctx.resume and rd is None:
        raise NnhwError("resuming a sweep needs its run directory")
    store = _CellStore(Path(rd.cells_dir) / key, key, root_seed) if rd is not None else None
    results = SweepResults([None] * len(cells))
    if store is not None and ctx.resume:
        store.remove_strays()
        for index, params in enumerate(cells):
            results[index] = store.load(index, params)
        results.resumed = sum(r is not None for r in results)

    others: list[dict[str, Any]] = []
    if rd is not None:
        previous = rd.run_json().get("failed_cells") or []
        others = [f for f in previous if f.get("sweep") != key]
        if len(others) != len(previous):
            rd.update(failed_cells=others)

    todo = [i for i in range(len(cells)) if results[i] is None]
    if cost is not None:
        todo.sort(key=lambda i: -float(cost(cells[i])))  # stable: ties keep cell order
    tasks = [(i, cells[i], cell_seed(root_seed, i)) for i in todo]
    workers, dask = ctx.sweep.workers, ctx.sweep.dask
    tracker = ctx.progress("cells", len(cells))
    last_beat = -math.inf
    try:
        if results.resumed:
            tracker.advance(results.resumed)
        with closing(outcomes(cell_fn, tasks, workers=workers, dask=dask)) as stream:
            for outcome in stream:
                failure = _record(outcome, cells, results, store, key)
                if failure is not None and rd is not None:
                    rd.update(failed_cells=others + [f.to_json() for f in results.failed])
                if rd is not None and time.monotonic() - last_beat >= HEARTBEAT_EVERY:
                    rd.heartbeat()  # a read and an fsynced write of run.json: a few ms
                    last_beat = time.monotonic()
                tracker.advance()
                if failure is not None and not ctx.sweep.keep_going:
                    raise SweepFailed([failure], results)
    finally:
        tracker.close()
    if rd is not None:
        _record_counts(rd, key, results, len(cells))
    return results


def _record_counts(rd: RunDir, key: str, results: SweepResults, n_cells: int) -> None:
    """run.json's `sweeps`: per sweep, how many cells it has and how many this session read
    from disk, computed and saw fail (what a report or a user asks after a resume; the cell
    files themselves go once the run completes)."""
    counts = {"cells": n_cells, "resumed": results.resumed, "computed": results.computed}
    sweeps = rd.run_json().get("sweeps") or {}
    rd.update(sweeps={**sweeps, key: counts | {"failed": len(results.failed)}})


def _record(
    outcome: CellOutcome,
    cells: list[dict[str, Any]],
    results: SweepResults,
    store: _CellStore | None,
    key: str,
) -> CellFailure | None:
    """Keep one outcome in `results` and on disk; the failure, if it failed."""
    index = outcome.index
    results.computed += 1
    if outcome.tables is not None:
        if store is not None:
            store.save(index, cells[index], outcome.tables)
        results[index] = outcome.tables
        return None
    failure = CellFailure(key, index, cells[index], outcome.error or "unknown error")
    results.failed.append(failure)
    if store is not None:
        store.save_failure(failure, outcome.traceback or "")
    return failure


def _check_options(options: SweepOptions) -> None:
    if options.workers < 1:
        raise NnhwError(f"--workers must be >= 1, got {options.workers}")
    if options.dask is not None and options.workers > 1:
        raise NnhwError("--workers and --dask exclude each other: the Dask cluster has its workers")


def sweep_key(name: str, cells: Sequence[dict[str, Any]], root_seed: int) -> str:
    """The folder name of a sweep under cells/: its name and a digest of (root_seed, cells)."""
    digest = hashlib.sha256(repr((root_seed, list(cells))).encode()).hexdigest()[:10]
    return f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}-{digest}"


def combine(results: Sequence[dict[str, pd.DataFrame] | None]) -> dict[str, pd.DataFrame]:
    """Each table concatenated over the finished cells in cell order, with a `cell` column."""
    parts: dict[str, list[pd.DataFrame]] = {}
    for index, result in enumerate(results):
        if result is None:
            continue
        for name, df in result.items():
            parts.setdefault(name, []).append(df.assign(cell=index))
    return {name: pd.concat(dfs, ignore_index=True) for name, dfs in parts.items()}


def finished_cells(rd: RunDir) -> int:
    """How many finished cells the run folder holds (what a resume would not recompute)."""
    return sum(
        1
        for sweep in safefs.folders(rd.path, "cells")
        for name in safefs.files(rd.path, f"cells/{sweep}")
        if CELL_FILE.match(name)
    )


class _CellStore:
    """The files of one sweep under cells/ (format in the module docstring). `folder` is
    <run folder>/cells/<key>; every file in it is reached from the run folder without links."""

    def __init__(self, folder: Path, key: str, root_seed: int) -> None:
        self.folder, self.key, self.root_seed = Path(folder), key, root_seed
        self.root = self.folder.parent.parent  # the run folder
        self.rel = f"{self.folder.parent.name}/{self.folder.name}"

    def cell_path(self, index: int) -> Path:
        return self.folder / f"{index:05d}{cellfile.SUFFIX}"

    def failure_path(self, index: int) -> Path:
        return self.folder / f"{index:05d}.failed.json"

    def _rel(self, path: Path) -> str:
        return f"{self.rel}/{path.name}"

    def save(self, index: int, params: dict[str, Any], tables: dict[str, pd.DataFrame]) -> None:
        record = {"sweep": self.key, "index": index, "params": _jsonable(params)}
        record |= {"root_seed": self.root_seed, "tables": tables}
        write_file(self.root, self._rel(self.cell_path(index)), cellfile.encode(record))
        safefs.unlink(self.root, self._rel(self.failure_path(index)))

    def save_failure(self, failure: CellFailure, traceback: str) -> None:
        record = failure.to_json() | {"traceback": traceback}
        text = json.dumps(record, indent=2) + "\n"
        write_file(self.root, self._rel(self.failure_path(failure.index)), text.encode("utf-8"))

    def load(self, index: int, params: dict[str, Any]) -> dict[str, pd.DataFrame] | None:
        """The tables of a finished cell, or None when it is missing or unreadable (a damaged
        file is deleted). UnsafeEntry when the cell or a folder on its way is a link or special
        file."""
        path = self.cell_path(index)
        try:
            data = safefs.read(self.root, self._rel(path), safefs.LIMITS["cell"], "a sweep cell")
        except FileNotFoundError:
            return None
        except safefs.UnsafeEntry:
            raise
        except OSError:
            return None
        record = cellfile.decode(data)
        if record is None:
            safefs.unlink(self.root, self._rel(path))  # damaged: recompute, never read it again
            return None
        stored = (record.get("index"), record.get("params"), record.get("root_seed"))
        if json.dumps(stored) != json.dumps((index, _jsonable(params), self.root_seed)):
            raise NnhwError(
                f"{path}: holds cell {stored[0]!r:.20} {stored[1]!r:.200} (root seed "
                f"{stored[2]!r:.30}), expected cell {index} {params!r} (root seed "
                f"{self.root_seed}); this run directory belongs to other settings"
            )
        return dict(record["tables"])

    def remove_strays(self) -> None:
        """Delete what interrupted atomic writes left behind: only files named like nnhw's
        temporary files (safefs.TEMPORARY), nothing else, and nothing through a link."""
        safefs.remove_temporaries(self.root, self.rel)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)
