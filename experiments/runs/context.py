"""What a study's `compute` receives besides its config: where to write cells, how to run cells,
how to report progress.

Contract of a study module (experiments/<study>.py, listed in `experiments.studies`):
- `COMMAND`: the CLI command name, also the table name in config.toml.
- `Config`: a frozen dataclass of plain fields (int, float, str, bool, tuples of those); its
  `__post_init__` validates and raises NnhwError naming the option ("--lr must be > 0, got -3").
- `compute(config, ctx) -> dict[str, DataFrame]`: the measurements, as tidy tables. Pure: writes
  nothing itself (sweep cells go through `ctx.rundir` via experiments.sweep).
- Interrupted by Ctrl-C, `compute` may raise `Interrupted(tables)` carrying what it finished
  (e.g. train's history so far); the runner writes those tables and marks the run interrupted.
- Optional `status(tables) -> str`: "completed" (default) or "diverged".
- `figures(tables, config) -> dict[str, Figure]`, `report(tables, config) -> Report` and
  `headline(tables) -> str` work from the tables alone, so `nnhw report RUN_DIR` rebuilds them from
  the saved CSVs without recomputing, and a rebuilt report equals the original byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from nnhw.experiments.runs.rundir import RunDir


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during compute, carrying the tables finished so far."""

    def __init__(self, tables: dict[str, Any]) -> None:
        super().__init__()
        self.tables = tables


class Tracker(Protocol):
    """One progress bar: `advance` after each unit of work, `close` at the end. A bar's total
    counts exactly the units that will be advanced; None: a stage of unknown length (the bar
    shows that it is working and for how long)."""

    def advance(self, n: int = 1) -> None: ...

    def close(self) -> None: ...


ProgressFactory = Callable[[str, int | None], Tracker]  # (description, total) -> Tracker


class _NullTracker:
    def advance(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def no_progress(description: str, total: int | None) -> Tracker:
    """A progress factory that shows nothing (tests, --quiet, stderr not a terminal)."""
    return _NullTracker()


@dataclass(frozen=True)
class SweepOptions:
    """How a sweep's cells run: `workers` local processes (1 = serial, in process), or a Dask
    scheduler at `dask` (an address such as tcp://127.0.0.1:8786); `keep_going` records a failing
    cell and goes on, otherwise the sweep stops at the first failure."""

    workers: int = 1
    dask: str | None = None
    keep_going: bool = True


@dataclass
class RunContext:
    """rundir: where finished cells are written (None: keep them in memory only).
    resume: the rundir already holds finished cells to read instead of recomputing."""

    rundir: RunDir | None = None
    sweep: SweepOptions = field(default_factory=SweepOptions)
    progress: ProgressFactory = no_progress
    resume: bool = False
