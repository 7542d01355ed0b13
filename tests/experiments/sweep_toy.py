"""Toy sweep cells for the sweep-engine tests (module-level, so loky and Dask can pickle them).

`toy_cell(params, seed)` draws from the cell's own stream and returns two tables. Test hooks, read
from the environment so the cell's params (and so the sweep's identity) stay the same across runs:
- NNHW_TOY_SLEEP: seconds to sleep before finishing (so a SIGINT lands mid-cell);
- NNHW_TOY_INTERRUPT="a,b": that cell raises KeyboardInterrupt (Ctrl-C in process);
- NNHW_TOY_MARKERS: a folder where each finished computation leaves `<code>-<run>-<pid>-<n>`
  (code = 100 a + b-number, run = NNHW_TOY_RUN), which counts how often every cell was computed,
  and in which run.
`failing_cell` raises for the cells whose `a` equals params["fail_a"]; `flaky_cell` raises for
a == 2 while NNHW_TOY_FAIL=1.

It is also a study module (COMMAND "toy-sweep", Config, compute, figures, report, headline) for
testing the runner with a sweep: tests register it in `experiments.studies.STUDIES`.

Run as a script (`python -m tests.experiments.sweep_toy RUN_DIR [--resume] [--workers N]
[--dask ADDRESS]`) it runs `toy_grid()` into RUN_DIR (created under it when not resuming, its path
printed first).
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT_SEED = 20240611
_counter = itertools.count()


def toy_grid(n_a: int = 4, n_b: int = 3) -> list[dict[str, Any]]:
    from nnhw.experiments.runs.sweep import grid

    return grid({"a": list(range(n_a)), "b": [f"b{j}" for j in range(n_b)]})


def toy_cell(params: dict[str, Any], seed: np.random.SeedSequence) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(5)
    w = rng.standard_normal((5, 5))
    y = np.tanh(w @ x) * (1 + params["a"])  # a matmul: what BLAS thread counts could change
    if os.environ.get("NNHW_TOY_INTERRUPT") == f"{params['a']},{params['b']}":
        raise KeyboardInterrupt  # Ctrl-C in the middle of this cell
    sleep = float(os.environ.get("NNHW_TOY_SLEEP", "0"))
    if sleep:
        time.sleep(sleep)
    _mark(params)
    values = pd.DataFrame({"a": params["a"], "b": params["b"], "k": np.arange(5), "y": y})
    summary = pd.DataFrame({"a": [params["a"]], "b": [params["b"]], "mean": [y.mean()]})
    summary["ok"] = summary["mean"] > 0
    return {"values": values, "summary": summary}


def failing_cell(params: dict[str, Any], seed: np.random.SeedSequence) -> dict[str, pd.DataFrame]:
    if params["a"] == params["fail_a"]:
        raise ValueError(f"toy failure at a={params['a']} b={params['b']}")
    return toy_cell(params, seed)


def flaky_cell(params: dict[str, Any], seed: np.random.SeedSequence) -> dict[str, pd.DataFrame]:
    """Fails for a == 2 while NNHW_TOY_FAIL=1 (a transient fault, fixed before a resume)."""
    if params["a"] == 2 and os.environ.get("NNHW_TOY_FAIL") == "1":
        raise RuntimeError("transient toy fault")
    return toy_cell(params, seed)


def threads_cell(params: dict[str, Any], seed: np.random.SeedSequence) -> dict[str, pd.DataFrame]:
    """Reports experiments.executors.cell_threads() as seen inside the cell."""
    from nnhw.experiments.runs.executors import cell_threads

    return {"threads": pd.DataFrame({"a": [params["a"]], "threads": [cell_threads()]})}


def _mark(params: dict[str, Any]) -> None:
    folder = os.environ.get("NNHW_TOY_MARKERS")
    if folder:
        index = params["a"] * 100 + int(params["b"][1:])
        run = os.environ.get("NNHW_TOY_RUN", "0")
        (Path(folder) / f"{index}-{run}-{os.getpid()}-{next(_counter)}").touch()


def marker_counts(folder: Path) -> dict[tuple[int, int], int]:
    """(a, b-number) -> how many computations of that cell left a marker."""
    counts: dict[tuple[int, int], int] = {}
    for path in Path(folder).iterdir():
        code = int(path.name.split("-")[0])
        key = (code // 100, code % 100)
        counts[key] = counts.get(key, 0) + 1
    return counts


COMMAND = "toy-sweep"


@dataclass(frozen=True)
class Config:
    n_a: int = 3
    n_b: int = 2
    seed: int = ROOT_SEED
    fail_a: int = -1  # the cells with this `a` raise


def compute(config: Config, ctx: Any) -> dict[str, pd.DataFrame]:
    from nnhw.experiments.runs.sweep import combine, run_sweep

    cells = [dict(c, fail_a=config.fail_a) for c in toy_grid(config.n_a, config.n_b)]
    return combine(run_sweep(failing_cell, cells, ctx, config.seed))


def figures(tables: dict[str, pd.DataFrame], config: Config) -> dict[str, Any]:
    return {}


def report(tables: dict[str, pd.DataFrame], config: Config) -> Any:
    from nnhw.experiments.reporting.report import Finding, Report, Section

    summary = tables["summary"]
    return Report(
        title="Toy sweep",
        summary="A toy sweep for testing the runner.",
        findings=[Finding(f"{len(summary)} cells finished, mean {summary['mean'].mean():.3g}.")],
        sections=[Section("Cells", tables=[("summary", "One row per cell")])],
    )


def headline(tables: dict[str, pd.DataFrame]) -> str:
    return f"{len(tables['summary'])} cells"


def main(argv: list[str]) -> int:
    from nnhw.experiments.runs.context import RunContext, SweepOptions
    from nnhw.experiments.runs.rundir import RunDir
    from nnhw.experiments.runs.sweep import combine, run_sweep

    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--dask", default=None)
    args = parser.parse_args(argv)
    if args.resume:
        rd = RunDir.open(args.run_dir)
    else:
        rd = RunDir.create(args.run_dir, "toy", ["toy"], {"n": 1}, ROOT_SEED)
    print(rd.path, flush=True)
    ctx = RunContext(
        rundir=rd, sweep=SweepOptions(workers=args.workers, dask=args.dask), resume=args.resume
    )
    try:
        tables = combine(run_sweep(toy_cell, toy_grid(), ctx, ROOT_SEED))
    except KeyboardInterrupt:
        rd.finish("interrupted")
        return 130
    for name, df in tables.items():  # plain CSV: this helper needs no report machinery
        rd.write_text(f"tables/{name}.csv", df.to_csv(index=False))
    rd.finish("completed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
