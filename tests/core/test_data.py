"""Datasets from a seed, the table parser's errors, the split and standardisation."""

from __future__ import annotations

import re

import numpy as np
import pytest

from nnhw.core.data import (
    CLASSIFICATION_DATASETS,
    DATASET_NAMES,
    REGRESSION_DATASETS,
    Standardizer,
    make_dataset,
    parse_table,
    split,
    targets,
    task_of,
)
from nnhw.core.errors import NnhwError

N_FEATURES = {"sine": 1, "linear": 3}
N_CLASSES = {"moons": 2, "circles": 2, "xor": 2, "spiral": 3, "blobs": 3}


@pytest.mark.parametrize("name", DATASET_NAMES)
def test_shapes_dtypes_and_task(name):
    ds = make_dataset(name, 120, np.random.default_rng(0))
    assert ds.n_samples == 120 and ds.X.dtype == np.float64 and np.all(np.isfinite(ds.X))
    if name in REGRESSION_DATASETS:
        assert ds.task == task_of(name) == "regression"
        assert ds.X.shape == (120, N_FEATURES[name]) and ds.y is not None
        assert ds.y.shape == (120, 1) and ds.labels is None
    else:
        assert ds.task == task_of(name) == "classification"
        assert ds.X.shape == (120, 2) and ds.y is None and ds.labels is not None
        assert ds.labels.shape == (120,) and ds.labels.dtype == np.int64
        assert ds.n_classes == N_CLASSES[name]
        assert set(np.unique(ds.labels)) == set(range(ds.n_classes))


@pytest.mark.parametrize("name", DATASET_NAMES)
def test_same_seed_same_data_other_seed_other_data(name):
    a = make_dataset(name, 50, np.random.default_rng(5))
    b = make_dataset(name, 50, np.random.default_rng(5))
    c = make_dataset(name, 50, np.random.default_rng(6))
    np.testing.assert_array_equal(a.X, b.X)
    assert not np.array_equal(a.X, c.X)
    if a.labels is not None:
        np.testing.assert_array_equal(a.labels, b.labels)


@pytest.mark.parametrize("name", CLASSIFICATION_DATASETS)
def test_classes_roughly_balanced(name):
    ds = make_dataset(name, 3000, np.random.default_rng(1))
    share = np.bincount(ds.labels) / ds.n_samples
    np.testing.assert_allclose(share, 1 / ds.n_classes, atol=0.05)


def test_regression_targets_follow_their_formula():
    sine = make_dataset("sine", 2000, np.random.default_rng(2), noise=0.0)
    np.testing.assert_allclose(sine.y[:, 0], np.sin(sine.X[:, 0]), rtol=0, atol=1e-15)
    noisy = make_dataset("sine", 4000, np.random.default_rng(2))
    assert np.std(noisy.y[:, 0] - np.sin(noisy.X[:, 0])) == pytest.approx(0.1, rel=0.05)
    lin = make_dataset("linear", 500, np.random.default_rng(3), noise=0.0)
    coef, *_ = np.linalg.lstsq(np.column_stack([lin.X, np.ones(500)]), lin.y, rcond=None)
    np.testing.assert_allclose(coef[:, 0], [1.5, -2.0, 0.5, 0.3], atol=1e-12)


def test_unknown_dataset_refused():
    with pytest.raises(NnhwError, match=r"unknown dataset 'mnist'; choose one of sine"):
        make_dataset("mnist", 10, np.random.default_rng(0))


def test_targets_for_one_and_several_outputs():
    ds = make_dataset("blobs", 30, np.random.default_rng(4))
    onehot = targets(ds, 3)
    assert onehot.shape == (30, 3)
    np.testing.assert_array_equal(onehot.argmax(1), ds.labels)
    moons = make_dataset("moons", 30, np.random.default_rng(4))
    np.testing.assert_array_equal(targets(moons, 1)[:, 0], moons.labels)


# --- parse_table -------------------------------------------------------------------------------


def _rows(*lines: str) -> list[list[str]]:
    return [line.split(",") for line in lines]


def test_parse_table_reads_features_and_target():
    ds = parse_table(_rows("a,y,b", "1,2,3", "4,5,6", ""), "y", "data.csv")
    np.testing.assert_array_equal(ds.X, [[1.0, 3.0], [4.0, 6.0]])
    np.testing.assert_array_equal(ds.y, [[2.0], [5.0]])
    assert ds.feature_names == ("a", "b") and ds.target_name == "y"
    cls = parse_table(_rows("x,c", "0.5,3", "1.5,7", "2,3"), "c", "d.csv", task="classification")
    np.testing.assert_array_equal(cls.labels, [0, 1, 0])
    assert cls.n_classes == 2


@pytest.mark.parametrize(
    ("rows", "target", "expected"),
    [
        ([], "y", r"^data\.csv: the file is empty"),
        (_rows(""), "y", r"^data\.csv: the file is empty"),
        (_rows("a,y"), "y", r"^data\.csv: the file has a header but no data rows"),
        (_rows("a,b", "1,2"), "y", r"^data\.csv: no column named 'y'; columns are a, b"),
        (
            _rows("a,y", "1,2", "3,abc"),
            "y",
            r"^data\.csv: row 3, column 'y': 'abc' is not a number",
        ),
        (_rows("a,y", "x1,2"), "y", r"^data\.csv: row 2, column 'a': 'x1' is not a number"),
        (_rows("a,y", "1,2", "nan,3"), "y", r"^data\.csv: row 3, column 'a': value is nan"),
        (_rows("a,y", "1,inf"), "y", r"^data\.csv: row 2, column 'y': value is inf"),
        (_rows("a,y", "1,2,3"), "y", r"^data\.csv: row 2 has 3 fields, the header has 2"),
        (_rows("y", "1"), "y", r"^data\.csv: needs at least one feature column"),
    ],
)
def test_parse_table_errors_name_source_column_and_row(rows, target, expected):
    with pytest.raises(NnhwError, match=expected) as info:
        parse_table(rows, target, "data.csv")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("rows", "task", "expected"),
    [
        (_rows("a,a,y", "1,2,3"), "regression", "the header names column 'a' more than once"),
        (_rows("a,,y", "1,2,3"), "regression", "column 2 of the header has no name"),
        (_rows("a,y", "1,4", "2,4"), "regression", "the target column 'y' is constant"),
        (_rows("a,y", "1,2e200", "2,1"), "regression", "column 'y' holds 2e+200, too large"),
        (_rows("a,y", "-1e308,0", "2,1"), "classification", "column 'a' holds 1e+308, too large"),
        (_rows("a,y", "1,cat"), "classification", "column 'y' must hold 2 to 100 class labels"),
    ],
)
def test_parse_table_refuses_what_cannot_be_standardised_or_scored(rows, task, expected):
    with pytest.raises(NnhwError, match=re.escape(f"data.csv: {expected}")):
        parse_table(rows, "y", "data.csv", task=task)


def test_parse_table_encodes_class_names():
    ds = parse_table(_rows("x,c", "1,dog", "2,cat", "3,dog", "4,emu"), "c", "d", "classification")
    assert ds.class_names == ("cat", "dog", "emu") and ds.n_classes == 3
    np.testing.assert_array_equal(ds.labels, [1, 0, 1, 2])
    mixed = parse_table(_rows("x,c", "1,1", "2,b"), "c", "d", "classification")
    assert mixed.class_names == ("1", "b")  # one text makes every label a name
    numeric = parse_table(_rows("x,c", "1,10", "2,2.0", "3,10"), "c", "d", "classification")
    assert numeric.class_names == ("2", "10")  # numbers in numeric order, not text order
    np.testing.assert_array_equal(numeric.labels, [1, 0, 1])


def test_parse_table_refuses_non_integer_class_labels():
    with pytest.raises(NnhwError, match=r"d\.csv: column 'c' must hold 2 to 100 integer class"):
        parse_table(_rows("x,c", "1,0.5", "2,1"), "c", "d.csv", task="classification")


# --- split and standardisation -----------------------------------------------------------------


def test_split_sizes_and_partition():
    ds = make_dataset("moons", 101, np.random.default_rng(0))
    train, test = split(ds, 0.2, np.random.default_rng(1))
    assert (train.n_samples, test.n_samples) == (81, 20)
    rows = np.concatenate([train.X, test.X])
    assert len(np.unique(rows, axis=0)) == 101  # disjoint, nothing lost
    again, _ = split(ds, 0.2, np.random.default_rng(1))
    np.testing.assert_array_equal(again.X, train.X)
    # each row keeps its own label
    index = {tuple(row): i for i, row in enumerate(ds.X)}
    np.testing.assert_array_equal(train.labels, ds.labels[[index[tuple(r)] for r in train.X]])


@pytest.mark.parametrize("fraction", [0.0, 0.001, 0.999, 1.0])
def test_split_refuses_an_empty_part(fraction):
    ds = make_dataset("sine", 50, np.random.default_rng(0))
    with pytest.raises(NnhwError, match=r"test fraction .* both parts need at least one"):
        split(ds, fraction, np.random.default_rng(1))


def test_standardizer_uses_training_statistics():
    rng = np.random.default_rng(3)
    x = rng.normal([5.0, -2.0, 0.0], [3.0, 0.1, 1.0], size=(400, 3))
    x[:, 2] = 7.0  # a constant column: std 0 is taken as 1, no division by zero
    s = Standardizer.fit(x)
    z = s(x)
    np.testing.assert_allclose(z[:, :2].mean(0), 0.0, atol=1e-12)
    np.testing.assert_allclose(z[:, :2].std(0), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(z[:, 2], 0.0)
    np.testing.assert_allclose(s.inverse(z), x, rtol=1e-13)
    other = rng.normal(size=(10, 3))
    np.testing.assert_allclose(s(other), (other - x.mean(0)) / np.where(x.std(0) > 0, x.std(0), 1))
