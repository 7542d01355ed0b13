"""A run's data, split, standardised and shaped for the net: the step `nnhw train`
(experiments.train.prepare) and the cells of `nnhw compare-activations`
(experiments.compare_activations_cell.prepare_data) share once they have a Dataset.

Contract: `split_and_standardise(ds, test_fraction, rng, n_out, dtype)` splits `ds` with `rng`
(core.data.split: the permutation is the generator's next draw), fits a Standardizer to the
training inputs and, for regression, to the training targets (training-set statistics only), and
returns `Prepared`, whose `data` holds the standardised arrays in `dtype` with the targets shaped
for `n_out` outputs (core.data.targets: a 0/1 column for two classes and one output, one-hot rows
otherwise). `output_count(ds, one_hot)` is the usual `n_out`: one output per regression target;
for classification one output for two classes unless `one_hot` (softmax cross-entropy), else one
per class. `sampled_table(path, target, task, n, rng)` is n rows
of a CSV file as standardised arrays (the data of `nnhw batch-scaling --csv`).
`data_shape(dataset, samples, csv)` is the (rows, inputs, outputs) the size estimates use.
`classes_table(ds)` records the class names of labels read from a file (cat, dog) and
the number each became.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from nnhw.core.data import Dataset, Standardizer, split, targets
from nnhw.core.errors import NnhwError
from nnhw.core.train import TrainData
from nnhw.experiments.data.csvfile import csv_shape, read_csv


@dataclass(frozen=True)
class Prepared:
    """The data of a run: the whole dataset, its two parts, the scalers (y_scale None for
    classification), the net's output count and the standardised arrays for core.train.fit."""

    dataset: Dataset
    train: Dataset
    test: Dataset
    x_scale: Standardizer
    y_scale: Standardizer | None
    n_out: int
    data: TrainData

    @property
    def n_in(self) -> int:
        return int(self.dataset.X.shape[1])

    @property
    def metric(self) -> str:
        return "accuracy" if self.dataset.task == "classification" else "r2"


def classes_table(ds: Dataset) -> pd.DataFrame | None:
    """One row per class of a dataset whose labels came from a file: `label` (the class number
    the net predicts), `name` (the label as the file writes it: cat, dog, or 3, 7) and `count`
    (rows of that class); None for generated data, whose labels are their own names."""
    if not ds.class_names or ds.labels is None:
        return None
    counts = np.bincount(ds.labels, minlength=len(ds.class_names))
    return pd.DataFrame(
        {"label": np.arange(len(ds.class_names)), "name": list(ds.class_names), "count": counts}
    )


def sampled_table(
    path: str, target: str, task: str, n_samples: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """`n_samples` rows of a CSV file drawn without replacement by `rng` (every row, in file
    order, when it has exactly that many), as the arrays a fixed-data study uses: standardised
    inputs X (N, d), targets Y (N, k) (standardised for regression; a 0/1 column or one-hot rows
    for classification, core.data.targets with output_count outputs) and labels (or None)."""
    ds = read_csv(path, target, task)
    if n_samples > ds.n_samples:
        raise NnhwError(
            f"--samples {n_samples} is more than the {ds.n_samples} data rows of --csv {path}"
        )
    if n_samples < ds.n_samples:
        ds = ds.subset(np.sort(rng.choice(ds.n_samples, n_samples, replace=False)))
    X = Standardizer.fit(ds.X)(ds.X)
    Y = targets(ds, output_count(ds))
    if ds.task == "regression":
        Y = Standardizer.fit(Y)(Y)
    return X, Y, ds.labels


# (inputs, net outputs) of each generated dataset (tested against core.data.make_dataset)
GENERATED_SHAPES: dict[str, tuple[int, int]] = {
    "sine": (1, 1), "linear": (3, 1), "moons": (2, 1), "circles": (2, 1), "xor": (2, 1),
    "spiral": (2, 3), "blobs": (2, 3),
}  # fmt: skip


def data_shape(
    dataset: str | None, samples: int | None, csv: str | None = None
) -> tuple[int, int, int]:
    """(rows, inputs, outputs) of a run's data without making or reading it, for the size
    estimates: a generated dataset's own shape, or a CSV file's line and column counts (one
    output: the class count is not known without reading the file)."""
    if csv is not None:
        rows, columns = csv_shape(csv)
        return rows, max(1, columns - 1), 1
    inputs, outputs = GENERATED_SHAPES.get(str(dataset), (2, 1))
    return int(samples or 0), inputs, outputs


def output_count(ds: Dataset, one_hot: bool = False) -> int:
    """The net's outputs for `ds` (module docstring)."""
    if ds.task == "classification":
        return ds.n_classes if (one_hot or ds.n_classes > 2) else 1
    assert ds.y is not None
    return int(ds.y.shape[1])


def split_and_standardise(
    ds: Dataset,
    test_fraction: float,
    rng: np.random.Generator,
    n_out: int,
    dtype: np.dtype | type = np.float64,
) -> Prepared:
    """Split `ds` and standardise it with training-set statistics (module docstring)."""
    train, test = split(ds, test_fraction, rng)
    x_scale = Standardizer.fit(train.X)
    y_scale = None if ds.task == "classification" else Standardizer.fit(targets(train, n_out))

    def y_of(part: Dataset) -> np.ndarray:
        y = targets(part, n_out)
        return (y if y_scale is None else y_scale(y)).astype(dtype)

    data = TrainData(
        X_train=x_scale(train.X).astype(dtype),
        Y_train=y_of(train),
        X_test=x_scale(test.X).astype(dtype),
        Y_test=y_of(test),
        labels_train=train.labels,
        labels_test=test.labels,
    )
    return Prepared(ds, train, test, x_scale, y_scale, n_out, data)
