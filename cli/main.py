"""The root Typer app: registers one module per command and owns the error boundary.

Exit codes (DESIGN.md): 0 done, 1 failed, 2 bad usage or bad input (one line on stderr, no
traceback), 130 interrupted. `main(argv)` is the console script and what the CLI tests call.
Command modules import only typer and the standard library at module level, so `nnhw --help`
stays fast; pandas and matplotlib are imported inside the commands that use them. Help is
Click's plain text (rich_markup_mode=None): Typer's boxed Rich help imports rich and markdown-it
and made `nnhw --help` 1.5x slower than `python -c "import numpy, typer"`; plain help is 0.85x.
Example blocks in the docstrings start with a \\b line so Click keeps their line breaks.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

try:  # typer >= 0.22 vendors click as typer._click
    from typer._click import exceptions as cx
except ImportError:  # pragma: no cover - older typer uses click itself
    from click import exceptions as cx  # type: ignore[no-redef]

from nnhw.cli import (
    batch_scaling,
    common,
    compare_activations,
    report,
    runs,
    softmax_stability,
    train,
    vanishing_gradients,
    verify,
)
from nnhw.cli.options import Command, typed
from nnhw.core import __version__
from nnhw.core.errors import NnhwError

app = typer.Typer(
    name="nnhw",
    help=(
        "Study activation functions in small neural nets: train the course's two-layer nets and "
        "deeper ones with a hand-written NumPy backward pass, and measure what the theory says."
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
    add_completion=True,  # --install-completion / --show-completion [bash|zsh|fish|powershell]
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


MAX_ERROR = 1000  # characters of an error line


def _version(value: bool) -> None:
    if value:
        typer.echo(f"nnhw {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """nnhw: activation-function studies on small neural nets."""


def _error(message: str) -> None:
    # Only when there is an error to print (a regex module; --help stays as fast)
    from nnhw.experiments.reporting.escape import terminal

    # Typer words a bad enum choice "Value error, 'x' is not one of ..."; the prefix says nothing.
    first = " ".join(str(message).replace("Value error, ", "").split())
    # A message may quote a file name or value from someone else's run folder: no control
    # character reaches the terminal, and no message is longer than a few lines of it.
    first = terminal(first)
    if len(first) > MAX_ERROR:
        first = f"{first[: MAX_ERROR - 40]}... ({len(first)} characters in all)"
    print(f"nnhw: error: {first}", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    """Run the app; turn NnhwError and usage errors into one line and exit code 2."""
    args = sys.argv[1:] if argv is None else argv
    # The command line draws into files only: Matplotlib's Agg backend, chosen here and not by
    # the library (importing nnhw.experiments leaves a notebook's backend alone).
    os.environ.setdefault("MPLBACKEND", "Agg")
    common.set_argv(args)  # run.json records the command as typed
    try:
        code = app(args=args, prog_name="nnhw", standalone_mode=False)
    except NnhwError as exc:
        _error(str(exc))
        sys.exit(2)
    except cx.NoArgsIsHelpError as exc:
        print(exc.ctx.get_help() if exc.ctx else "")
        sys.exit(0)
    except cx.UsageError as exc:
        _error(exc.format_message())
        sys.exit(2)
    except cx.ClickException as exc:
        _error(exc.format_message())
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        print("nnhw: interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


# Commands, in the order `nnhw --help` lists them: one module each. The short help is what the
# command list shows (each command's docstring says the rest).
for name, function, short in (
    ("train", train.train, "Train one net: history, plots, report."),
    (
        "compare-activations",
        compare_activations.compare_activations,
        "Each activation trained over seeds, compared.",
    ),
    (
        "vanishing-gradients",
        vanishing_gradients.vanishing_gradients,
        "Gradient flow against depth, held to theory.",
    ),
    (
        "softmax-stability",
        softmax_stability.softmax_stability,
        "Softmax overflow and underflow by precision.",
    ),
    ("batch-scaling", batch_scaling.batch_scaling, "How the gradient scales with the batch size."),
    ("verify", verify.verify, "Test every claim of the course theory; one report."),
    ("report", typed(report.report), "Rebuild a run's figures and report from its tables."),
):
    app.command(name, short_help=short, cls=Command)(function)
app.add_typer(runs.app, name="runs", short_help="List, show and compare saved runs.")
