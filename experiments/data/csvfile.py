"""Reading a CSV file into a Dataset: the file-system half of `core.data.parse_table`.

Contract: `read_csv(path, target, task)` reads `path` as UTF-8 text (a byte-order mark is
allowed) with a header row and returns the Dataset core.data builds from it (`check_header`,
`encode_labels`, `table_dataset`: repeated column names, class names such as cat and dog, values
too large to standardise and a constant regression target are decided there). Everything that
can go wrong with the file itself becomes one `NnhwError` line naming the option and file: it
does not exist, is a directory, is not a regular file (a FIFO, /dev/zero or a socket would hang
or never end), is larger than `max_csv_bytes()` (a quarter of the memory a run may use,
runs.validate.memory_limit), cannot be read, is empty, is not UTF-8 text, contains NUL bytes,
or is not parseable as CSV.

Memory stays close to the data's own size (8 bytes per value): the file is never held as text.
The fast path parses it in chunks of CHUNK_ROWS rows with pandas' C parser into one array sized
by a first pass that counts the lines (and looks for NUL bytes); a file the fast path does not
take cleanly (a bad value, a missing field, spaces around a number, blank fields, ...) is read
again row by row with the csv module into core.data.parse_table, which names the row and column
of the first bad value. `csv_shape(path)` is the (rows, columns) estimate the size checks use.
core does no I/O; this module does nothing but I/O.
"""

from __future__ import annotations

import csv
import io
import os
import stat
from pathlib import Path
from typing import IO, Any

import numpy as np

from nnhw.core.data import (
    Dataset,
    check_header,
    encode_labels,
    parse_table,
    table_dataset,
)
from nnhw.core.errors import NnhwError
from nnhw.experiments.runs.validate import format_bytes, memory_limit

CHUNK_ROWS = 50_000  # rows per chunk of the fast path (bounds the parser's own buffers)
_BLOCK = 1 << 24  # bytes per read of the line-counting pass
_MAX_HEADER = 1 << 20  # bytes of a header row


def max_csv_bytes() -> float:
    """The largest CSV file nnhw reads: a quarter of the memory a run may use."""
    return memory_limit() / 4


def open_regular(path: Path, what: str = "--csv", limit: float | None = None) -> IO[bytes]:
    """`path` opened for binary reading if it is a regular file of at most `limit` bytes;
    NnhwError naming `what` and the file otherwise. A FIFO is opened without blocking and then
    refused, so nothing hangs."""
    limit = max_csv_bytes() if limit is None else limit
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise NnhwError(f"{what} {path}: no such file") from None
    except PermissionError:
        raise NnhwError(f"{what} {path}: cannot be read (permission denied)") from None
    except OSError as exc:
        raise NnhwError(f"{what} {path}: cannot be read ({exc.strerror or exc})") from None
    try:
        mode = os.fstat(fd)
        if stat.S_ISDIR(mode.st_mode):
            raise NnhwError(f"{what} {path}: is a directory, not a file")
        if not stat.S_ISREG(mode.st_mode):
            raise NnhwError(
                f"{what} {path}: not a regular file (a FIFO, device or socket); give a file"
            )
        if mode.st_size > limit:
            raise NnhwError(
                f"{what} {path}: the file is {format_bytes(mode.st_size)}, more than the "
                f"{format_bytes(limit)} nnhw reads on this machine (a quarter of the memory a "
                "run may use)"
            )
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _scan(fh: IO[bytes], source: str) -> int:
    """The number of line breaks in the file (an upper bound of its data rows + 1); NnhwError
    for a NUL byte, which no text CSV holds."""
    lines, empty = 0, True
    while block := fh.read(_BLOCK):
        if b"\x00" in block:
            raise NnhwError(f"{source}: contains NUL bytes; not a text CSV file")
        lines += block.count(b"\n")
        empty = empty and not block.strip()
    if empty:
        raise NnhwError(f"{source}: the file is empty")
    return lines


def _text(fh: IO[bytes]) -> io.TextIOWrapper:
    fh.seek(0)
    return io.TextIOWrapper(fh, encoding="utf-8-sig", newline="")


def _header(fh: IO[bytes], target: str, source: str) -> tuple[list[str], int]:
    fh.seek(0)
    first = fh.readline(_MAX_HEADER)
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NnhwError(
            f"{source}: not UTF-8 text (byte 0x{first[exc.start]:02x} at offset {exc.start})"
        ) from None
    try:
        header = next(csv.reader([text.rstrip("\r\n")]), None)
    except csv.Error as exc:
        raise NnhwError(f"{source}: not a valid CSV file ({exc})") from None
    return check_header(header, target, source)


def _fast(
    fh: IO[bytes], names: list[str], t: int, task: str, lines: int, source: str
) -> Dataset | None:
    """The Dataset by pandas' C parser, chunk by chunk, or None when anything is not clean."""
    # pandas only to read a CSV file, not to list runs or show help
    import pandas as pd

    width = len(names)
    dtypes: dict[int, Any] = {i: np.float64 for i in range(width) if i != t}
    dtypes[t] = np.float64 if task == "regression" else object
    X = np.empty((lines + 1, width - 1))
    column = np.empty(lines + 1) if task == "regression" else np.empty(lines + 1, np.int64)
    texts: dict[str, int] = {}
    keep = [i for i in range(width) if i != t]
    n = 0
    fh.seek(0)
    try:
        with pd.read_csv(
            fh, header=0, names=list(range(width)), index_col=False, dtype=dtypes,
            na_filter=False, skip_blank_lines=True, encoding="utf-8-sig", engine="c",
            chunksize=CHUNK_ROWS,
        ) as reader:  # fmt: skip
            for chunk in reader:
                m = len(chunk)
                if n + m > len(X) or chunk.shape[1] != width:
                    return None
                X[n : n + m] = chunk[keep].to_numpy(np.float64)
                if task == "regression":
                    column[n : n + m] = chunk[t].to_numpy(np.float64)
                else:
                    names_seen = chunk[t].astype(str).str.strip()
                    for label in pd.unique(names_seen):
                        texts.setdefault(str(label), len(texts))
                    if "" in texts or len(texts) > 1000:
                        return None
                    column[n : n + m] = names_seen.map(texts).to_numpy(np.int64)
                n += m
    except (ValueError, TypeError, OverflowError, UnicodeDecodeError, pd.errors.ParserError):
        return None  # the row-by-row reader says what is wrong, and where
    X = X[:n]
    if n == 0 or not np.isfinite(X).all():
        return None  # a missing field (pandas pads it with NaN), nan or inf: say where
    feature_names = tuple(h for i, h in enumerate(names) if i != t)
    if task == "regression":
        y = column[:n]
        if not np.isfinite(y).all():
            return None
        return table_dataset(source, task, X, y, feature_names, names[t])
    labels, class_names = encode_labels(column[:n], list(texts), source, names[t])
    return table_dataset(source, task, X, labels, feature_names, names[t], class_names)


def read_csv(
    path: Path | str, target: str, task: str = "regression", what: str = "--csv"
) -> Dataset:
    """The table at `path` as a Dataset with `target` as the target column (module docstring)."""
    p = Path(path)
    source = f"{what} {p}"
    with open_regular(p, what) as fh:
        lines = _scan(fh, source)
        names, t = _header(fh, target, source)
        ds = _fast(fh, names, t, task, lines, source)
        if ds is not None:
            return ds
        text = _text(fh)
        try:
            return parse_table(csv.reader(text), target, source=source, task=task)
        except UnicodeDecodeError as exc:
            raise NnhwError(
                f"{source}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x})"
            ) from None
        except csv.Error as exc:
            raise NnhwError(f"{source}: not a valid CSV file ({exc})") from None
        finally:
            text.detach()


def csv_shape(path: Path | str, what: str = "--csv") -> tuple[int, int]:
    """(rows, columns) of a CSV file, cheaply: its line breaks and its header's fields (an
    estimate for the size checks; NnhwError as read_csv for a file it cannot read)."""
    p = Path(path)
    with open_regular(p, what) as fh:
        lines = _scan(fh, f"{what} {p}")
        fh.seek(0)
        first = fh.readline(_MAX_HEADER).decode("utf-8-sig", errors="replace")
    header = next(csv.reader([first.rstrip("\r\n")]), [])
    return max(lines, 1), max(len(header), 1)
