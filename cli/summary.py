"""The terminal summary of a run: its metrics (what --json prints) as tables a person can scan.

Keys of the form `<group>.<name>` (`relu.test_accuracy`) or `<group> <name>` (`relu/standard
signal factor`) whose names recur in two or more groups are pivoted: one row per group, one column
per name, so five activations x five numbers read as a 5 x 5 table instead of 25 lines. Every
other key stays a key/value row. Values are formatted as in the reports; a missing one (None, a
non-finite number) shows as "-". Rich is imported by the caller's function, not here.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

MISSING = "-"


def split_key(key: str) -> tuple[str, str] | None:
    """(group, name) of a metric key, split at its first '.' or else its first space."""
    for sep in (".", " "):
        group, _, name = key.partition(sep)
        if group and name:
            return group, name
    return None


def pivot(metrics: dict[str, Any]) -> tuple[list[str], dict[str, dict[str, Any]], dict[str, Any]]:
    """(column names, {group: {name: value}}, the other metrics) -- see the module docstring."""
    groups: dict[str, dict[str, Any]] = {}
    for key, value in metrics.items():
        parts = split_key(str(key))
        if parts is not None:
            groups.setdefault(parts[0], {})[parts[1]] = value
    counts = Counter(name for values in groups.values() for name in values)
    rows = {g: v for g, v in groups.items() if all(counts[n] >= 2 for n in v)}
    if len(rows) < 2:
        return [], {}, dict(metrics)
    columns = list(dict.fromkeys(name for values in rows.values() for name in values))
    rest = {k: v for k, v in metrics.items() if (split_key(str(k)) or ("",))[0] not in rows}
    return columns, rows, rest


def metrics_tables(metrics: dict[str, Any]) -> list[Any]:
    """Rich tables for `metrics`: the pivoted one (if any), then the key/value one (if any)."""
    # rich and the report helpers only once a run has finished
    from rich.markup import escape
    from rich.table import Table

    from nnhw.experiments.reporting.html import format_value

    def cell(value: Any) -> str:
        text = format_value(value)
        return MISSING if text in ("", "nan", "inf", "-inf") else escape(text)

    columns, rows, rest = pivot(metrics)
    tables = []
    if rows:
        table = Table(header_style="bold")
        table.add_column("")
        for name in columns:
            # spaces, not underscores, so a narrow terminal wraps a header between words
            table.add_column(escape(name.replace("_", " ")), justify="right", overflow="fold")
        for group, values in rows.items():
            table.add_row(escape(group), *(cell(values.get(n)) for n in columns))
        tables.append(table)
    if rest:
        table = Table(show_header=False)
        table.add_column("metric")
        table.add_column("value", justify="right")
        for key, value in rest.items():
            table.add_row(escape(str(key)), cell(value))
        tables.append(table)
    return tables
