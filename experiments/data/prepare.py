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
per class.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnhw.core.data import Dataset, Standardizer, split, targets
from nnhw.core.train import TrainData


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
