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
from typing import Annotated, Any

import typer

from nnhw.cli.common import DEFAULT_OUT
from nnhw.cli.options import Command, typed
from nnhw.core.errors import NnhwError

OutOption = Annotated[
    Path, typer.Option("--out", metavar="DIR", help="Folder holding the run directories.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the list as JSON on stdout.")]

app = typer.Typer(
    name="runs",
    help=(
        "List, show and compare the runs under results/ (or --out).\n\n"
        "Newest first: id, command, status, start, duration and the run's headline. Broken or "
        "half-written run folders are listed as broken, never an error. An id may be "
        "shortened to a unique prefix.\n\n"
        "\b\nExamples:\n"
        "  nnhw runs\n"
        "  nnhw runs --out /tmp/nnhw-runs --json\n"
        "  nnhw runs show 20261126-1119          # settings, headline, findings\n"
        "  nnhw runs compare ID ID --to md       # summaries side by side"
    ),
    invoke_without_command=True,
    rich_markup_mode=None,
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
@typed
def runs(ctx: typer.Context, out: OutOption = DEFAULT_OUT, json_out: JsonOption = False) -> None:
    """List the runs, newest first: id, command, status, start, duration and headline.

    Examples: `nnhw runs`, `nnhw runs --out /data/nnhw-runs`, `nnhw runs show <ID>`,
    `nnhw runs compare <ID> <ID> --to md`.
    """
    if ctx.invoked_subcommand is not None:
        return
    # Imported when the command runs, not at start-up: `nnhw --help` stays fast
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from nnhw.experiments.reporting.escape import terminal
    from nnhw.experiments.runs.catalog import list_runs

    entries = list_runs(out)
    if json_out:  # json.dumps writes every control character as \uXXXX: nothing raw
        rows = [{"id": e.id, "path": str(e.path), "command": e.command, "status": e.status,
                 "started": e.started, "duration_s": e.duration_s, "headline": e.headline}
                for e in entries]  # fmt: skip
        sys.stdout.write(json.dumps(rows) + "\n")
        return
    console = Console(highlight=False)
    if not entries:
        console.print(escape(terminal(f"No runs under {out}.")))
        return
    # Everything shown comes from run folders (maybe someone else's): control characters escaped
    rows = [tuple(map(terminal, (e.id, e.command, e.status, e.started.replace("T", " ")[:16],
                                 _duration(e.duration_s), e.headline or "")))
            for e in entries]  # fmt: skip
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(_COLUMNS)]
    if sum(widths) + 3 * len(widths) + 24 > console.width:
        _print_stacked(console, out, rows)  # the headline would be squeezed to a few letters
        return
    table = Table(
        title=escape(terminal(f"Runs under {out}")),
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for col in _COLUMNS:
        table.add_column(col, justify="right" if col == "duration" else "left", no_wrap=True)
    table.add_column("headline", overflow="fold", ratio=1)
    for cells in rows:
        table.add_row(*map(escape, cells))
    console.print(table)


_COLUMNS = ("id", "command", "status", "started", "duration")


def _print_stacked(console: Any, out: Path, rows: list[tuple[str, ...]]) -> None:
    """The listing for a narrow terminal: one line of facts per run, its headline indented below
    (the id already ends with the command, so the command is only added when it does not)."""
    # rich only when a run is shown
    from rich.padding import Padding
    from rich.text import Text

    from nnhw.experiments.reporting.escape import terminal

    ids = [i if i.endswith(c) else f"{i} ({c})" for i, c, *_ in rows]
    w_id, w_status = max(2, *map(len, ids)), max(6, *(len(r[2]) for r in rows))
    console.print(Text(terminal(f"Runs under {out}")))
    head = f"{'id':<{w_id}}  {'status':<{w_status}}  {'started':<16}  {'duration':>9}"
    console.print(Text(head, style="bold"), no_wrap=True, overflow="ellipsis")
    console.print(Padding(Text("headline", style="bold"), (0, 0, 0, 4)))
    for run_id, (_, _, status, started, duration, headline) in zip(ids, rows):
        line = f"{run_id:<{w_id}}  {status:<{w_status}}  {started:<16}  {duration:>9}"
        console.print(Text(line), no_wrap=True, overflow="fold")
        if headline:
            console.print(Padding(Text(headline, style="dim"), (0, 0, 0, 4)))


@app.command("show", cls=Command)
@typed
def show(
    run_id: Annotated[str, typer.Argument(metavar="ID", help="Run id, unique id prefix or path.")],
    out: OutOption = DEFAULT_OUT,
) -> None:
    """Print a run's settings, headline and findings.

    \b
    Examples:
      nnhw runs show 20261126-111859-train
      nnhw runs show 20261126-1118                # a unique prefix is enough
      nnhw runs show results/20261126-111859-train
      nnhw runs show 20261126-1118 --out /tmp/nnhw-runs
    """
    # Imported when the command runs, not at start-up: `nnhw --help` stays fast
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from nnhw.experiments.reporting.escape import shell_join, terminal
    from nnhw.experiments.reporting.html import format_value
    from nnhw.experiments.runs import catalog, safefs

    path = catalog.find_run(out, run_id)
    # First, so that a run folder that cannot be read (a link or special file in it, run.json or
    # config.toml of the wrong shape) gives one line and exit 2 before anything is printed.
    run = catalog.load_run(path)
    console = Console(highlight=False)
    e = catalog.entry(path)

    def text(value: object) -> str:  # from the run folder: no markup, no control characters
        return escape(terminal(value))

    console.print(f"[bold]{text(e.id)}[/bold]  {text(e.command)}  {text(e.status)}")
    console.print(f"started {text(e.started)}, duration {_duration(e.duration_s)}")
    argv = run.info.get("argv") or []
    if argv:
        console.print(text("command: nnhw " + shell_join(argv)), soft_wrap=True)
    settings = Table(title="Settings", title_justify="left", show_header=False)
    settings.add_column("setting")
    settings.add_column("value")
    for key, value in run.settings.items():
        shown = ", ".join(map(format_value, value)) if isinstance(value, list) else value
        settings.add_row(text(key), text(format_value(shown)))
    console.print(settings)
    if e.headline:
        console.print(f"[bold]Headline:[/bold] {text(e.headline)}")
    found = catalog.findings(run)
    if not found:
        console.print("No findings (the saved tables do not give them).")
    else:
        console.print("[bold]Findings:[/bold]")
    for i, f in enumerate(found, 1):
        verdict = f"[{f.verdict}] " if f.verdict else ""
        console.print(text(f"{i}. {verdict}{f.text}"))
    if safefs.is_file(path, "report.html"):
        sys.stdout.write(terminal(f"Report: {path / 'report.html'}") + "\n")


@app.command("compare", cls=Command)
@typed
def compare(
    run_ids: Annotated[
        list[str], typer.Argument(metavar="ID ID...", help="Two or more run ids (or prefixes).")
    ],
    out: OutOption = DEFAULT_OUT,
    to: Annotated[
        str,
        typer.Option(
            "--to",
            metavar="FORMAT",
            help="Output format: terminal, md or csv. Default: terminal.",
            show_default=False,
            autocompletion=lambda: [t.value for t in To],
        ),
    ] = "terminal",
) -> None:
    """Put the summaries of runs of the same command side by side.

    One row per setting and per summary number, one column per run: what changed between
    the runs and what it did. --to md or --to csv for a paper or a spreadsheet.

    \b
    Examples:
      nnhw runs compare 20261126-1119 20261126-1120
      nnhw runs compare ID ID ID --to md > comparison.md
      nnhw runs compare ID ID --to csv --out /tmp/nnhw-runs
    """
    # Imported when the command runs, not at start-up: `nnhw --help` stays fast
    from nnhw.experiments.reporting.escape import terminal
    from nnhw.experiments.reporting.html import format_value, markdown_table
    from nnhw.experiments.runs import catalog
    from nnhw.experiments.runs.validate import check_choice

    to = To(check_choice(to, "to", tuple(t.value for t in To)))
    if len(run_ids) < 2:
        raise NnhwError("runs compare: give at least two run ids")
    df = catalog.compare([catalog.load_run(catalog.find_run(out, i)) for i in run_ids])
    # Text from run folders, in every format: control characters escaped (reporting.escape)
    df = df.rename(columns=terminal).map(lambda v: terminal(v) if isinstance(v, str) else v)
    if to is To.csv:
        sys.stdout.write(df.to_csv(index=False))
    elif to is To.md:
        sys.stdout.write(markdown_table(df) + "\n")
    else:
        # rich only for a terminal table
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
