"""Executors of sweep cells: serial (in process), local processes (joblib/loky), dask.distributed.

Contract (used by experiments.sweep; not a public API of its own):
- A task is `(index, params, seed)`. `outcomes(cell_fn, tasks, workers, dask)` returns a generator
  of `CellOutcome`s in completion order, each yielded the moment its cell finishes, so the caller
  can write it to disk at once. Closing the generator (or an exception, e.g. KeyboardInterrupt,
  while it waits) drops the cells still in flight: loky workers are terminated, Dask futures
  cancelled.
- `run_cell` runs one cell in whichever process executes it: it pins BLAS to one thread
  (threadpoolctl), so workers do not fight over the cores and a cell computes the same bits in
  every executor, and it turns an exception of the cell into a failed outcome (error and
  traceback) instead of aborting the sweep. Only Exception is caught: Ctrl-C still stops.
- `cell_threads()` is how many threads a cell may use for its own parallel work (the ensemble
  split of core.train): every core of the machine when cells run one at a time in this process,
  1 in worker processes, which already share the cores. A cell's numbers do not depend on it.
- Dask is optional and imported lazily; a Dask worker lost while running a cell (KilledWorker)
  counts as that cell failing.
"""

from __future__ import annotations

import os
import threading
import traceback
import uuid
import warnings
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from nnhw.core.errors import NnhwError

CellFn = Callable[[dict[str, Any], np.random.SeedSequence], dict[str, pd.DataFrame]]
Task = tuple[int, dict[str, Any], np.random.SeedSequence]

DASK_MISSING = "--dask needs the optional dask extra: pip install 'nnhw[dask]'"
DASK_CONNECT_TIMEOUT = "10s"


@dataclass(frozen=True)
class CellOutcome:
    """One cell's result: `tables` when it finished, else `error` ("Type: message") and the
    worker-side `traceback`."""

    index: int
    tables: dict[str, pd.DataFrame] | None = None
    error: str | None = None
    traceback: str | None = None


# threadpoolctl limits are process-wide; Dask threads share one process, so the limit is
# reference-counted: the first cell in sets it, the last one out restores the original.
_blas_lock = threading.Lock()
_blas_users = 0
_blas_limiter: Any = None


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS/OpenMP pools limited to one thread while the block runs."""
    global _blas_users, _blas_limiter

    with _blas_lock:
        if _blas_users == 0:
            _blas_limiter = threadpool_limits(limits=1)
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0:
                _blas_limiter.restore_original_limits()
                _blas_limiter = None


_cell_threads = 1  # set by _serial_outcomes while it runs a cell


def cell_threads() -> int:
    """Threads the running cell may use (module docstring)."""
    return _cell_threads


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def run_cell(
    cell_fn: CellFn, index: int, params: dict[str, Any], seed: np.random.SeedSequence
) -> CellOutcome:
    """Run one cell; an exception becomes a failed outcome."""
    try:
        with one_blas_thread():
            tables = cell_fn(dict(params), seed)
        if not isinstance(tables, Mapping) or not all(
            isinstance(k, str) and isinstance(v, pd.DataFrame) for k, v in tables.items()
        ):
            raise TypeError(
                f"cell function {getattr(cell_fn, '__name__', cell_fn)!r} returned "
                f"{type(tables).__name__}, expected dict[str, DataFrame]"
            )
        return CellOutcome(index, tables=dict(tables))
    except Exception as exc:
        return CellOutcome(index, error=_describe(exc), traceback=traceback.format_exc())


def _describe(exc: BaseException) -> str:
    message = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def outcomes(
    cell_fn: CellFn, tasks: Sequence[Task], *, workers: int = 1, dask: str | None = None
) -> Generator[CellOutcome, None, None]:
    """The outcomes of `tasks` as they complete, on the executor the options choose."""
    if dask is not None:
        return _dask_outcomes(cell_fn, tasks, dask)
    if workers > 1 and len(tasks) > 1:
        return _joblib_outcomes(cell_fn, tasks, workers)
    return _serial_outcomes(cell_fn, tasks)


def _serial_outcomes(cell_fn: CellFn, tasks: Sequence[Task]) -> Generator[CellOutcome, None, None]:
    global _cell_threads
    for index, params, seed in tasks:
        _cell_threads = available_cores()
        try:
            outcome = run_cell(cell_fn, index, params, seed)
        finally:
            _cell_threads = 1
        yield outcome


def _joblib_outcomes(
    cell_fn: CellFn, tasks: Sequence[Task], workers: int
) -> Generator[CellOutcome, None, None]:
    # joblib (and its loky process pool) only for --workers > 1
    from joblib import Parallel, delayed

    # batch_size=1: a result comes back the moment its cell finishes, not with a batch.
    parallel = Parallel(
        n_jobs=min(workers, len(tasks)),
        backend="loky",
        return_as="generator_unordered",
        batch_size=1,
    )
    results = parallel(delayed(run_cell)(cell_fn, i, p, s) for i, p, s in tasks)
    try:
        # Not `yield from`: closing this generator must reach the `finally` below first.
        for outcome in results:  # noqa: UP028
            yield outcome
    finally:
        # Stopping early (fail-fast, Ctrl-C) is intended: silence joblib's "tasks cancelled"
        # warning while it terminates the workers still running cells.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            results.close()


def _dask_outcomes(
    cell_fn: CellFn, tasks: Sequence[Task], address: str
) -> Generator[CellOutcome, None, None]:
    try:
        # dask is an optional extra, imported only for --dask
        from dask.distributed import Client, as_completed
    except ImportError:
        raise NnhwError(DASK_MISSING) from None
    try:
        client = Client(address, timeout=DASK_CONNECT_TIMEOUT, set_as_default=False)
    except Exception as exc:
        raise NnhwError(
            f"--dask {address}: cannot connect to a Dask scheduler there ({_describe(exc)})"
        ) from None
    token = uuid.uuid4().hex[:12]  # unique task keys, even on a scheduler shared by many runs
    futures: list[Any] = []
    try:
        futures = [
            client.submit(run_cell, cell_fn, i, p, s, pure=False, key=f"nnhw-cell-{i}-{token}")
            for i, p, s in tasks
        ]
        index_of = {future.key: i for future, (i, _, _) in zip(futures, tasks)}
        for future in as_completed(futures, loop=client.loop):
            try:
                yield future.result()
            except Exception as exc:  # the worker died or the task could not run
                index = index_of[future.key]
                yield CellOutcome(index, error=_describe(exc), traceback=traceback.format_exc())
    finally:
        pending = [f for f in futures if not f.done()]
        if pending:
            client.cancel(pending)
        client.close()
