"""Study configs as TOML: one `[<command>]` table holding the fields of the study's `Config`.

Contract:
- `config_to_dict(cfg)`: the dataclass's fields, in declaration order (tuples stay tuples).
- `dump_config_toml(command, mapping)`: the TOML text (tuples as arrays, Paths as strings; None
  values are left out, so reading the file back gives the field's default, which is None).
- `read_config_file(path, command)`: the `[<command>]` table of a TOML file as a dict (a regular
  file of at most CONFIG_LIMIT bytes; values in errors are cut short, never megabytes of text).
- `check_mapping(cls, mapping, source)`: the mapping with its values checked against the field
  types and converted where safe (int -> float, list -> tuple, str -> Path); an unknown key or a
  wrong type raises NnhwError naming `source` and the key.
- `config_from_mapping(cls, mapping, source)`: `cls(**check_mapping(...))` (the dataclass's own
  `__post_init__` then checks the values and names the CLI option).
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomli_w

from nnhw.core.errors import NnhwError
from nnhw.experiments.runs import safefs
from nnhw.experiments.runs.validate import BadValueError, shown

CONFIG_LIMIT = safefs.LIMITS["config"]  # the most of a config file nnhw reads (1 MiB)


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """Field name -> value of a config dataclass, in declaration order."""
    return {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)}


def _toml_value(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_toml_value(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and getattr(value, "shape", None) == ():  # NumPy scalar
        return value.item()
    return value


def dump_config_toml(command: str, mapping: Mapping[str, Any]) -> str:
    """`[<command>]` followed by the settings; reproduces the run with `--config`."""

    table = {k: _toml_value(v) for k, v in mapping.items() if v is not None}
    header = (
        f"# Settings of an `nnhw {command}` run; `nnhw {command} --config <this file>` "
        "repeats it.\n"
    )
    return header + tomli_w.dumps({command: table})


def read_config_file(path: Path, command: str) -> dict[str, Any]:
    """The `[<command>]` table of the TOML file at `path` (errors name the file). Only a
    regular file is opened (a FIFO or device is refused before it is read), at most
    CONFIG_LIMIT bytes of it."""
    path = Path(path)
    raw = safefs.read_user_file(path, CONFIG_LIMIT, "--config", "a TOML file")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise NnhwError(f"--config: {path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise NnhwError(f"--config: {path} is not valid TOML: {exc}") from None
    except RecursionError:
        raise NnhwError(f"--config: {path} is not valid TOML: nested too deeply") from None
    others = [k for k in data if k != command]
    if command not in data:
        found = f" (it has {', '.join(f'[{k[:40]}]' for k in others[:5])})" if others else ""
        raise NnhwError(f"--config: {path} has no [{command}] table{found}")
    if others:
        raise NnhwError(
            f"--config: {path}: unknown key {shown(others[0])} (only [{command}] belongs)"
        )
    table = data[command]
    if not isinstance(table, dict):
        raise NnhwError(f"--config: {path}: {command!r} must be a table, [{command}]")
    return dict(table)


def _type_name(tp: Any) -> str:
    """What a value of type `tp` is, with its article: "an integer", "a list of integers"."""
    origin = typing.get_origin(tp)
    if origin is tuple:
        args = typing.get_args(tp)
        return f"a list of {_plural(args[0])}" if args else "a list"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp) if a is not type(None))
    if origin is typing.Literal:
        return " or ".join(repr(a) for a in typing.get_args(tp))
    names = {int: "an integer", float: "a number", str: "a text", bool: "true or false",
             Path: "a path"}  # fmt: skip
    return names.get(tp, f"a {getattr(tp, '__name__', str(tp))}")


def _plural(tp: Any) -> str:
    return {int: "integers", float: "numbers", str: "texts", Path: "paths"}.get(
        tp, f"{getattr(tp, '__name__', str(tp))} values"
    )


_NO = object()


def _convert(value: Any, tp: Any) -> Any:
    """`value` converted to the field type `tp`, or _NO when it does not fit."""
    if tp is Any:
        return value
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            if arg is type(None):
                if value is None:
                    return None
                continue
            out = _convert(value, arg)
            if out is not _NO:
                return out
        return _NO
    if origin is typing.Literal:
        return value if value in typing.get_args(tp) else _NO
    if origin is tuple:
        if not isinstance(value, list | tuple):
            return _NO
        args = typing.get_args(tp)
        items = args[:1] * len(value) if len(args) == 2 and args[1] is Ellipsis else args
        if args and len(items) != len(value):
            return _NO
        converted = tuple(_convert(v, t) for v, t in zip(value, items or [Any] * len(value)))
        return _NO if any(v is _NO for v in converted) else converted
    if tp is bool:
        return value if isinstance(value, bool) else _NO
    if tp is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else _NO
    if tp is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return float(value) if ok else _NO
    if tp is str:
        return value if isinstance(value, str) else _NO
    if tp is Path:
        return Path(value) if isinstance(value, str | Path) else _NO
    return value if isinstance(tp, type) and isinstance(value, tp) else _NO


def check_mapping(cls: type, mapping: Mapping[str, Any], source: str) -> dict[str, Any]:
    """Values of `mapping` checked against `cls`'s field types (see the module docstring)."""
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        if key not in names:
            raise NnhwError(f"{source}: unknown key {shown(key)}; known keys: {', '.join(names)}")
        converted = _convert(value, hints.get(key, Any))
        if converted is _NO:
            want = _type_name(hints.get(key, Any))
            raise NnhwError(f"{source}: {key} must be {want}, got {shown(value)}")
        out[key] = converted
    return out


def config_from_mapping(cls: type, mapping: Mapping[str, Any], source: str) -> Any:
    """A `cls` instance from `mapping`, checked as `check_mapping` does."""
    values = check_mapping(cls, mapping, source)
    try:
        return cls(**values)
    except BadValueError as exc:  # a value out of range: name the file's key, not the option
        raise exc.in_file(source) from None
    except TypeError as exc:  # a required field is missing
        raise NnhwError(f"{source}: {exc}") from None
