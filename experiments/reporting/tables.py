"""How a table of a run is shown in a report: which columns first, which values a reader sees
instead of a sentinel, and which rows when the table is long. The CSV beside the report keeps
every row and column as computed; this only chooses what the page shows.

Contract:
- `TableView(first=, hide=, sentinels=, badges=, rows=)`: `first` names the columns shown first,
  in that order (the identifying ones, then the verdict), the others keep their order after them;
  `hide` columns are left out of the page (a duplicate such as a verdict's category);
  `sentinels` maps a column to {raw value: text} ("diverges_from": {-1: "never"}); `badges` are
  verdict columns drawn as coloured badges; `rows` picks the rows a long table shows (below);
  `max_rows` raises or lowers the report's limit for this table (a summary that is the content).
- A row picker is `df -> (rows, what)`: the rows to show and a few words saying which they are
  ("the first broken point of each case, dtype and formula"). Pickers here: `evenly(n)` (n rows
  spread over the table, first and last included), `where(mask_fn, what)`, `first_per(keys,
  mask_fn, what)`, `worst_per(keys, column, what)`, `ends_per(keys, column, what)`.
- `present(df, view, max_rows) -> Shown`: the columns in order, the rows to show, the texts that
  replace sentinels, and a note such as "12 of 1392 rows: the first broken point of each case,
  dtype and formula" (empty when every row is shown). A table longer than `max_rows` with no
  picker of its own shows `evenly(max_rows)`. A missing value (NaN, None, empty) shows as "-".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

RowPicker = Callable[["pd.DataFrame"], tuple["pd.DataFrame", str]]
MISSING = "-"  # what a reader sees for a missing value (NaN, None, an empty cell)


@dataclass(frozen=True)
class TableView:
    first: tuple[str, ...] = ()
    hide: tuple[str, ...] = ()
    sentinels: Mapping[str, Mapping[Any, str]] = field(default_factory=dict)
    badges: tuple[str, ...] = ()
    rows: RowPicker | None = None
    max_rows: int | None = None


@dataclass(frozen=True)
class Shown:
    """What the page shows of one table: `df` (rows and columns, in order), `texts` (per column,
    the text of a cell that replaces its raw value, or None to format the value), `badges`, and
    `note` (which rows, when not all; "" otherwise)."""

    df: pd.DataFrame
    texts: dict[str, list[str | None]]
    badges: tuple[str, ...]
    note: str
    total: int


def is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip().lower() in ("", "nan", "none")


def _matches(value: Any, raw: Any) -> bool:
    if is_missing(raw):
        return is_missing(value)
    try:
        return bool(value == raw) or float(value) == float(raw)
    except (TypeError, ValueError):
        return False


def present(df: pd.DataFrame, view: TableView | None, max_rows: int) -> Shown:
    """The part of `df` a report shows, in the view's order (module docstring)."""
    view = view or TableView()
    max_rows = view.max_rows or max_rows
    cols = [c for c in df.columns if c not in view.hide]
    first = [c for c in view.first if c in cols]
    cols = first + [c for c in cols if c not in first]
    rows, what = (df, "")
    if len(df) > max_rows:
        rows, what = (view.rows or evenly(max_rows))(df)
        if len(rows) > max_rows:  # more than fit: spread over them, never just the first ones
            spread, _ = evenly(max_rows)(rows)
            what = (f"{what}, {max_rows} of the {len(rows)} spread evenly" if len(rows) < len(df)
                    else "spread evenly over the table")  # fmt: skip
            rows = spread
    shown = rows[cols]
    texts: dict[str, list[str | None]] = {}
    for c in cols:
        rules = view.sentinels.get(c, {})
        column: list[str | None] = []
        for v in shown[c].tolist():
            text = next((t for raw, t in rules.items() if _matches(v, raw)), None)
            column.append(MISSING if text is None and is_missing(v) else text)
        texts[c] = column
    note = f"{len(rows)} of {len(df)} rows: {what}" if len(rows) < len(df) else ""
    return Shown(shown, texts, tuple(b for b in view.badges if b in cols), note, len(df))


def evenly(n: int) -> RowPicker:
    """n rows spread evenly over the table, the first and the last included."""

    def pick(df: pd.DataFrame) -> tuple[pd.DataFrame, str]:
        if len(df) <= n:
            return df, "every row"
        step = (len(df) - 1) / (n - 1)
        index = sorted({round(i * step) for i in range(n)})
        return df.iloc[index], "spread evenly over the table"

    return pick


def where(mask: Callable[[pd.DataFrame], Any], what: str) -> RowPicker:
    """The rows where mask(df) is true; every row when none is."""

    def pick(df: pd.DataFrame) -> tuple[pd.DataFrame, str]:
        m = mask(df)
        return (df[m], what) if bool(m.any()) else (df, "every row")

    return pick


def first_per(keys: list[str], mask: Callable[[pd.DataFrame], Any], what: str) -> RowPicker:
    """Per group of `keys`, the first row where mask(df) is true (groups where it never is are
    left out); every row when none is."""

    def pick(df: pd.DataFrame) -> tuple[pd.DataFrame, str]:
        hits = df[mask(df)]
        if hits.empty:
            return df, "every row"
        return hits.groupby(keys, sort=False).head(1), what

    return pick


def worst_per(keys: list[str], column: str, what: str) -> RowPicker:
    """Per group of `keys`, the row with the largest finite `column`."""

    def pick(df: pd.DataFrame) -> tuple[pd.DataFrame, str]:
        import numpy as np  # only when a table is shown

        values = df[column].replace([np.inf, -np.inf], np.nan)
        ok = values.notna()
        if not ok.any():
            return df.groupby(keys, sort=False).head(1), what
        best = set(values[ok].groupby([df.loc[ok, k] for k in keys], sort=False).idxmax())
        return df[[i in best for i in df.index]], what

    return pick


def ends_per(keys: list[str], column: str, what: str) -> RowPicker:
    """Per group of `keys`, the rows with the smallest and the largest `column` (the first and
    last layer, the first and last epoch)."""

    def pick(df: pd.DataFrame) -> tuple[pd.DataFrame, str]:
        g = df.groupby(keys, sort=False)[column]
        keep = (df[column] == g.transform("min")) | (df[column] == g.transform("max"))
        return df[keep], what

    return pick
