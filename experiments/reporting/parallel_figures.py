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
re-raises KeyboardInterrupt. Elsewhere (macOS, Windows: no safe fork) the save is serial.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

from nnhw.experiments.reporting.plotting import close_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from nnhw.experiments.runs.rundir import RunDir


def can_fork() -> bool:
    """True where save_figures can use child processes (Linux, with the fork start method)."""
    return sys.platform.startswith("linux") and "fork" in mp.get_all_start_methods()


def save_figures(rd: RunDir, figures: dict[str, Figure], workers: int = 1) -> None:
    """rd.write_figure for every figure, in up to `workers` processes (module docstring)."""
    names = list(figures)
    procs_wanted = min(int(workers), len(names)) if can_fork() else 1
    if procs_wanted <= 1:
        for name in names:
            rd.write_figure(name, figures[name])
        return

    # Figures with more axes first (a draw's cost is mostly laying out and ticking each axis),
    # so that a large figure does not start last while the other processes have finished.
    names.sort(key=lambda name: -len(figures[name].axes))
    ctx = mp.get_context("fork")
    counter = ctx.Value("i", 0)  # the next figure to take
    done = ctx.Array("b", len(names))  # 1 once a process has written figure i

    def work() -> None:
        while True:
            with counter.get_lock():
                i = int(counter.value)
                counter.value = i + 1
            if i >= len(names):
                return
            rd.write_figure(names[i], figures[names[i]])
            done[i] = 1

    children = [
        ctx.Process(target=_child, args=(work,), daemon=True) for _ in range(procs_wanted - 1)
    ]
    with warnings.catch_warnings():
        # Python >= 3.12 warns on fork() in a process with threads (BLAS, a sweep's executor):
        # the children touch none of those threads' state, only Agg and their own files.
        warnings.simplefilter("ignore", DeprecationWarning)
        for p in children:
            p.start()
    try:
        work()
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


def _child(work: Callable[[], None]) -> None:
    try:
        work()
    except BaseException:
        os._exit(1)
    os._exit(0)
