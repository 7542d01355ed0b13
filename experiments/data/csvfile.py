"""Reading a CSV file into a Dataset: the file-system half of `core.data.parse_table`.

Contract: `read_csv(path, target, task)` opens `path` as UTF-8 text (a byte-order mark is
allowed), splits it with the `csv` module and hands the rows to `core.data.parse_table`, which
checks the header, the target column and every value. Everything that can go wrong with the file
itself becomes one `NnhwError` line naming the file: it does not exist, is a directory, cannot be
read (permissions), is empty, is not UTF-8 text, or is not parseable as CSV. core does no I/O;
this module does nothing but I/O.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from nnhw.core.data import Dataset, parse_table
from nnhw.core.errors import NnhwError


def read_text(path: Path, what: str = "--csv") -> str:
    """The whole file as text, or NnhwError naming the option and file."""
    if not path.exists():
        raise NnhwError(f"{what} {path}: no such file")
    if path.is_dir():
        raise NnhwError(f"{what} {path}: is a directory, not a file")
    try:
        data = path.read_bytes()
    except PermissionError:
        raise NnhwError(f"{what} {path}: cannot be read (permission denied)") from None
    except OSError as exc:
        raise NnhwError(f"{what} {path}: cannot be read ({exc.strerror or exc})") from None
    if not data.strip():
        raise NnhwError(f"{what} {path}: the file is empty")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NnhwError(
            f"{what} {path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None


def read_csv(path: Path | str, target: str, task: str = "regression") -> Dataset:
    """The numeric table at `path` as a Dataset with `target` as the target column."""
    p = Path(path)
    text = read_text(p)
    if "\x00" in text:
        raise NnhwError(f"--csv {p}: contains NUL bytes; not a text CSV file")
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise NnhwError(f"--csv {p}: not a valid CSV file ({exc})") from None
    return parse_table(rows, target, source=f"--csv {p}", task=task)
