"""experiments.data_io: every way a CSV file can be bad gives one NnhwError line naming the file."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

from nnhw.core.errors import NnhwError
from nnhw.experiments.data import csvfile
from nnhw.experiments.data.csvfile import read_csv


def write(tmp_path, text: str | bytes, name: str = "d.csv"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def test_reads_regression_and_classification(tmp_path):
    path = write(tmp_path, "a,b,y\n1,2,0.5\n3,4,1.5\n5,6,2.5\n")
    ds = read_csv(path, "y", "regression")
    np.testing.assert_array_equal(ds.X, [[1, 2], [3, 4], [5, 6]])
    np.testing.assert_array_equal(ds.y[:, 0], [0.5, 1.5, 2.5])
    assert ds.feature_names == ("a", "b")
    path = write(tmp_path, "\ufeffa,label\n1,3\n2,7\n3,3\n", "c.csv")  # a BOM is fine
    ds = read_csv(path, "label", "classification")
    assert ds.n_classes == 2
    np.testing.assert_array_equal(ds.labels, [0, 1, 0])


@pytest.mark.parametrize(
    ("content", "target", "expected"),
    [
        (None, "y", "no such file"),
        ("", "y", "empty"),
        ("  \n\n", "y", "empty"),
        (b"a,y\n1,\xff\xfe\n", "y", "not UTF-8"),
        (b"a,y\n1,\x002\n", "y", "NUL"),
        ("a,b\n1,2\n", "y", "no column named 'y'"),
        ("a,y\n1,two\n", "y", "'two' is not a number"),
        ("a,y\n1,nan\n", "y", "value is nan"),
        ("a,y\n", "y", "no data rows"),
    ],
)
def test_bad_files_name_the_file(tmp_path, content, target, expected):
    path = tmp_path / "bad.csv"
    if content is not None:
        write(tmp_path, content, "bad.csv")
    with pytest.raises(NnhwError, match=expected) as info:
        read_csv(path, target)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_directory_is_not_a_file(tmp_path):
    with pytest.raises(NnhwError, match="is a directory"):
        read_csv(tmp_path, "y")


def test_permission_denied(tmp_path, monkeypatch):
    path = write(tmp_path, "a,y\n1,2\n")
    if os.geteuid() != 0:
        path.chmod(0)
    else:  # root reads anything: simulate the OS refusing
        real_open = os.open

        def refuse(name, *args, **kwargs):
            if str(name) == str(path):
                raise PermissionError(13, "Permission denied", str(name))
            return real_open(name, *args, **kwargs)

        monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(NnhwError, match="permission denied"):
        read_csv(path, "y")


@pytest.mark.parametrize("special", ["fifo", "/dev/zero", "/dev/urandom"])
def test_only_regular_files_are_read(tmp_path, special):
    """A FIFO would block the open and /dev/zero never ends: both are refused at once."""
    if special == "fifo":
        path = tmp_path / "pipe.csv"
        os.mkfifo(path)
    else:
        path = special
    with pytest.raises(NnhwError, match="not a regular file") as info:
        read_csv(path, "y")
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_size_limit_is_stated(tmp_path, monkeypatch):
    path = write(tmp_path, "a,y\n" + "1,2\n" * 100)
    monkeypatch.setattr(csvfile, "max_csv_bytes", lambda: 100.0)
    with pytest.raises(NnhwError, match=r"the file is 404 B, more than the 100 B nnhw reads"):
        read_csv(path, "y")


@pytest.mark.parametrize(
    ("content", "task", "expected"),
    [
        ("a,a,y\n1,2,3\n4,5,6\n", "regression", "the header names column 'a' more than once"),
        ("a,y\n1,3\n2,3\n", "regression", "target column 'y' is constant (3 in every row)"),
        ("a,y\n1,1e200\n2,3\n", "regression", "column 'y' holds 1e+200, too large"),
        ("a,y\n1e308,1\n2,0\n", "classification", "column 'a' holds 1e+308, too large"),
        ("a,y\n1,cat\n2,\n", "classification", "row 3, column 'y': no class label"),
    ],
)
def test_data_that_cannot_be_standardised_or_scored(tmp_path, content, task, expected):
    path = write(tmp_path, content)
    with pytest.raises(NnhwError, match=re.escape(expected)) as info:
        read_csv(path, "y", task)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_string_class_labels_are_encoded_in_sorted_order(tmp_path):
    path = write(tmp_path, "a,b,y\n1,2,cat\n3,4,dog\n5,6, cat\n7,8,bird\n")
    ds = read_csv(path, "y", "classification")
    assert ds.class_names == ("bird", "cat", "dog") and ds.n_classes == 3
    np.testing.assert_array_equal(ds.labels, [1, 2, 1, 0])
    numeric = read_csv(write(tmp_path, "a,y\n1,3\n2,1.0\n3,3\n", "n.csv"), "y", "classification")
    assert numeric.class_names == ("1", "3")
    np.testing.assert_array_equal(numeric.labels, [1, 0, 1])


def test_fast_and_row_by_row_readers_agree(tmp_path, monkeypatch):
    """A file pandas does not take cleanly (a blank row of empty fields) is read row by row:
    the same numbers, bit for bit."""
    rng = np.random.default_rng(0)
    values = rng.standard_normal((300, 3))
    lines = [
        ",".join(repr(float(v)) for v in row) + f",{'ab'[i % 2]}" for i, row in enumerate(values)
    ]
    clean = write(tmp_path, "x1,x2,x3,y\n" + "\n".join(lines) + "\n", "clean.csv")
    messy = write(tmp_path, "x1,x2,x3,y\n" + "\n".join([*lines[:5], ",,,", *lines[5:]]), "m.csv")
    calls = []
    real = csvfile.parse_table
    monkeypatch.setattr(csvfile, "parse_table", lambda *a, **k: calls.append(1) or real(*a, **k))
    a = read_csv(clean, "y", "classification")
    assert not calls  # the fast path took it
    b = read_csv(messy, "y", "classification")
    assert calls  # the row-by-row reader took it
    np.testing.assert_array_equal(a.X, values)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.class_names == b.class_names == ("a", "b")
