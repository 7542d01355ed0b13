"""The sweep engine: a grid of cells, each with a stable index and its own random stream.

Contract:
- `grid(axes)` lists the cells of the product of the axes (a dict of name -> values) in canonical
  order: the first axis varies slowest. A cell is a dict of axis values; its index is its position.
- `cell_seed(root, index)` = SeedSequence(root, spawn_key=(index,)): a cell's randomness depends on
  the root seed and its index only, never on which worker runs it or in which order.
- `run_sweep(cell_fn, cells, ctx, root_seed)` runs `cell_fn(params, seed) -> dict[str, DataFrame]`
  for every cell and returns the results in cell order (None for a failed cell).
  `cell_fn` must be a module-level function (picklable) for parallel executors.
- `combine(results)` concatenates each table over cells in cell order, adding a `cell` column.

This module is the serial version; resume, process and Dask executors extend it behind the same API.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from experiments.context import RunContext

CellFn = Callable[[dict[str, Any], np.random.SeedSequence], dict[str, pd.DataFrame]]


def grid(axes: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Cells of the product of `axes`, first axis slowest."""
    names = list(axes)
    return [dict(zip(names, values)) for values in itertools.product(*axes.values())]


def cell_seed(root: int, index: int) -> np.random.SeedSequence:
    """The random stream of cell `index` under root seed `root`."""
    return np.random.SeedSequence(root, spawn_key=(index,))


def run_sweep(
    cell_fn: CellFn, cells: Sequence[dict[str, Any]], ctx: RunContext, root_seed: int
) -> list[dict[str, pd.DataFrame] | None]:
    """Run every cell (serially here) and return the results in cell order."""
    tracker = ctx.progress("cells", len(cells))
    results: list[dict[str, pd.DataFrame] | None] = []
    try:
        for index, params in enumerate(cells):
            results.append(cell_fn(dict(params), cell_seed(root_seed, index)))
            tracker.advance()
    finally:
        tracker.close()
    return results


def combine(results: Sequence[dict[str, pd.DataFrame] | None]) -> dict[str, pd.DataFrame]:
    """Each table concatenated over the finished cells in cell order, with a `cell` column."""
    parts: dict[str, list[pd.DataFrame]] = {}
    for index, result in enumerate(results):
        if result is None:
            continue
        for name, df in result.items():
            parts.setdefault(name, []).append(df.assign(cell=index))
    return {name: pd.concat(dfs, ignore_index=True) for name, dfs in parts.items()}
