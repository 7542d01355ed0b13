"""Datasets generated from a seed, a numeric-table parser, the train/test split and standardisation.

Contract: a `Dataset` holds X (N, d) float64 and, for regression, y (N, k) float64; for
classification, integer labels (N,) in 0..K-1 and `n_classes` K. Generators take a
`numpy.random.Generator`, so the same seed gives the same data.

Regression: `sine` (x ~ U(-pi, pi), y = sin x + noise), `linear` (x ~ N(0, I_3), y = x.w + 0.3 +
noise). Classification: `moons`, `circles`, `xor` (2 classes, 2-D), `spiral` and `blobs` (3
classes, 2-D). `noise` is the std of the added Gaussian noise (per dataset default if None).

Tables: `parse_table(rows, target, source, task)` turns rows of strings (a header row first, as
csv.reader gives them) into a Dataset, naming the source, column and row of any bad value;
`check_header`, `encode_labels` (class names such as cat, dog as labels 0..K-1) and
`table_dataset` (values too large to standardise, a constant regression target) are its steps,
which a faster reader can share. Reading the file is the caller's job: core does no I/O.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from nnhw.core.errors import NnhwError

Array = np.ndarray

REGRESSION_DATASETS: tuple[str, ...] = ("sine", "linear")
CLASSIFICATION_DATASETS: tuple[str, ...] = ("moons", "circles", "xor", "spiral", "blobs")
DATASET_NAMES: tuple[str, ...] = REGRESSION_DATASETS + CLASSIFICATION_DATASETS
TASKS: tuple[str, ...] = ("regression", "classification")
_DEFAULT_NOISE = {
    "sine": 0.1, "linear": 0.1, "moons": 0.1, "circles": 0.05,
    "xor": 0.0, "spiral": 0.1, "blobs": 1.0,
}  # fmt: skip


@dataclass(frozen=True)
class Dataset:
    """X (N, d); y (N, k) for regression; labels (N,) for classification."""

    name: str
    task: str
    X: Array
    y: Array | None = None
    labels: Array | None = None
    n_classes: int = 0
    feature_names: tuple[str, ...] = field(default=())
    target_name: str = "y"
    class_names: tuple[str, ...] = field(default=())  # label k's text in the file (tables only)

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    def subset(self, idx: Array) -> Dataset:
        return replace(
            self,
            X=self.X[idx],
            y=None if self.y is None else self.y[idx],
            labels=None if self.labels is None else self.labels[idx],
        )


def task_of(name: str) -> str:
    """'regression' or 'classification' for a built-in dataset name."""
    key = name.lower()
    if key in REGRESSION_DATASETS:
        return "regression"
    if key in CLASSIFICATION_DATASETS:
        return "classification"
    raise NnhwError(f"unknown dataset {name!r}; choose one of {', '.join(DATASET_NAMES)}")


def make_dataset(
    name: str, n_samples: int, rng: np.random.Generator, noise: float | None = None
) -> Dataset:
    """The built-in dataset `name` with n_samples points drawn from rng."""
    key = name.lower()
    task = task_of(key)
    s = _DEFAULT_NOISE[key] if noise is None else float(noise)
    n = int(n_samples)
    if key == "sine":
        x = rng.uniform(-np.pi, np.pi, size=(n, 1))
        return _reg(key, x, np.sin(x) + s * rng.standard_normal((n, 1)))
    if key == "linear":
        x = rng.standard_normal((n, 3))
        y = x @ np.array([[1.5], [-2.0], [0.5]]) + 0.3 + s * rng.standard_normal((n, 1))
        return _reg(key, x, y)
    n_classes = 3 if key in ("spiral", "blobs") else 2
    labels = rng.integers(0, n_classes, size=n) if key != "xor" else np.zeros(n, np.int64)
    if key == "moons":
        t = rng.uniform(0, np.pi, size=n)
        outer = np.column_stack([np.cos(t), np.sin(t)])
        inner = np.column_stack([1 - np.cos(t), 0.5 - np.sin(t)])
        x = np.where(labels[:, None] == 0, outer, inner)
    elif key == "circles":
        t = rng.uniform(0, 2 * np.pi, size=n)
        radius = np.where(labels == 0, 1.0, 0.5)
        x = radius[:, None] * np.column_stack([np.cos(t), np.sin(t)])
    elif key == "xor":
        x = rng.uniform(-1, 1, size=(n, 2))
        labels = (x[:, 0] * x[:, 1] > 0).astype(np.int64)
    elif key == "spiral":  # CS231n's three-armed spiral
        r = rng.uniform(0, 1, size=n)
        t = labels * 4.0 + r * 4.0
        x = np.column_stack([r * np.sin(t), r * np.cos(t)])
    else:  # blobs
        centers = np.array([[-4.0, -2.0], [0.0, 4.0], [4.0, -2.0]])
        x = centers[labels]
    x = x + s * rng.standard_normal(x.shape)
    labels = labels.astype(np.int64)
    return Dataset(key, task, x, labels=labels, n_classes=n_classes, feature_names=("x1", "x2"))


def _reg(name: str, x: Array, y: Array) -> Dataset:
    names = tuple(f"x{i + 1}" for i in range(x.shape[1]))
    return Dataset(name, "regression", x, y=y, feature_names=names)


def targets(ds: Dataset, n_outputs: int) -> Array:
    """The training targets for a net with n_outputs outputs.

    Regression: y. Classification with 2 classes and one output: the label as a 0/1 column;
    otherwise one-hot rows (n_outputs must equal the number of classes).
    """
    if ds.task == "regression":
        assert ds.y is not None
        return ds.y
    assert ds.labels is not None
    if n_outputs == 1 and ds.n_classes <= 2:
        return ds.labels[:, None].astype(np.float64)
    return np.eye(n_outputs)[ds.labels]


def split(ds: Dataset, test_fraction: float, rng: np.random.Generator) -> tuple[Dataset, Dataset]:
    """A random (train, test) split; test holds round(N * test_fraction) points."""
    n = ds.n_samples
    n_test = round(n * test_fraction)
    if not 0 < n_test < n:
        raise NnhwError(
            f"test fraction {test_fraction} leaves {n_test} of {n} samples for testing; "
            "both parts need at least one"
        )
    order = rng.permutation(n)
    return ds.subset(order[n_test:]), ds.subset(order[:n_test])


@dataclass(frozen=True)
class Standardizer:
    """x -> (x - mean) / std with statistics of the training set (std 0 is taken as 1)."""

    mean: Array
    std: Array

    @classmethod
    def fit(cls, x: Array) -> Standardizer:
        std = x.std(axis=0)
        return cls(x.mean(axis=0), np.where(std > 0, std, 1.0))

    def __call__(self, x: Array) -> Array:
        return (x - self.mean) / self.std

    def inverse(self, x: Array) -> Array:
        return x * self.std + self.mean


MAX_CLASSES = 100


def check_header(header: Sequence[str] | None, target: str, source: str) -> tuple[list[str], int]:
    """The stripped column names of a header row and the target's index; NnhwError for an empty
    header, a NUL byte, an empty or repeated name, a missing target or no feature column."""
    if header is None or not [h for h in header if h.strip()]:
        raise NnhwError(f"{source}: the file is empty (no header row)")
    names = [h.strip() for h in header]
    if any("\x00" in h for h in names):
        raise NnhwError(f"{source}: contains NUL bytes; not a text CSV file")
    blank = [i + 1 for i, h in enumerate(names) if not h]
    if blank:
        raise NnhwError(f"{source}: column {blank[0]} of the header has no name")
    seen: set[str] = set()
    for h in names:
        if h in seen:
            raise NnhwError(f"{source}: the header names column {h!r} more than once")
        seen.add(h)
    if target not in names:
        raise NnhwError(f"{source}: no column named {target!r}; columns are {', '.join(names)}")
    if len(names) < 2:
        raise NnhwError(f"{source}: needs at least one feature column besides {target!r}")
    return names, names.index(target)


def _number(cell: str, source: str, line: int, column: str) -> float:
    try:
        v = float(cell)
    except ValueError:
        raise NnhwError(
            f"{source}: row {line}, column {column!r}: {cell.strip()!r} is not a number"
        ) from None
    if not math.isfinite(v):
        raise NnhwError(f"{source}: row {line}, column {column!r}: value is {cell.strip()}")
    return v


def parse_table(
    rows: Iterable[Sequence[str]], target: str, source: str, task: str = "regression"
) -> Dataset:
    """A Dataset from rows of strings, the first row a header; every other column is a feature.

    Rows are consumed one at a time (a csv.reader over an open file streams) into compact
    arrays, so the memory is about 8 bytes per value. Blank rows are skipped; every other row
    must have the header's number of fields, each feature and regression target a finite number.
    A classification target may hold numbers (integer class labels) or text (`cat`, `dog`); its
    classes are numbered in sorted order, and `class_names` keeps each class's text. Then
    `table_dataset` checks the values as a whole."""
    it = iter(rows)
    names, t = check_header(next(it, None), target, source)
    width = len(names)
    features = array("d")
    values = array("d")  # regression target
    codes = array("q")  # classification target: index into `texts`
    texts: dict[str, int] = {}
    line = 1
    for line, row in enumerate(it, start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != width:
            raise NnhwError(f"{source}: row {line} has {len(row)} fields, the header has {width}")
        for i, (col, cell) in enumerate(zip(names, row)):
            if i != t:
                features.append(_number(cell, source, line, col))
            elif task == "regression":
                values.append(_number(cell, source, line, col))
            else:
                label = cell.strip()
                if not label:
                    raise NnhwError(f"{source}: row {line}, column {col!r}: no class label")
                if "\x00" in label:
                    raise NnhwError(f"{source}: contains NUL bytes; not a text CSV file")
                code = texts.setdefault(label, len(texts))
                if code >= 10 * MAX_CLASSES:
                    raise NnhwError(
                        f"{source}: column {target!r} has more than {10 * MAX_CLASSES} distinct "
                        "values; class labels for classification need at most "
                        f"{MAX_CLASSES} classes"
                    )
                codes.append(code)
    n = len(features) // (width - 1)
    if n == 0:
        raise NnhwError(f"{source}: the file has a header but no data rows")
    # Views of the arrays' own buffers (no copy: the array stays alive as the view's base)
    X = np.frombuffer(features, dtype=np.float64).reshape(n, width - 1)
    feature_names = tuple(h for i, h in enumerate(names) if i != t)
    if task == "regression":
        column = np.frombuffer(values, dtype=np.float64)
        return table_dataset(source, task, X, column, feature_names, target)
    labels, class_names = encode_labels(np.frombuffer(codes, dtype=np.int64), list(texts), source,
                                        target)  # fmt: skip
    return table_dataset(source, task, X, labels, feature_names, target, class_names)


def encode_labels(
    codes: Array, texts: list[str], source: str, target: str
) -> tuple[Array, tuple[str, ...]]:
    """Class labels 0..K-1 from `codes` (N,) indexing the distinct label `texts`, and each
    class's name. Numbers name classes in numeric order and must be integers ('1' and '1.0' are
    one class); any other text makes every label a name, the classes in sorted order."""
    try:
        numbers = [float(t) for t in texts]
    except ValueError:
        numbers = None
    if numbers is not None:
        if any(not math.isfinite(v) or v != round(v) for v in numbers):
            bad = next(t for t, v in zip(texts, numbers) if not math.isfinite(v) or v != round(v))
            raise NnhwError(
                f"{source}: column {target!r} must hold 2 to {MAX_CLASSES} integer class labels "
                f"(or names) for classification, found {bad!r}"
            )
        keys: list[Any] = [int(v) for v in numbers]
        names = {k: str(k) for k in keys}
    else:
        keys = list(texts)
        names = {k: k for k in keys}
    classes = sorted(set(keys))
    if not 2 <= len(classes) <= MAX_CLASSES:
        raise NnhwError(
            f"{source}: column {target!r} must hold 2 to {MAX_CLASSES} class labels for "
            f"classification, found {len(classes)} distinct values"
        )
    index = {k: i for i, k in enumerate(classes)}
    lookup = np.array([index[k] for k in keys], dtype=np.int64)
    return lookup[codes], tuple(names[k] for k in classes)


def table_dataset(
    source: str,
    task: str,
    X: Array,
    column: Array,
    feature_names: tuple[str, ...],
    target: str,
    class_names: tuple[str, ...] = (),
) -> Dataset:
    """A Dataset from a table's features X (N, d) and target column (N,): float values for
    regression, labels 0..K-1 (with `class_names`) for classification. NnhwError when the data
    cannot be standardised: a value so large that the squares of the standardisation overflow
    float64 (limit sqrt(max float64 / N) / 2, about 1.3e154 / sqrt(N)), or a regression target
    without variance (R^2 is undefined)."""
    n = X.shape[0]
    limit = math.sqrt(float(np.finfo(np.float64).max) / max(n, 1)) / 2
    columns = [(name, X[:, i]) for i, name in enumerate(feature_names)]
    if task == "regression":
        columns.append((target, column))
    for name, values in columns:
        top = float(np.max(np.abs(values))) if n else 0.0
        if top > limit:
            raise NnhwError(
                f"{source}: column {name!r} holds {top:.3g}, too large to standardise in "
                f"float64 (its squares overflow; at most {limit:.2g} for {n} rows): rescale it"
            )
    if task == "regression":
        if n and float(np.max(column)) == float(np.min(column)):
            raise NnhwError(
                f"{source}: the target column {target!r} is constant ({column[0]:g} in every "
                "row): R^2 is undefined without variance; choose another target"
            )
        return Dataset(source, task, X, y=column[:, None], feature_names=feature_names,
                       target_name=target)  # fmt: skip
    labels = column.astype(np.int64)
    return Dataset(source, task, X, labels=labels, n_classes=len(class_names),
                   feature_names=feature_names, target_name=target,
                   class_names=class_names)  # fmt: skip
