"""experiments.data_io: every way a CSV file can be bad gives one NnhwError line naming the file."""

from __future__ import annotations

import os

import numpy as np
import pytest

from nnhw.core.errors import NnhwError
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
        from pathlib import Path

        def refuse(self):
            raise PermissionError(13, "Permission denied", str(self))

        monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(NnhwError, match="permission denied"):
        read_csv(path, "y")
