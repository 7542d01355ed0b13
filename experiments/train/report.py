"""The status, headline, JSON metrics and report of `nnhw train`, computed from its tables alone
(the findings it leads with are in train.findings)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from nnhw.experiments.reporting.numbers import number
from nnhw.experiments.reporting.report import Report, Section
from nnhw.experiments.reporting.tables import TableView
from nnhw.experiments.train.figures import diverged_epoch
from nnhw.experiments.train.findings import article, findings, metric_of


def status(tables: dict[str, pd.DataFrame]) -> str:
    """'diverged' when the training loss became non-finite, else 'completed'."""
    history = tables.get("history")
    if history is not None and len(history) and diverged_epoch(history) is not None:
        return "diverged"
    return "completed"


def metrics(tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """The run's final numbers (None where not finite): for `--json` and run summaries."""
    history = tables.get("history")
    if history is None or not len(history):
        return {"epochs": 0}
    last = history.iloc[-1]
    out: dict[str, Any] = {"epochs": int(last["epoch"])}
    for col in history.columns:
        if col.startswith(("train_", "test_")):
            v = float(last[col])
            out[col] = v if math.isfinite(v) else None
    out["diverged_epoch"] = diverged_epoch(history)
    return out


def headline(tables: dict[str, pd.DataFrame]) -> str:
    """One line for listings: the test metric, or where training diverged."""
    history = tables.get("history")
    if history is None or not len(history):
        return "no epoch recorded"
    epoch = diverged_epoch(history)
    if epoch is not None:
        return f"diverged at epoch {epoch}"
    key = metric_of(history)[0]
    last = history.iloc[-1]
    col = f"test_{key}" if f"test_{key}" in history else f"train_{key}"
    label = col.replace("_", " ").replace("r2", "R²")
    return f"{label} {number(float(last[col]), 4)} after {int(last['epoch'])} epochs"


# a regression has no classes: its n_classes of 0 is shown as such, not as a count
DATASET_VIEW = TableView(sentinels={"n_classes": {0: "n/a (regression)"}})


def report(tables: dict[str, pd.DataFrame], config: Any) -> Report:
    """The run's report: findings first, then data, training curves, gradients and predictions."""
    history = tables.get("history")
    data = f"{config.data_name} ({config.task})"
    title = f"Training one {config.activation} net on {data}"
    if history is None or not len(history):
        return Report(title, "No epoch finished, so there is nothing to report yet.", [], [])
    summary = (
        f"A {'-'.join(str(h) for h in config.hidden)} hidden-unit {config.activation} net with "
        f"{article(config.output_activation)} output, trained with {config.optimizer} (lr "
        f"{number(float(config.lr), 4)}) on the {config.loss} loss: {headline(tables)}."
    )
    data_tables = [("dataset", "The data and the layer sizes.")]
    if "classes" in tables:
        data_tables.append(
            ("classes", "The class labels of the file and the class number each became.")
        )
    sections = [
        Section("Data and net", tables=data_tables, views={"dataset": DATASET_VIEW}),
        Section(
            "Training",
            text="Epoch 0 is the net at initialisation; every row is measured on the whole "
            "training set after the epoch.",
            figures=[("loss", "Loss and quality over epochs, training and test set.")],
            tables=[
                (
                    "milestones",
                    "Selected epochs of the history; tables/history.csv holds "
                    "every epoch and every diagnostic (signal norms, activation statistics).",
                )
            ],
        ),
        Section(
            "Gradient flow",
            figures=[("gradient_norms", "Norm of each layer's weight gradient, log scale.")],
        ),
    ]
    if "decision_grid" in tables:
        sections.append(
            Section(
                "Decision boundary",
                figures=[
                    (
                        "decision_boundary",
                        "The net's output over the input plane, with the test set.",
                    )
                ],
            )
        )
    elif "fit_curve" in tables:
        sections.append(
            Section(
                "Fitted curve",
                figures=[("fit", "The net's prediction over the input range, with the test set.")],
            )
        )
    elif status(tables) == "diverged":
        sections.append(
            Section(
                "Predictions",
                text="No decision boundary or fitted curve: "
                "training diverged, so the net's outputs are not finite.",
            )
        )
    elif "test_points" not in tables:
        sections.append(
            Section(
                "Predictions",
                text="Missing: the run stopped before the net's "
                "predictions were recorded (interrupted).",
            )
        )
    return Report(title, summary, findings(history, config), sections)
