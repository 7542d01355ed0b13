"""Saving a study's figures with several processes: the serial tail of a parallel sweep.

After a sweep, rendering the figures to PNG and SVG is most of what is left (about 60 % of a
default `nnhw compare-activations`), and Matplotlib renders in one thread. With `workers` > 1 on
Linux, `save_figures` forks workers - 1 children once the figures are built: every process holds
the same Figure objects (the children inherit them, nothing is pickled or re-imported) and takes
the next unsaved figure (most axes first) from a shared counter until none is left. A figure's
bytes do not depend on which process renders it, so the run directory is byte-identical to a
serial save.

Children only render with Agg and write files atomically (RunDir.write_figure), then leave with
os._exit (no inherited atexit handler runs). A figure that a child did not finish (it failed or
was killed) is rendered again in this process, so an error surfaces here with its traceback.
Ctrl-C reaches the children as well (one process group); the parent stops and reaps them and
re-raises KeyboardInterrupt. On Linux a child is also killed when the parent dies (SIGKILL
included: PR_SET_PDEATHSIG), so none outlives the run it draws for. Elsewhere (macOS, Windows:
no safe fork) the save is serial.

`on_saved(n)` is called in this process as figures are saved (n newly saved), for a progress bar.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import sys
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

from nnhw.experiments.reporting.plotting import close_figure

_PR_SET_PDEATHSIG = 1  # linux/prctl.h

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from nnhw.experiments.runs.rundir import RunDir


def can_fork() -> bool:
    """True where save_figures can use child processes (Linux, with the fork start method)."""
    return sys.platform.startswith("linux") and "fork" in mp.get_all_start_methods()


def save_figures(
    rd: RunDir,
    figures: dict[str, Figure],
    workers: int = 1,
    on_saved: Callable[[int], None] | None = None,
) -> None:
    """rd.write_figure for every figure, in up to `workers` processes (module docstring)."""
    names = list(figures)
    report = on_saved or (lambda n: None)
    procs_wanted = min(int(workers), len(names)) if can_fork() else 1
    if procs_wanted <= 1:
        for name in names:
            rd.write_figure(name, figures[name])
            report(1)
        return

    # Figures with more axes first (a draw's cost is mostly laying out and ticking each axis),
    # so that a large figure does not start last while the other processes have finished.
    names.sort(key=lambda name: -len(figures[name].axes))
    ctx = mp.get_context("fork")
    counter = ctx.Value("i", 0)  # the next figure to take
    done = ctx.Array("b", len(names))  # 1 once a process has written figure i
    parent = os.getpid()
    reported = [0]

    def progress() -> None:
        if os.getpid() == parent:  # only this process draws the bar
            n = sum(done[:])
            report(n - reported[0])
            reported[0] = n

    def work() -> None:
        while True:
            with counter.get_lock():
                i = int(counter.value)
                counter.value = i + 1
            if i >= len(names):
                return
            rd.write_figure(names[i], figures[names[i]])
            done[i] = 1
            progress()

    children = [
        ctx.Process(target=_child, args=(work, parent), daemon=True)
        for _ in range(procs_wanted - 1)
    ]
    with warnings.catch_warnings():
        # Python >= 3.12 warns on fork() in a process with threads (BLAS, a sweep's executor):
        # the children touch none of those threads' state, only Agg and their own files.
        warnings.simplefilter("ignore", DeprecationWarning)
        for p in children:
            p.start()
    try:
        work()
        for p in children:
            while p.is_alive():
                p.join(0.1)
                progress()
    except BaseException:
        for p in children:
            p.terminate()
        raise
    finally:
        for p in children:
            p.join()
    for i, name in enumerate(names):
        if not done[i]:
            rd.write_figure(name, figures[name])  # a child failed: again here, errors and all
        else:
            close_figure(figures[name])  # drawn by a child; release this process's copy
    progress()


def _die_with_parent(parent: int) -> None:
    """Linux: have the kernel SIGKILL this (forked) process when its parent dies."""
    # ctypes only in the forked child, on Linux
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def _child(work: Callable[[], None], parent: int) -> None:
    try:
        _die_with_parent(parent)
        work()
    except BaseException:
        os._exit(1)
    os._exit(0)
