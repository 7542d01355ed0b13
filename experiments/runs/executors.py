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
- Worker processes die with their parent: every loky worker watches its parent process and ends
  itself within PARENT_WATCH_SECONDS once it is gone (the nnhw process was killed, even by
  SIGKILL), so no orphan keeps computing cells nobody will read; their resource tracker then
  sees its last user leave and exits too.
- Dask is optional and imported lazily; a Dask worker lost while running a cell (KilledWorker)
  counts as that cell failing. Failures of the cluster itself are one line each, with Dask's
  own logging silenced while nnhw uses it: an address that is malformed or where no scheduler
  answers within DASK_CONNECT_TIMEOUT seconds, or no worker connected within
  DASK_WORKER_TIMEOUT seconds, raise NnhwError before any cell runs; the scheduler going away
  mid-sweep, or every worker leaving for DASK_WORKER_TIMEOUT seconds, raises `ExecutorLost`
  (the cells finished so far are already saved, so the run can be resumed).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import traceback
import uuid
import warnings
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from concurrent.futures import CancelledError
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from nnhw.core.errors import NnhwError

CellFn = Callable[[dict[str, Any], np.random.SeedSequence], dict[str, pd.DataFrame]]
Task = tuple[int, dict[str, Any], np.random.SeedSequence]

DASK_MISSING = "--dask needs the optional dask extra: pip install 'nnhw[dask]'"
DASK_CONNECT_TIMEOUT = 5.0  # seconds to reach the scheduler
DASK_WORKER_TIMEOUT = 30.0  # seconds without a single worker before the sweep gives up
PARENT_WATCH_SECONDS = 0.2  # how often a loky worker checks that its parent is alive


class ExecutorLost(Exception):  # noqa: N818 - an event, like KilledWorker
    """The executor went away mid-sweep; the message is one line for the user."""


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
        initializer=die_with_parent,
        initargs=(os.getpid(),),
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


def die_with_parent(parent: int) -> None:
    """Worker-process initializer: end this process once `parent` (the process that started
    it) is gone (module docstring). A thread polls the parent pid, which changes when the
    parent dies and the process is re-parented (also before this initializer ran: a parent
    killed while the worker was still importing); os._exit ends the whole process, whatever
    cell it is computing."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_WATCH_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="nnhw-parent-watch", daemon=True).start()


@contextmanager
def _dask_logs_silenced() -> Iterator[None]:
    """Dask's loggers quiet while nnhw uses the client: a lost scheduler or a failed connection
    is reported in one line by nnhw, not by dozens of lines of Dask tracebacks."""
    names = [
        "distributed",
        *(n for n in logging.root.manager.loggerDict if n.startswith("distributed.")),
    ]
    loggers = [logging.getLogger(n) for n in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def _dask_connect(address: str) -> Any:
    """A Client connected to the scheduler at `address` (NnhwError when none answers there)."""
    # dask is an optional extra, imported only for --dask
    from dask.distributed import Client

    class _Client(Client):
        def start(self, **kwargs: Any) -> None:
            try:
                super().start(**kwargs)
            except BaseException:
                _dask_close(self)  # else __del__ retries for 20 s and prints a traceback at exit
                raise

    try:
        return _Client(address, timeout=DASK_CONNECT_TIMEOUT, set_as_default=False)
    except Exception as exc:
        raise NnhwError(
            f"--dask {address}: cannot connect to a Dask scheduler there ({_describe(exc)})"
        ) from None


def _dask_close(client: Any) -> None:
    """Close the client quickly, even when its scheduler is gone."""
    with suppress(Exception):
        client.close(timeout=2)
    if client.status != "closed":
        client.status = "closed"  # so that Client.__del__ does not try (and fail) again


def _dask_workers(client: Any) -> int:
    """How many workers the scheduler has now (ExecutorLost when it does not answer)."""
    try:
        return len(client.nthreads(callback_timeout=DASK_CONNECT_TIMEOUT))
    except Exception as exc:
        raise ExecutorLost(_describe(exc)) from None


def _dask_outcomes(
    cell_fn: CellFn, tasks: Sequence[Task], address: str
) -> Generator[CellOutcome, None, None]:
    try:
        # dask is an optional extra, imported only for --dask
        import dask.distributed  # noqa: F401
    except ImportError:
        raise NnhwError(DASK_MISSING) from None
    with _dask_logs_silenced():
        client = _dask_connect(address)
        futures: list[Any] = []
        try:
            try:
                client.wait_for_workers(1, timeout=DASK_WORKER_TIMEOUT)
            except TimeoutError:
                raise NnhwError(
                    f"--dask {address}: no Dask worker connected to the scheduler within "
                    f"{DASK_WORKER_TIMEOUT:g} s"
                ) from None
            except Exception as exc:
                raise NnhwError(f"--dask {address}: {_describe(exc)}") from None
            token = uuid.uuid4().hex[:12]  # unique task keys, even on a shared scheduler
            futures = [
                client.submit(run_cell, cell_fn, i, p, s, pure=False, key=f"nnhw-cell-{i}-{token}")
                for i, p, s in tasks
            ]
            try:
                yield from _dask_results(client, futures, [i for i, _, _ in tasks])
            except ExecutorLost as exc:
                raise ExecutorLost(
                    f"--dask {address}: the Dask cluster went away mid-sweep ({exc})"
                ) from None
        finally:
            pending = [f for f in futures if not f.done()]
            if pending and client.status == "running":
                with suppress(Exception):
                    client.cancel(pending)
            _dask_close(client)


def _dask_results(
    client: Any, futures: list[Any], indices: list[int]
) -> Generator[CellOutcome, None, None]:
    """Outcomes as the futures finish; every second without one, a look at the cluster: a
    lost scheduler, or no worker for DASK_WORKER_TIMEOUT seconds, raises ExecutorLost."""
    # dask is an optional extra, imported only for --dask
    from dask.distributed import as_completed

    index_of = {future.key: index for future, index in zip(futures, indices)}
    finished = as_completed(futures, loop=client.loop)
    last_look = time.monotonic()
    no_worker_since: float | None = None
    while not finished.is_empty():
        batch = finished.next_batch(block=False)
        for future in batch:
            try:
                outcome = future.result()
            except CancelledError:  # Dask cancels every future when it loses the scheduler
                raise ExecutorLost("lost the connection to the scheduler") from None
            except Exception as exc:  # the worker died or the task could not run
                index = index_of[future.key]
                outcome = CellOutcome(index, error=_describe(exc), traceback=traceback.format_exc())
            yield outcome
        if batch:
            continue
        time.sleep(0.02)
        if time.monotonic() - last_look < 1.0:
            continue
        last_look = time.monotonic()
        if client.status != "running":
            raise ExecutorLost("lost the connection to the scheduler")
        if _dask_workers(client) > 0:
            no_worker_since = None
        elif no_worker_since is None:
            no_worker_since = last_look
        elif last_look - no_worker_since > DASK_WORKER_TIMEOUT:
            raise ExecutorLost(f"no worker for {DASK_WORKER_TIMEOUT:g} s")
