"""The nnhw command line with one more command, `toy-sweep`: the toy sweep study of sweep_toy
(6 cells by default) behind the same shared options as every sweep command (`@sweep_command`,
`run_study`). For tests that need the real CLI in a real process (signals, locks, worker
processes, Dask) without the minutes of a real study.

    python -m tests.experiments.toy_cli toy-sweep --out DIR [--n-a 3] [--workers 2] ...

Test hooks (environment): those of sweep_toy (NNHW_TOY_SLEEP, NNHW_TOY_MARKERS, ...), and
NNHW_TOY_DASK_WORKER_TIMEOUT: seconds for executors.DASK_WORKER_TIMEOUT (the default 30 s is too
long for a test). `register(app)` adds the command to an app in process (the CLI tests).
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer

from nnhw.cli.common import RunOptions, SeedOption, resolve_config, run_study, sweep_command
from nnhw.experiments.runs import studies
from tests.experiments import sweep_toy


@sweep_command
def toy_sweep(
    ctx: typer.Context,
    n_a: Annotated[int | None, typer.Option("--n-a")] = None,
    n_b: Annotated[int | None, typer.Option("--n-b")] = None,
    fail_a: Annotated[int | None, typer.Option("--fail-a")] = None,
    seed: SeedOption = None,
    *,
    run: RunOptions,
) -> None:
    values = {"n_a": n_a, "n_b": n_b, "fail_a": fail_a, "seed": seed}
    cfg = resolve_config(ctx, sweep_toy.COMMAND, sweep_toy.Config, values, run.config)
    run_study(sweep_toy.COMMAND, cfg, run)


def register(app: Any) -> None:
    """Make `toy-sweep` a command of `app` and a known study."""
    studies.STUDIES[sweep_toy.COMMAND] = sweep_toy.__name__
    app.command(sweep_toy.COMMAND)(toy_sweep)


def main(argv: list[str]) -> None:
    from nnhw.cli.main import app
    from nnhw.cli.main import main as nnhw_main
    from nnhw.experiments.runs import executors

    timeout = os.environ.get("NNHW_TOY_DASK_WORKER_TIMEOUT")
    if timeout:
        executors.DASK_WORKER_TIMEOUT = float(timeout)
    register(app)
    nnhw_main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
