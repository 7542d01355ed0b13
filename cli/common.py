"""What every computing command shares: option aliases, list parsing, config resolution, and
`run_study` (progress, summary, --json, exit codes).

A command declares its study's own options, takes the options every run shares through one of
two decorators, turns its options into the study's field values, calls `resolve_config`
(precedence: options given on the command line > the --config file > the dataclass defaults) and
hands the config to `run_study`:

    @sweep_command                      # or @run_command for a study without sweep cells
    def compare_activations(ctx: typer.Context, seeds: ..., *, run: RunOptions) -> None:
        cfg = resolve_config(ctx, COMMAND, Config, values, run.config)
        run_study(COMMAND, cfg, run)

`run_command` adds --out, --config, --quiet and --json; `sweep_command` adds --workers, --dask,
--resume and --keep-going/--fail-fast as well. Both collect them into one `RunOptions`. Only
typer and the standard library are imported at module level.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from nnhw.cli.options import typed
from nnhw.core.errors import NnhwError

T = TypeVar("T")
DEFAULT_OUT = Path("results")
_ARGV: list[str] = []  # the arguments of this invocation, as typed (set by cli.main.main)

OutOption = Annotated[
    Path, typer.Option("--out", metavar="DIR", help="Folder the run directory is created in.")
]
SeedOption = Annotated[
    int | None,
    typer.Option(
        "--seed",
        metavar="N",
        help="Root random seed (same seed, same results). Default: 0.",
        show_default=False,
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", metavar="FILE", help="TOML settings file (e.g. a run's config.toml)."),
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON object (run_dir, status, metrics) on stdout.")
]
WorkersOption = Annotated[
    int,
    typer.Option(
        "--workers",
        metavar="N",
        help="Local worker processes for cells (>= 1). Default: 1.",
        show_default=False,
    ),
]
DaskOption = Annotated[
    str | None,
    typer.Option("--dask", metavar="ADDRESS", help="Run cells on a dask.distributed scheduler."),
]
ResumeOption = Annotated[
    Path | None,
    typer.Option(
        "--resume",
        metavar="RUN",
        help="Continue an interrupted or failed sweep: its run folder, or its id (or a unique "
        "prefix) under --out. Its settings come from its config.toml; options given beside "
        "--resume must agree with them.",
    ),
]
KeepGoingOption = Annotated[
    bool,
    typer.Option("--keep-going/--fail-fast", help="Record a failing cell and go on, or stop."),
]


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """The options every computing command shares (see the module docstring)."""

    out: Path = DEFAULT_OUT
    config: Path | None = None
    quiet: bool = False
    json_out: bool = False
    workers: int = 1
    dask: str | None = None
    resume: Path | None = None
    keep_going: bool = True
    resumable: bool = False  # the command takes --resume (a sweep command)


_RUN_PARAMS = {
    "out": (OutOption, DEFAULT_OUT),
    "config": (ConfigOption, None),
    "quiet": (QuietOption, False),
    "json_out": (JsonOption, False),
}
_SWEEP_PARAMS = {
    "workers": (WorkersOption, 1),
    "dask": (DaskOption, None),
    "resume": (ResumeOption, None),
    "keep_going": (KeepGoingOption, True),
}


def _with_options(func: Callable[..., None], params: dict[str, tuple[Any, Any]]) -> Any:
    """`func` (which takes `run: RunOptions` as a keyword) as a Typer command whose signature
    ends with the shared options; their values arrive in `run`."""
    sig = inspect.signature(func, eval_str=True)
    own = [p for name, p in sig.parameters.items() if name != "run"]
    extra = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=hint)
        for name, (hint, default) in params.items()
    ]

    @functools.wraps(func)
    def command(*args: Any, **kwargs: Any) -> None:
        shared = {name: kwargs.pop(name) for name in params}
        if "workers" in shared:
            # Imported when the command runs, not at start-up: `nnhw --help` stays fast
            from nnhw.experiments.runs.validate import check_int

            check_int(shared["workers"], "workers", 1)
        func(*args, **kwargs, run=RunOptions(**shared, resumable="resume" in params))

    command.__signature__ = sig.replace(parameters=[*own, *extra])  # type: ignore[attr-defined]
    return typed(command)


def run_command(func: Callable[..., None]) -> Any:
    """Add --out, --config, --quiet and --json to a command (values in `run`)."""
    return _with_options(func, _RUN_PARAMS)


def sweep_command(func: Callable[..., None]) -> Any:
    """Add the run options and the sweep options (--workers, --dask, --resume,
    --keep-going/--fail-fast) to a command (values in `run`)."""
    return _with_options(func, {**_RUN_PARAMS, **_SWEEP_PARAMS})


def option(field: str, metavar: str, help: str) -> Any:
    """A command option for a Config field: `--field-name`, no default shown (the help text
    says what an unset option takes)."""
    return typer.Option(
        f"--{field.replace('_', '-')}", metavar=metavar, help=help, show_default=False
    )


def set_argv(argv: list[str]) -> None:
    """Remember this invocation's arguments (cli.main.main calls it) for run.json."""
    _ARGV[:] = [str(a) for a in argv]


def parse_list(
    value: str | Iterable[Any],
    option: str,
    cast: Callable[[str], T] = str,  # type: ignore[assignment]
    choices: Iterable[str] | None = None,
) -> tuple[T, ...]:
    """A comma-separated option as a tuple: 'relu, TANH' -> ('relu', 'tanh') with choices
    (case-insensitive), '1,2,4' with cast=int -> (1, 2, 4). Errors name the option."""
    items = value.split(",") if isinstance(value, str) else [str(v) for v in value]
    items = [i.strip() for i in items]
    if not items or any(i == "" for i in items):
        raise NnhwError(f"{option} must be a comma-separated list, got {value!r} (an empty item)")
    if choices is not None:
        known = {c.lower(): c for c in choices}
        for item in items:
            if item.lower() not in known:
                raise NnhwError(
                    f"{option}: every item must be one of {', '.join(known.values())}, got {item!r}"
                )
        items = [known[i.lower()] for i in items]
    # Imported when a list is parsed, not at start-up: `nnhw --help` stays fast
    from nnhw.experiments.runs.validate import BadValueError, parse_float, parse_int

    out: list[Any] = []
    for item in items:
        try:
            if cast is int:
                out.append(parse_int(item, option))
            elif cast is float:
                out.append(parse_float(item, option))
            else:
                out.append(cast(item))
        except BadValueError as exc:
            raise NnhwError(f"{option}: every item {exc.problem}") from None
        except (TypeError, ValueError):
            kind = getattr(cast, "__name__", "value")
            raise NnhwError(f"{option}: every item must be a {kind}, got {item!r}") from None
    return tuple(out)


def _given(ctx: typer.Context, name: str, value: Any) -> bool:
    """Whether option `name` was given on the command line (or its environment variable)."""
    source = ctx.get_parameter_source(name)
    if source is None:
        return value is not None
    return source.name in ("COMMANDLINE", "ENVIRONMENT")


def resolve_config(
    ctx: typer.Context,
    command: str,
    Config: type,
    cli_values: dict[str, Any],
    config_file: Path | None,
) -> Any:
    """`Config` from the options given explicitly, then the config file, then the defaults.
    Keys of `cli_values` are both the command's parameter names and the Config's field names;
    values are already converted to the field types. With --resume: the run's own config.toml
    instead (`resume_config`)."""
    resume = ctx.params.get("resume")
    if resume is not None:
        return resume_config(ctx, command, Config, cli_values, config_file, resume)

    # Imported when the command runs, not at start-up: `nnhw --help` stays fast
    from nnhw.experiments.runs.configfile import check_mapping, read_config_file
    from nnhw.experiments.runs.validate import BadValueError

    merged: dict[str, Any] = {}
    source = f"{config_file} [{command}]"
    if config_file is not None:
        table = read_config_file(config_file, command)
        merged.update(check_mapping(Config, table, source))
    fields = {f.name: f for f in dataclasses.fields(Config)}
    for key, value in cli_values.items():
        if key not in fields:
            raise NnhwError(f"internal: {command} passes {key!r}, which {Config.__name__} lacks")
        f = fields[key]
        has_default = (
            f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
        )
        if _given(ctx, key, value) or (key not in merged and not has_default and value is not None):
            merged[key] = value
    from_file = set(merged) - {k for k, v in cli_values.items() if _given(ctx, k, v)}
    try:
        return Config(**merged)
    except BadValueError as exc:
        if config_file is not None and exc.field in from_file:
            raise exc.in_file(source) from None  # the bad value is the file's, not an option's
        raise


def resume_target(out: Path, resume: Path | str) -> Path:
    """The run folder --resume names: a path, or an id or unique id prefix under --out."""
    # Imported when the command runs, not at start-up: `nnhw --help` stays fast
    from nnhw.experiments.runs.catalog import find_run

    try:
        return find_run(Path(out), str(resume))
    except NnhwError as exc:
        raise NnhwError(f"--resume: {exc}") from None


def resume_config(
    ctx: typer.Context,
    command: str,
    Config: type,
    cli_values: dict[str, Any],
    config_file: Path | None,
    resume: Path | str,
) -> Any:
    """The config of the run --resume names, from its own config.toml. Options given on the
    command line (and a --config file) must agree with it: NnhwError naming every option that
    differs. Agreement is judged on the resolved configs, so `--activations RELU` agrees with a
    saved "relu"."""
    # Imported when the command runs, not at start-up: `nnhw --help` stays fast
    from nnhw.experiments.runs.configfile import (
        check_mapping,
        config_from_mapping,
        config_to_dict,
        read_config_file,
    )
    from nnhw.experiments.runs.runner import resume_settings

    path = resume_target(ctx.params.get("out") or DEFAULT_OUT, resume)
    settings = resume_settings(path, command)
    source = f"{path / 'config.toml'} [{command}]"
    base = config_from_mapping(Config, settings, source)
    wanted: dict[str, Any] = {}
    if config_file is not None:
        table = read_config_file(config_file, command)
        wanted.update(check_mapping(Config, table, f"{config_file} [{command}]"))
    wanted.update({k: v for k, v in cli_values.items() if _given(ctx, k, v)})
    if not wanted:
        return base
    candidate = Config(**{**config_to_dict(base), **wanted})
    differ = [
        f"--{f.name.replace('_', '-')} {_shown(getattr(base, f.name))} "
        f"(given: {_shown(getattr(candidate, f.name))})"
        for f in dataclasses.fields(Config)
        if getattr(candidate, f.name) != getattr(base, f.name)
    ]
    if differ:
        raise NnhwError(
            f"--resume: {path} was started with other settings: {', '.join(differ)}; leave "
            "these options out to continue it as it was started (its config.toml), or start "
            "a new run"
        )
    return base


def _shown(value: Any) -> str:
    """A setting as it would be typed: 1,2,4 for a tuple, '(unset)' for None."""
    if value is None:
        return "(unset)"
    if isinstance(value, tuple | list):
        return ",".join(str(v) for v in value)
    return str(value)


class _RichProgress:
    """A progress factory drawing rich bars on stderr; `stop()` when the run ends."""

    def __init__(self) -> None:
        # rich only when progress is shown on a terminal
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self.progress.start()

    def __call__(self, description: str, total: int | None) -> Any:
        progress = self.progress
        task = progress.add_task(description, total=total)  # None: a stage of unknown length

        class Tracker:
            def advance(self, n: int = 1) -> None:
                progress.advance(task, n)

            def close(self) -> None:
                progress.remove_task(task)

        return Tracker()

    def stop(self) -> None:
        self.progress.stop()


def terminal_progress(quiet: bool = False) -> Any:
    """Progress bars on stderr (a progress factory with `stop()`) when stderr is a terminal and
    not `quiet`; else None."""
    return _RichProgress() if not quiet and sys.stderr.isatty() else None


def _summary_table(outcome: Any) -> Any:
    """The run's metrics (cli.summary: per-group numbers pivoted into one table), else its
    `summary` table (first 20 rows)."""
    # Imported once a run has finished, not at start-up: `nnhw --help` stays fast
    from rich.console import Group
    from rich.markup import escape
    from rich.table import Table

    from nnhw.cli.summary import metrics_tables
    from nnhw.experiments.reporting.html import format_value

    if outcome.metrics:
        return Group(*metrics_tables(outcome.metrics))
    df = outcome.summary
    if df is None or df.shape[1] == 0:
        return None
    table = Table(header_style="bold")
    for col in df.columns:
        numeric = df[col].dtype.kind in "iuf"
        table.add_column(escape(str(col)), justify="right" if numeric else "left")
    for row in df.head(20).itertuples(index=False, name=None):
        table.add_row(*(escape(format_value(v)) for v in row))
    if len(df) > 20:
        table.caption = f"first 20 of {len(df)} rows"
    return table


def run_study(command: str, config: Any, run: RunOptions) -> None:
    """Run the study, show progress (stderr), then the summary or the JSON line; exit with the
    run's code (raises typer.Exit)."""
    # Imported when the command runs, not at start-up: `nnhw --help` stays fast
    from rich.console import Console

    from nnhw.experiments.reporting.escape import terminal  # headlines quote the user's data
    from nnhw.experiments.runs.context import SweepOptions, no_progress
    from nnhw.experiments.runs.rundir import dumps_json
    from nnhw.experiments.runs.runner import DISK_FULL, execute, resume_command
    from nnhw.experiments.runs.validate import check_size

    resume = resume_target(run.out, run.resume) if run.resume is not None else None
    # settings beyond this machine's memory or the work limit: refused before any run directory
    check_size(command, config, 1 if run.dask is not None else run.workers)
    bars = terminal_progress(run.quiet)
    argv = list(_ARGV) or [command]
    try:
        outcome = execute(
            command,
            config,
            out=run.out,
            argv=argv,
            resume=resume,
            sweep=SweepOptions(workers=run.workers, dask=run.dask, keep_going=run.keep_going),
            progress=bars if bars is not None else no_progress,
        )
    except KeyboardInterrupt:  # escaped the runner (e.g. before the run directory existed)
        print("nnhw: interrupted", file=sys.stderr)
        raise typer.Exit(130) from None
    except OSError as exc:  # a full disk before the run could record it (e.g. its run.json)
        if exc.errno not in DISK_FULL:
            raise
        print(f"nnhw: error: --out {run.out}: {exc.strerror}", file=sys.stderr)
        raise typer.Exit(1) from None
    finally:
        if bars is not None:
            bars.stop()
    path = outcome.rundir.path
    hint = f"; resume with: {resume_command(command, path)}" if run.resumable else ""
    if outcome.status == "interrupted" and outcome.message:
        print(f"nnhw: {outcome.message}", file=sys.stderr)
    elif outcome.status == "interrupted":
        print(f"nnhw: interrupted{hint}", file=sys.stderr)
    elif outcome.status == "failed":
        print(f"nnhw: error: {outcome.message or 'the run failed'}{hint}", file=sys.stderr)
    elif outcome.status == "diverged":
        print(f"nnhw: warning: {terminal(outcome.headline)}", file=sys.stderr)
    elif outcome.exit_code == 1 and outcome.message:
        print(f"nnhw: error: {outcome.message}", file=sys.stderr)
    if run.json_out:
        payload = {
            "run_dir": str(path),
            "status": outcome.status,
            "headline": outcome.headline,
            "metrics": outcome.metrics,
        }
        sys.stdout.write(json.dumps(json.loads(dumps_json(payload))) + "\n")
    else:
        console = Console(highlight=False)
        headline = terminal(f"nnhw {command}: {outcome.status} — {outcome.headline}")
        console.print(headline, soft_wrap=True, markup=False)
        table = _summary_table(outcome)
        if table is not None:
            console.print(table)
        # the last line: what to open (the folder when the run stopped before its report)
        report = Path(path) / "report.html"
        sys.stdout.write(f"Report: {report}\n" if report.is_file() else f"Results in {path}\n")
    raise typer.Exit(outcome.exit_code)
