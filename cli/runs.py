"""`nnhw runs`: list the runs under results/ (or --out), show one, compare several.

    nnhw runs                          newest first: id, command, status, start, duration, headline
    nnhw runs show 20250101-120000-train
    nnhw runs compare ID ID --to md    summaries side by side (terminal table, Markdown or CSV)

Broken or half-written run folders are listed with status `broken` (or `interrupted` when their
process is gone), never an error. IDs may be abbreviated to a unique prefix.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cli.common import DEFAULT_OUT

OutOption = Annotated[
    Path, typer.Option("--out", metavar="DIR", help="Folder holding the run directories.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the list as JSON on stdout.")]

app = typer.Typer(
    name="runs",
    help="List, show and compare the runs under results/ (or --out).",
    invoke_without_command=True,
    no_args_is_help=False,
    add_completion=False,
)


class To(StrEnum):
    terminal = "terminal"
    md = "md"
    csv = "csv"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {sec:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


@app.callback()
def runs(ctx: typer.Context, out: OutOption = DEFAULT_OUT, json_out: JsonOption = False) -> None:
    """List the runs, newest first: id, command, status, start, duration and headline.

    Examples: `nnhw runs`, `nnhw runs --out /data/nnhw-runs`, `nnhw runs show <ID>`,
    `nnhw runs compare <ID> <ID> --to md`.
    """
    if ctx.invoked_subcommand is not None:
        return
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from experiments.catalog import list_runs

    entries = list_runs(out)
    if json_out:
        rows = [{"id": e.id, "path": str(e.path), "command": e.command, "status": e.status,
                 "started": e.started, "duration_s": e.duration_s, "headline": e.headline}
                for e in entries]  # fmt: skip
        sys.stdout.write(json.dumps(rows) + "\n")
        return
    console = Console(highlight=False)
    if not entries:
        console.print(escape(f"No runs under {out}."))
        return
    table = Table(
        title=escape(f"Runs under {out}"),
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for col in ("id", "command", "status", "started", "duration"):
        right = col == "duration"
        table.add_column(
            col, justify="right" if right else "left", no_wrap=col != "started", overflow="fold"
        )
    table.add_column("headline", overflow="fold", ratio=1)
    for e in entries:
        started = e.started.replace("T", " ")[:16]
        cells = (e.id, e.command, e.status, started, _duration(e.duration_s), e.headline)
        table.add_row(*map(escape, cells))
    console.print(table)


@app.command("show")
def show(
    run_id: Annotated[str, typer.Argument(metavar="ID", help="Run id, unique id prefix or path.")],
    out: OutOption = DEFAULT_OUT,
) -> None:
    """Print a run's settings, headline and findings."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from core.errors import NnhwError
    from experiments import catalog
    from experiments.report_html import format_value

    path = catalog.find_run(out, run_id)
    console = Console(highlight=False)
    e = catalog.entry(path)
    console.print(f"[bold]{escape(e.id)}[/bold]  {escape(e.command)}  {e.status}")
    console.print(f"started {escape(e.started)}, duration {_duration(e.duration_s)}")
    try:
        run = catalog.load_run(path)
    except NnhwError as exc:
        console.print(escape(f"Cannot read this run's settings or tables: {exc}"))
        raise typer.Exit(1) from None
    argv = run.info.get("argv") or []
    if argv:
        import shlex

        console.print(escape("command: nnhw " + shlex.join(map(str, argv))), soft_wrap=True)
    settings = Table(title="Settings", title_justify="left", show_header=False)
    settings.add_column("setting")
    settings.add_column("value")
    for key, value in run.settings.items():
        shown = ", ".join(map(format_value, value)) if isinstance(value, list) else value
        settings.add_row(escape(key), escape(format_value(shown)))
    console.print(settings)
    if e.headline:
        console.print(f"[bold]Headline:[/bold] {escape(e.headline)}")
    found = catalog.findings(run)
    if not found:
        console.print("No findings (the saved tables do not give them).")
    else:
        console.print("[bold]Findings:[/bold]")
    for i, f in enumerate(found, 1):
        verdict = f"[{f.verdict}] " if f.verdict else ""
        console.print(escape(f"{i}. {verdict}{f.text}"))
    report = path / "report.html"
    if report.exists():
        sys.stdout.write(f"Report: {report}\n")


@app.command("compare")
def compare(
    run_ids: Annotated[list[str], typer.Argument(metavar="ID ID ...", help="Two or more runs.")],
    out: OutOption = DEFAULT_OUT,
    to: Annotated[
        To, typer.Option("--to", case_sensitive=False, help="Output format.")
    ] = To.terminal,
) -> None:
    """Put the summaries of runs of the same command side by side."""
    from core.errors import NnhwError
    from experiments import catalog
    from experiments.report_html import format_value, markdown_table

    if len(run_ids) < 2:
        raise NnhwError("runs compare: give at least two run ids")
    df = catalog.compare([catalog.load_run(catalog.find_run(out, i)) for i in run_ids])
    if to is To.csv:
        sys.stdout.write(df.to_csv(index=False))
    elif to is To.md:
        sys.stdout.write(markdown_table(df) + "\n")
    else:
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        table = Table(header_style="bold")
        for col in df.columns:
            table.add_column(
                escape(str(col)), justify="left" if col == "key" else "right", overflow="fold"
            )
        for row in df.itertuples(index=False, name=None):
            table.add_row(*(escape(format_value(v)) for v in row))
        Console(highlight=False).print(table)
