"""Finding a run's table files in tests: tables/<name>.csv, or tables/<name>.csv.bz2 for a table
whose CSV is over rundir.PLAIN_TABLE_BYTES (written compressed, without a Markdown copy)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def table_path(run: Path, name: str) -> Path:
    """The file of table `name` (AssertionError naming it when the run has none)."""
    for suffix in (".csv", ".csv.bz2"):
        path = Path(run) / "tables" / f"{name}{suffix}"
        if path.is_file():
            return path
    raise AssertionError(f"{run} has no table {name!r}")


def table_paths(run: Path) -> list[Path]:
    """Every table file of the run, sorted by name (plain and compressed)."""
    folder = Path(run) / "tables"
    return sorted([*folder.glob("*.csv"), *folder.glob("*.csv.bz2")])


def read_table(run: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(table_path(run, name))
