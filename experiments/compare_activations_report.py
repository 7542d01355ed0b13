"""The report, headline and metrics of `nnhw compare-activations`, from its tables alone (the
findings are in experiments.compare_activations_findings)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from experiments.compare_activations_findings import best_text, findings, fmt, metric_name
from experiments.report import Report, Section

Tables = dict[str, pd.DataFrame]


def report(tables: Tables, config: Any) -> Report:
    s = tables.get("summary")
    desc = (
        f"The {config.task} net of the course on {config.dataset} ({config.samples} points), "
        f"hidden layers {', '.join(str(h) for h in config.hidden)}, trained with each hidden "
        f"activation over {config.seeds} seeds ({config.optimizer}, lr {config.lr:g}, "
        f"{config.epochs} epochs, batch {config.batch_size}, init {config.init})."
    )
    sections = [
        Section(
            "Training",
            "Loss per epoch for every activation; mean over seeds, band min-max.",
            tables=[("summary", "One row per activation: means and stds over seeds.")],
            figures=[("loss_curves", "Training and test loss against epoch.")],
        ),
        Section(
            "Gradient flow",
            "Gradient norm of each weight layer; the first-to-last ratio is "
            "how much of the gradient reaches the first layer.",
            tables=[("layer_summary", "Per activation and layer.")],
            figures=[("gradient_norms", "||dL/dW_l|| against epoch, one panel per activation.")],
        ),
        Section(
            "Dead and saturated units, output ranges",
            figures=[
                ("unit_health", "Dead and saturated fractions of the hidden units."),
                ("activation_ranges", "Range and mean of the hidden outputs."),
            ],
        ),
        Section(
            "Cost",
            "Forward plus backward time on the same arrays, median over repeats.",
            tables=[("timing", "Timing per activation and scope.")],
            figures=[("timing", "Time relative to the baseline.")],
        ),
    ]
    if "linear_baseline" in tables:
        sections.append(
            Section(
                "Two linear layers are one",
                tables=[
                    (
                        "linear_baseline",
                        "The identity net as one affine map, against least squares.",
                    )
                ],
            )
        )
    if "decision_grid" in tables:
        sections.append(
            Section(
                "Decision boundaries",
                figures=[
                    (
                        "decision_boundaries",
                        "Seed 0's output and its 0.5 contour, with the test points.",
                    )
                ],
            )
        )
    if "fit_curve" in tables:
        sections.append(
            Section(
                "Fitted curves",
                figures=[
                    ("fit_curves", "Seed 0's fitted curve per activation, with the test points.")
                ],
            )
        )
    return Report(
        title="Activation functions compared",
        summary=desc,
        findings=findings(tables) if s is not None else [],
        sections=sections,
    )


def headline(tables: Tables) -> str:
    s = tables["summary"]
    metric = metric_name(s)
    col = f"test_{metric}"
    best = best_text(s, col)
    if best != "none" and " tie at " not in best:
        best += f" {fmt(s[col].max())}"
    epochs = ", ".join(
        f"{a} {fmt(e) if r else 'never'}"
        for a, e, r in zip(s["activation"], s["epochs_to_target"], s["reached"])
    )
    return (
        f"best test {'R²' if metric == 'r2' else metric}: {best}; epochs to "
        f"loss {fmt(s['target_loss'].iloc[0])}: {epochs}"
    )


def metrics(tables: Tables) -> dict[str, Any]:
    """Key numbers per activation for --json and the terminal summary."""
    s = tables.get("summary")
    if s is None:
        return {}
    metric = metric_name(s)
    out: dict[str, Any] = {}
    for _, row in s.iterrows():
        for name in (
            f"test_{metric}",
            "final_train_loss",
            "epochs_to_target",
            "grad_ratio",
            "time_ratio",
        ):
            value = float(row[name])
            out[f"{row['activation']}.{name}"] = value if np.isfinite(value) else None
    return out
