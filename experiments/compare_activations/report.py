"""The report, headline and metrics of `nnhw compare-activations`, from its tables alone (the
findings are in experiments.compare_activations_findings). With several depths (--depths) the
report adds a Depth section, and the one-net figures and the headline describe the deepest depth
(experiments.compare_activations_depth); metrics are keyed `<activation> depth <d>.<name>`."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from nnhw.experiments.compare_activations.depth import at_depth, depths_of, ensure_depth
from nnhw.experiments.compare_activations.findings import best_text, findings, metric_name
from nnhw.experiments.reporting.numbers import number
from nnhw.experiments.reporting.report import Report, Section
from nnhw.experiments.reporting.tables import TableView, ends_per

Tables = dict[str, pd.DataFrame]


def _architecture(config: Any) -> str:
    if getattr(config, "depths", None) is None:
        return f"hidden layers {', '.join(str(h) for h in config.hidden)}"
    depths = ", ".join(str(d) for d in config.depths)
    return f"{depths} hidden layers of width {config.hidden[0]}"


def _data(config: Any, tables: dict[str, pd.DataFrame]) -> str:
    """'moons (1000 points)', or the CSV file with its class names when it has them."""
    if getattr(config, "csv", None) is None:
        return f"{config.dataset} ({config.samples} points)"
    classes = tables.get("classes")
    names = "" if classes is None else f"; classes {', '.join(map(str, classes['name']))}"
    return f"{config.data_name} (--csv, target {config.target}{names})"


# The summary is the content (every activation and depth); of the layers, the first and the
# last weight layer of each net say how much gradient reaches the input side.
VIEWS = {
    "summary": TableView(first=("activation", "depth"), max_rows=60),
    "layer_summary": TableView(
        first=("activation", "depth", "layer"),
        rows=ends_per(["activation", "depth"], "layer",
                      "the first and last weight layer of each activation and depth"),
        max_rows=60,
    ),
}  # fmt: skip


def report(tables: Tables, config: Any) -> Report:
    tables = ensure_depth(tables)
    s = tables.get("summary")
    depths = depths_of(tables)
    several = len(depths) > 1
    # the one-net figures show the deepest depth; their captions say so
    at = f" At depth {depths[-1]}, the deepest." if several else ""
    per = "activation and depth" if several else "activation"
    desc = (
        f"The {config.task} net of the course on {_data(config, tables)}, "
        f"{_architecture(config)}, trained with each hidden "
        f"activation over {config.seeds} seeds ({config.optimizer}, lr {config.lr:g}, "
        f"{config.epochs} epochs, batch {config.batch_size}, init {config.init})."
    )
    sections = [
        Section(
            "Training",
            "Loss per epoch for every activation: the median over seeds, the band their "
            "interquartile range.",
            tables=[("summary", f"One row per {per}: means and stds over seeds.")],
            figures=[("loss_curves", "Training and test loss against epoch." + at)],
            views=VIEWS,
        )
    ]
    if several:
        sections.append(
            Section(
                "Depth",
                "How the activations compare as the net gets deeper: the course's claim is that "
                "ReLU trains faster than sigmoid in deep nets because sigmoid's gradient "
                "vanishes on its way to the first layers.",
                figures=[
                    (
                        "depth_effect",
                        "Epochs to the target loss and first-to-last layer gradient ratio "
                        "against the number of hidden layers, one line per activation.",
                    )
                ],
            )
        )
    sections += [
        Section(
            "Gradient flow",
            "Gradient norm of each weight layer; the first-to-last ratio is "
            "how much of the gradient reaches the first layer.",
            tables=[("layer_summary", f"Per {per} and layer.")],
            views=VIEWS,
            figures=[
                (
                    "gradient_norms",
                    "||dL/dW_l|| against epoch, one panel per activation." + at,
                )
            ],
        ),
        Section(
            "Dead and saturated units, output ranges",
            figures=[
                ("unit_health", "Dead and saturated fractions of the hidden units." + at),
                ("activation_ranges", "Range and mean of the hidden outputs." + at),
            ],
        ),
        Section(
            "Cost",
            "Forward plus backward time on the same arrays, median over repeats.",
            tables=[("timing", f"Timing per {per} and scope.")],
            figures=[("timing", "Time relative to the baseline." + at)],
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
                        "Seed 0's output and its 0.5 contour, with the test points." + at,
                    )
                ],
            )
        )
    if "fit_curve" in tables:
        sections.append(
            Section(
                "Fitted curves",
                figures=[
                    (
                        "fit_curves",
                        "Seed 0's fitted curve per activation, with the test points." + at,
                    )
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
    tables = ensure_depth(tables)
    depths = depths_of(tables)
    if len(depths) > 1:
        return f"depth {depths[-1]}: " + headline(at_depth(tables, depths[-1]))
    s = tables["summary"]
    metric = metric_name(s)
    col = f"test_{metric}"
    best = best_text(s, col)
    if best != "none" and " tie at " not in best:
        best += f" {number(s[col].max())}"
    epochs = ", ".join(
        f"{a} {number(e) if r else 'never'}"
        for a, e, r in zip(s["activation"], s["epochs_to_target"], s["reached"])
    )
    return (
        f"best test {'R²' if metric == 'r2' else metric}: {best}; epochs to "
        f"loss {number(s['target_loss'].iloc[0])}: {epochs}"
    )


def metrics(tables: Tables) -> dict[str, Any]:
    """Key numbers per activation for --json and the terminal summary."""
    s = tables.get("summary")
    if s is None:
        return {}
    metric = metric_name(s)
    several = "depth" in s.columns and s["depth"].nunique() > 1
    out: dict[str, Any] = {}
    for _, row in s.iterrows():
        group = f"{row['activation']} depth {int(row['depth'])}" if several else row["activation"]
        for name in (
            f"test_{metric}",
            "final_train_loss",
            "epochs_to_target",
            "grad_ratio",
            "time_ratio",
        ):
            value = float(row[name])
            out[f"{group}.{name}"] = value if np.isfinite(value) else None
    return out
