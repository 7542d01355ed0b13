"""How nnhw's commands read their options and show their help.

- `HELP_CHOICES`: every choice list the help shows (activations, initialisers, datasets, ...),
  one copy for every command.
- `typed(func)`: gives every int, float and path option or argument in a command's signature a
  parser with nnhw's one wording for type errors (experiments.runs.validate): "--seeds must be an
  integer, got 'x'", "--lr must be a number, got 'abc'", "--out must be a path, got ''", instead
  of Typer's pydantic messages ("Input should be a valid integer, ..."). An integer may be written
  1e6. An empty text argument (a run id) is refused the same way.
- `Command`: the Click command class of every nnhw command. Usage and the Arguments section show
  an argument by its metavar alone (`nnhw report [OPTIONS] RUN_DIR`), not Typer's `{RUN_DIR}` and
  `RUN_DIR <str>`.

Only typer and the standard library are imported at module level (`nnhw --help` stays fast); the
wording comes from experiments.runs.validate, imported when a value is parsed.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.core import TyperCommand
from typer.models import ArgumentInfo, OptionInfo

from nnhw.core.errors import NnhwError

# The choices as the help shows them; each must equal its core registry (the
# commands' help tests check it); written out, so `nnhw --help` needs no NumPy.
HELP_CHOICES = {
    "task": "regression, classification",
    "dataset": "sine, linear, moons, circles, xor, spiral, blobs",
    "activation": (
        "relu, leaky-relu, tanh, sigmoid, identity, "
        "gelu, gelu-tanh, silu, elu, selu, softplus, mish"
    ),
    "init": (
        "zero, normal, uniform, standard, xavier-uniform, xavier-normal, he-uniform, he-normal, "
        "lecun-normal"
    ),
    "loss": "mse, bce, softmax-cross-entropy",
    "optimizer": "sgd, adam",
    "reduction": "mean, sum",
    "dtype": "float32, float64",
}


def _int(option: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        # Imported when a value is parsed, not at start-up: `nnhw --help` stays fast
        from nnhw.experiments.runs.validate import parse_int

        return parse_int(text, option)

    return parse


def _float(option: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        # Imported when a value is parsed, not at start-up: `nnhw --help` stays fast
        from nnhw.experiments.runs.validate import parse_float

        return parse_float(text, option)

    return parse


def _text(option: str, what: str, cast: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        if not str(text).strip():
            # Imported when a value is parsed, not at start-up: `nnhw --help` stays fast
            from nnhw.experiments.runs.validate import BadValueError

            if not option.startswith("--"):  # an argument: named by its metavar
                raise NnhwError(f"{option.split()[0]} must be {what}, got {text!r}")
            raise BadValueError(option[2:].replace("-", "_"), f"must be {what}, got {text!r}")
        return cast(text)

    return parse


def _base(annotation: Any) -> Any:
    """int for `int | None`, str for `list[str]`, the annotation itself otherwise."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _base(args[0]) if len(args) == 1 else annotation
    if origin is list:
        return _base(typing.get_args(annotation)[0])
    return annotation


def _parser(info: OptionInfo | ArgumentInfo, name: str, tp: Any) -> Callable[[str], Any] | None:
    # In Annotated form the first declaration arrives as the Option's `default`
    first = [info.default] if isinstance(info.default, str) else []
    decls = [d for d in (*first, *(info.param_decls or ())) if d.startswith("--")]
    option = decls[0].split("/")[0] if decls else (info.metavar or name.upper())
    if tp is bool:
        return None
    if tp is int:
        return _int(option)
    if tp is float:
        return _float(option)
    if tp is Path:
        return _text(option, "a path", Path)
    if tp is str and isinstance(info, ArgumentInfo):
        return _text(option, "a run id or path", str)
    return None


def typed(func: Callable[..., Any]) -> Callable[..., Any]:
    """`func` with nnhw's parsers on its int, float and path options (module docstring). The
    parameters' typer.Option/typer.Argument objects are given the parser in place."""
    sig = inspect.signature(func, eval_str=True)
    for name, param in sig.parameters.items():
        if typing.get_origin(param.annotation) is not typing.Annotated:
            continue
        tp, *meta = typing.get_args(param.annotation)
        for info in meta:
            if isinstance(info, OptionInfo | ArgumentInfo) and info.parser is None:
                info.parser = _parser(info, name, _base(tp))
    # Evaluating the annotations again would make new Option objects without the parsers: Typer
    # reads this signature instead (inspect.signature returns __signature__ when set).
    func.__signature__ = sig  # type: ignore[attr-defined]
    return func


class Command(TyperCommand):
    """A Typer command whose usage line and Arguments section show arguments by their metavar
    (RUN_DIR, ID ID ...), as Click's own help does."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                pieces.append(str(param.metavar or (param.name or "").upper()))
        return pieces

    def format_options(self, ctx: Any, formatter: Any) -> None:
        args, opts = [], []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                args.append((str(param.metavar or (param.name or "").upper()), record[1]))
            else:
                opts.append(record)
        if args:
            with formatter.section("Arguments"):
                formatter.write_dl(args)
        if opts:
            with formatter.section("Options"):
                formatter.write_dl(opts)


# The two task presets' values (core.presets.PRESETS, regression then classification) as the help
# states them: kept here so that `--help` imports nothing but typer (tests/cli/test_inputs.py
# checks them against the registry).
PRESET_VALUES: dict[str, tuple[str, str]] = {
    "dataset": ("sine", "moons"),
    "activation": ("relu", "sigmoid"),
    "output_activation": ("identity", "sigmoid"),
    "hidden": ("64", "64"),
    "init": ("standard", "standard"),
    "loss": ("mse", "mse"),
    "optimizer": ("sgd", "adam"),
    "lr": ("0.05", "0.01"),
    "epochs": ("100", "100"),
    "batch_size": ("32", "32"),
    "samples": ("1000", "1000"),
}


def preset(field: str) -> str:
    """'Default: 100 (both task presets).' or 'Default: the task preset's: sgd for regression,
    adam for classification.'"""
    regression, classification = PRESET_VALUES[field]
    if regression == classification:
        return f"Default: {regression} (both task presets)."
    return (
        f"Default: the task preset's: {regression} for regression, {classification} for "
        "classification."
    )
