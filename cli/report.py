"""`nnhw report RUN_DIR`: rebuild a run's figures, report.md and report.html from its saved
config.toml and tables, without recomputing (after an upgrade, or for an interrupted run, whose
report then says what is missing).

    nnhw report results/20250101-120000-compare-activations
    nnhw report 20250101-120000      (an id or unique prefix under --out)
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from nnhw.cli.common import DEFAULT_OUT, terminal_progress

OutOption = Annotated[
    Path, typer.Option("--out", metavar="DIR", help="Folder holding the run directories.")
]


def report(
    run_dir: Annotated[
        str, typer.Argument(metavar="RUN_DIR", help="A run directory, or a run id under --out.")
    ],
    out: OutOption = DEFAULT_OUT,
) -> None:
    """Rebuild a run's figures and report from its saved tables (no recomputation).

    Reads config.toml and tables/ and writes plots/, report.md and report.html again: after
    an upgrade of nnhw, or for an interrupted run, whose report then says what is missing.
    The same tables give the same bytes.

    \b
    Examples:
      nnhw report results/20261126-111859-train
      nnhw report 20261126-1118                  # a run id or unique prefix under --out
      nnhw report 20261126-1118 --out /tmp/nnhw-runs
    """
    # Imported when the command runs, not at start-up: `nnhw --help` stays fast
    from nnhw.experiments.reporting.escape import terminal
    from nnhw.experiments.runs.catalog import find_run
    from nnhw.experiments.runs.context import no_progress
    from nnhw.experiments.runs.rundir import run_status
    from nnhw.experiments.runs.runner import rebuild

    path = find_run(out, run_dir)
    bars = terminal_progress()  # drawing and saving the figures, the report
    try:
        rd = rebuild(path, progress=bars if bars is not None else no_progress)
    finally:
        if bars is not None:
            bars.stop()
    status = run_status(rd.path)
    if status in ("interrupted", "failed", "running"):
        print(f"nnhw: note: the run is {status}; the report says what is missing", file=sys.stderr)
    # The folder's name may come from someone else: control characters escaped
    sys.stdout.write(terminal(f"Report: {Path(rd.path) / 'report.html'}") + "\n")
    sys.stdout.write(terminal(f"Markdown: {Path(rd.path) / 'report.md'}") + "\n")
