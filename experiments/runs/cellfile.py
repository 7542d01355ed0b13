"""The file format of a finished sweep cell: data only, so that loading a cell cannot run code.

A run folder may come from someone else, and `--resume` reads its cells, so a cell is never a
pickle. Format 2 (`NNNNN.cell`):

    nnhw-cell 2 <sha256 of the payload, hex>\\n
    <payload: UTF-8 JSON>

The payload is an object {"sweep", "index", "params", "root_seed", "tables"}; "tables" maps a
table name to {"rows": n, "columns": [...], "index": column or null}. A column is
{"name": str or int, "dtype": "<f8" | "<i8" | "|b1" | ... | "object", ...}:
- numeric, boolean and datetime columns (NumPy kinds b, i, u, f, c, m, M) hold "data": the base64
  of the column's raw bytes in the byte order the dtype string names, so every float comes back
  with the same bits (NaN payloads and -0.0 included) and every column with its dtype;
- text columns (pandas' "str" and "string" dtypes) hold "values": strings, null where missing;
- object columns hold "values": a JSON list of null, true/false, integers, strings and floats,
  a non-finite float written as {"float": "nan" | "inf" | "-inf"} (JSON has no such numbers);
  finite floats are written by repr and read back exactly.
"index" is null for the default 0..n-1 index, else a column (a cell's tables have the default).

Loading trusts nothing: JSON is parsed by the standard library (no object hooks), dtypes are
checked against a closed list before NumPy sees them, sizes against the row count. Whatever does
not fit gives None (the caller recomputes the cell); the checksum catches a torn or damaged file,
not a forged one, which can at worst hold wrong numbers, never run code.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
from typing import Any

import numpy as np
import pandas as pd

MAGIC = b"nnhw-cell 2 "
SUFFIX = ".cell"
# Dtype strings a column may name: byte order, kind, size (datetimes with their unit).
_DTYPE = re.compile(r"^[<>|=](?:[biufc]\d{1,2}|[mM]8\[[A-Za-z]{1,3}\])$")
_SPECIAL = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


class CellFormatError(TypeError):
    """A cell's table holds something the format cannot store (a programming error in the
    cell function: cells return plain tables)."""


def encode(record: dict[str, Any]) -> bytes:
    """The bytes of a cell file for `record` (its "tables" DataFrames encoded as above)."""
    body = {k: v for k, v in record.items() if k != "tables"}
    body["tables"] = {str(name): _table(df) for name, df in record["tables"].items()}
    payload = json.dumps(body, separators=(",", ":"))  # params may hold inf: JSON's Infinity
    data = payload.encode("utf-8")
    return MAGIC + hashlib.sha256(data).hexdigest().encode() + b"\n" + data


def decode(data: bytes) -> dict[str, Any] | None:
    """The record of a cell file, its tables as DataFrames; None when the file is damaged or
    not a format-2 cell."""
    header, _, payload = data.partition(b"\n")
    if header != MAGIC + hashlib.sha256(payload).hexdigest().encode():
        return None
    try:
        body = json.loads(payload.decode("utf-8"))
        if not isinstance(body, dict) or not isinstance(body.get("tables"), dict):
            return None
        body["tables"] = {str(n): _frame(t) for n, t in body["tables"].items()}
    except (ValueError, TypeError, KeyError, RecursionError, binascii.Error):
        return None
    return body


def _table(df: pd.DataFrame) -> dict[str, Any]:
    if not isinstance(df, pd.DataFrame) or isinstance(df.columns, pd.MultiIndex):
        raise CellFormatError(f"a cell table must be a flat DataFrame, got {type(df).__name__}")
    default = isinstance(df.index, pd.RangeIndex) and df.index.equals(pd.RangeIndex(len(df)))
    return {
        "rows": len(df),
        "columns": [_column(name, df.iloc[:, i]) for i, name in enumerate(df.columns)],
        "index": None if default else _column(df.index.name, df.index.to_series()),
    }


def _column(name: Any, series: pd.Series) -> dict[str, Any]:
    if isinstance(name, np.generic):
        name = name.item()
    if name is not None and not isinstance(name, str | int):
        raise CellFormatError(f"a cell table's column name must be a string, got {name!r}")
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "biufcmM":
        raw = np.ascontiguousarray(series.to_numpy(copy=False)).tobytes()
        return {"name": name, "dtype": dtype.str, "data": base64.b64encode(raw).decode("ascii")}
    if isinstance(dtype, np.dtype) and dtype.kind == "O":
        return {"name": name, "dtype": "object", "values": [_scalar(v) for v in series.tolist()]}
    if isinstance(dtype, pd.StringDtype):  # pandas >= 3 infers it for text: "str" (NaN missing)
        kind = "str" if _is_nan(dtype.na_value) else "string"  # "string": pd.NA missing
        values = [None if pd.isna(v) else str(v) for v in series.tolist()]
        return {"name": name, "dtype": kind, "values": values}
    raise CellFormatError(f"column {name!r} of a cell table has dtype {dtype}, which cells do "
                          "not store")  # fmt: skip


def _scalar(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return {"float": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    raise CellFormatError(f"a cell table holds a {type(value).__name__} ({value!r:.40}), which "
                          "cells do not store")  # fmt: skip


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _frame(table: Any) -> pd.DataFrame:
    if not isinstance(table, dict):
        raise ValueError("a table is not an object")
    rows = table["rows"]
    columns = table["columns"]
    if not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
        raise ValueError("bad row count")
    if not isinstance(columns, list):
        raise ValueError("columns is not a list")
    names = [_name(c) for c in columns]
    # Series with their dtype given: a DataFrame built from object arrays would infer "str"
    data = {i: pd.Series(_values(c, rows), dtype=_dtype(c)) for i, c in enumerate(columns)}
    df = pd.DataFrame(data, index=pd.RangeIndex(rows))
    df.columns = pd.Index(names) if names else df.columns  # inferred, as when the cell built it
    if table.get("index") is not None:
        df.index = pd.Index(_values(table["index"], rows), name=_name(table["index"]))
    return df


def _dtype(column: dict[str, Any]) -> Any:
    """The dtype to build a column's Series with (checked by _values before it is used)."""
    return object if column["dtype"] == "object" else None


def _name(column: Any) -> Any:
    if not isinstance(column, dict):
        raise ValueError("a column is not an object")
    name = column.get("name")
    if name is not None and (not isinstance(name, str | int) or isinstance(name, bool)):
        raise ValueError("bad column name")
    return name


def _values(column: dict[str, Any], rows: int) -> Any:
    dtype = column["dtype"]
    if dtype in ("str", "string"):
        values = column["values"]
        if not isinstance(values, list) or len(values) != rows:
            raise ValueError("bad text column")
        if not all(v is None or isinstance(v, str) for v in values):
            raise ValueError("bad value in a text column")
        return pd.array(values, dtype=dtype)
    if dtype == "object":
        values = column["values"]
        if not isinstance(values, list) or len(values) != rows:
            raise ValueError("bad object column")
        out = np.empty(rows, dtype=object)
        out[:] = [_from_json(v) for v in values]
        return out
    if not isinstance(dtype, str) or not _DTYPE.match(dtype):
        raise ValueError(f"dtype {dtype!r:.40} is not one a cell stores")
    np_dtype = np.dtype(dtype)
    raw = base64.b64decode(column["data"], validate=True)
    if len(raw) != rows * np_dtype.itemsize:
        raise ValueError("column size does not match the row count")
    return np.frombuffer(raw, dtype=np_dtype).copy()  # a writable array of its own


def _from_json(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict) and set(value) == {"float"} and value["float"] in _SPECIAL:
        return _SPECIAL[value["float"]]
    raise ValueError("bad value in an object column")
