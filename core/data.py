"""Datasets generated from a seed, a numeric-table parser, the train/test split and standardisation.

Contract: a `Dataset` holds X (N, d) float64 and, for regression, y (N, k) float64; for
classification, integer labels (N,) in 0..K-1 and `n_classes` K. Generators take a
`numpy.random.Generator`, so the same seed gives the same data.

Regression: `sine` (x ~ U(-pi, pi), y = sin x + noise), `linear` (x ~ N(0, I_3), y = x.w + 0.3 +
noise). Classification: `moons`, `circles`, `xor` (2 classes, 2-D), `spiral` and `blobs` (3
classes, 2-D). `noise` is the std of the added Gaussian noise (per dataset default if None).

Tables: `parse_table(rows, target, source, task)` turns rows of strings (a header row first, as
csv.reader gives them) into a Dataset, naming the source, column and row of any bad value. Reading
the file is the caller's job: core does no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

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


def parse_table(
    rows: Iterable[Sequence[str]], target: str, source: str, task: str = "regression"
) -> Dataset:
    """A Dataset from rows of strings, the first row a header; every other column is a feature."""
    it = iter(rows)
    header = next(it, None)
    if header is None or not [h for h in header if h.strip()]:
        raise NnhwError(f"{source}: the file is empty (no header row)")
    header = [h.strip() for h in header]
    if target not in header:
        raise NnhwError(f"{source}: no column named {target!r}; columns are {', '.join(header)}")
    t = header.index(target)
    values: list[list[float]] = []
    for line, row in enumerate(it, start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise NnhwError(
                f"{source}: row {line} has {len(row)} fields, the header has {len(header)}"
            )
        parsed = []
        for col, cell in zip(header, row):
            try:
                v = float(cell)
            except ValueError:
                raise NnhwError(
                    f"{source}: row {line}, column {col!r}: {cell.strip()!r} is not a number"
                ) from None
            if not np.isfinite(v):
                raise NnhwError(f"{source}: row {line}, column {col!r}: value is {cell.strip()}")
            parsed.append(v)
        values.append(parsed)
    if not values:
        raise NnhwError(f"{source}: the file has a header but no data rows")
    if len(header) < 2:
        raise NnhwError(f"{source}: needs at least one feature column besides {target!r}")
    data = np.array(values, dtype=np.float64)
    features = tuple(h for i, h in enumerate(header) if i != t)
    x = np.delete(data, t, axis=1)
    column = data[:, t]
    if task == "regression":
        y = column[:, None]
        return Dataset(source, task, x, y=y, feature_names=features, target_name=target)
    classes, labels = np.unique(column, return_inverse=True)
    if len(classes) < 2 or len(classes) > 100 or np.any(classes != np.round(classes)):
        raise NnhwError(
            f"{source}: column {target!r} must hold 2 to 100 integer class labels for "
            f"classification, found {len(classes)} distinct values"
        )
    return Dataset(source, task, x, labels=labels.astype(np.int64), n_classes=len(classes),
                   feature_names=features, target_name=target)  # fmt: skip
