"""The figures of `nnhw train`, drawn from its tables alone (so `nnhw report` can rebuild them).

- loss: training and test loss over epochs, and accuracy or R^2 beside it. The R^2 axis spans
  the epochs after the first tenth: an R^2 of -0.4 at initialisation no longer squashes the part
  near 0.97 that the run is about; the early epochs below the axis are marked on its bottom edge
  and named.
- gradient_norms: ||dL/dW_l|| of every weight layer over epochs, log scale.
- decision_boundary (2-D classification): the net's output over the input plane, the 0.5 contour
  (or the predicted class with several classes) and the test points.
- fit (1-D regression): the fitted curve over the test points.
Epoch 0 is the net at initialisation. A diverged run's last epoch has no finite loss; it is marked.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from nnhw.experiments.reporting.plotting import (
    PALETTE,
    colors_for,
    new_figure,
    sequential_colors,
    spans_decades,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def plain(text: object) -> str:
    """User text (CSV column names, file names) shown literally: no mathtext from '$'."""
    return str(text).replace("$", r"\$")


def feature_names(dataset: pd.Series) -> list[str]:
    """The input columns' names (stored as a JSON list in the dataset table)."""
    try:
        names = json.loads(str(dataset.get("features", "[]")))
    except json.JSONDecodeError:
        names = []
    return [plain(n) for n in names] + [f"x{i + 1}" for i in range(len(names), 2)]


def layer_columns(history: pd.DataFrame, prefix: str) -> list[str]:
    """Columns prefix1, prefix2, ... in layer order."""
    cols = [c for c in history.columns if c.startswith(prefix) and c[len(prefix) :].isdigit()]
    return sorted(cols, key=lambda c: int(c[len(prefix) :]))


def diverged_epoch(history: pd.DataFrame) -> int | None:
    """The first epoch whose training loss is not finite, or None."""
    bad = history.loc[~np.isfinite(history["train_loss"].to_numpy(float)), "epoch"]
    return int(bad.iloc[0]) if len(bad) else None


def _mark_divergence(ax: Any, history: pd.DataFrame) -> None:
    epoch = diverged_epoch(history)
    if epoch is not None:
        ax.axvline(
            epoch,
            color=PALETTE["vermillion"],
            linestyle=":",
            linewidth=1.2,
            label=f"diverged (epoch {epoch})",
        )


def _style(history: pd.DataFrame) -> dict[str, Any]:
    """Markers on short histories, where a line alone would hide single points."""
    return {"marker": "o", "markersize": 3} if len(history) <= 30 else {}


# Test curves dashed: train and test often coincide, and a solid test line would hide train.
_LINESTYLE = {"train": "-", "test": "--"}


def _epoch_axis(ax: Any) -> None:
    """Whole epochs on the x axis (a short history would otherwise get ticks at 0.2, 0.4, ...)."""
    ax.set_xlabel("epoch (0 = at initialisation)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))  # 0, 20, ...


def _log_if_positive(ax: Any, values: np.ndarray) -> None:
    """Log y when there are positive finite values to show; non-positive ones are masked."""
    if np.any(np.isfinite(values) & (values > 0)):
        ax.set_yscale("log", nonpositive="mask")


def loss_figure(history: pd.DataFrame, config: Any) -> Figure:
    fig, (ax_loss, ax_metric) = new_figure(1, 2, width=9.0, height=3.6)
    epoch = history["epoch"].to_numpy()
    colors = {"train": PALETTE["blue"], "test": PALETTE["orange"]}
    losses = []
    for part in ("train", "test"):
        if f"{part}_loss" in history:
            y = history[f"{part}_loss"].to_numpy(float)
            losses.append(y)
            ax_loss.plot(
                epoch, y, color=colors[part], ls=_LINESTYLE[part], label=part, **_style(history)
            )
    # A loss that falls tenfold already reads better on a log axis (the late epochs stay visible).
    if losses and spans_decades(np.concatenate(losses), decades=1.0):
        _log_if_positive(ax_loss, np.concatenate(losses))
    _mark_divergence(ax_loss, history)
    _epoch_axis(ax_loss)
    ax_loss.set_ylabel(f"{config.loss} loss ({config.reduction} over the set)")
    ax_loss.set_title("Loss")
    ax_loss.legend()
    metric = "accuracy" if "train_accuracy" in history else "r2"
    for part in ("train", "test"):
        if f"{part}_{metric}" in history:
            y = history[f"{part}_{metric}"].to_numpy(float)
            ax_metric.plot(
                epoch, y, color=colors[part], ls=_LINESTYLE[part], label=part, **_style(history)
            )
    _mark_divergence(ax_metric, history)
    _epoch_axis(ax_metric)
    if metric == "accuracy":
        ax_metric.set_ylabel("accuracy (fraction correct)")
        ax_metric.set_ylim(-0.02, 1.02)
        ax_metric.set_title("Accuracy")
    else:
        ax_metric.set_ylabel("R² (1 = perfect fit)")
        ax_metric.set_title("Coefficient of determination")
        _focus_r2(ax_metric, history)
    ax_metric.legend(loc="lower right")
    return fig


def _focus_r2(ax: Any, history: pd.DataFrame) -> None:
    """Fit the R^2 axis to the epochs after the first tenth when the earlier ones lie far below
    (module docstring); the points left below are drawn as v on the bottom edge."""
    cols = [c for c in ("train_r2", "test_r2") if c in history]
    epoch = history["epoch"].to_numpy()
    values = history[cols].to_numpy(float)
    finite = values[np.isfinite(values)]
    start = max(1, len(history) // 10)
    later = values[start:][np.isfinite(values[start:])]
    if not later.size:
        return
    lo, hi = float(later.min()), float(finite.max())
    span = max(hi - lo, 0.02)
    if float(finite.min()) >= lo - span:  # nothing far below: the full range reads well
        return
    bottom = lo - 0.15 * span
    ax.set_ylim(bottom, hi + 0.15 * span)
    below = np.any(values < bottom, axis=1)
    edge = ax.get_xaxis_transform()  # x in data, y in axes fraction
    ax.plot(epoch[below], np.full(int(below.sum()), 0.0), "v", color="0.35", markersize=5,
            transform=edge, clip_on=False)  # fmt: skip
    first, last = int(epoch[below].min()), int(epoch[below].max())
    when = f"epoch {first}" if first == last else f"epochs {first}-{last}"
    # under the axis label, where no curve can run through it
    ax.set_xlabel(f"{ax.get_xlabel()}\nv: {when} below the axis (R² down to "
                  f"{float(finite.min()):.3g})")  # fmt: skip


def gradient_figure(history: pd.DataFrame, config: Any) -> Figure:
    fig, ax = new_figure()
    cols = layer_columns(history, "grad_norm_W")
    colors = sequential_colors(cols)  # layers in viridis, as in compare-activations
    epoch = history["epoch"].to_numpy()
    values = history[cols].to_numpy(float) if cols else np.zeros((0,))
    for col in cols:
        layer = col[len("grad_norm_W") :]
        ax.plot(
            epoch,
            history[col].to_numpy(float),
            color=colors[col],
            label=f"W{layer} (layer {layer})",
            **_style(history),
        )
    _log_if_positive(ax, values)
    _mark_divergence(ax, history)
    _epoch_axis(ax)
    ax.set_ylabel("‖dL/dW‖ (Frobenius norm, whole training set)")
    ax.set_title(f"Gradient norm per layer ({config.activation} hidden layers)")
    # noisy curves fill the whole panel: a white box keeps the legend readable on top of them
    ax.legend(loc="best", ncols=2 if len(cols) > 3 else 1, frameon=True, framealpha=0.85,
              edgecolor="none")  # fmt: skip
    return fig


def decision_figure(grid: pd.DataFrame, points: pd.DataFrame, dataset: pd.Series) -> Figure:
    fig, ax = new_figure(width=5.6, height=4.8)
    n1 = int(np.sqrt(len(grid)))
    x1 = grid["x1"].to_numpy(float).reshape(n1, -1)
    x2 = grid["x2"].to_numpy(float).reshape(n1, -1)
    n_classes = int(dataset.get("n_classes", 2))
    labels = points["label"].to_numpy(int)
    classes = [str(k) for k in range(max(n_classes, 2))]
    colors = colors_for(classes)
    if n_classes <= 2:
        p = grid["p"].to_numpy(float).reshape(n1, -1)
        mesh = ax.contourf(
            x1, x2, p, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.55, extend="both"
        )
        ax.contour(x1, x2, p, levels=[0.5], colors=PALETTE["black"], linewidths=1.2)
        fig.colorbar(mesh, ax=ax, label="net output for class 1 (boundary at 0.5)")
        colors = {"0": "#2166AC", "1": "#B2182B"}  # the ends of RdBu_r, so points match regions
    else:
        cls = grid["predicted"].to_numpy(int).reshape(n1, -1)
        for k in range(n_classes):
            ax.contourf(
                x1,
                x2,
                (cls == k).astype(float),
                levels=[0.5, 1.5],
                colors=[colors[str(k)]],
                alpha=0.25,
            )
    wrong = points["predicted"].to_numpy(int) != labels
    for k in range(max(n_classes, 2)):
        sel = labels == k
        ax.scatter(
            points.loc[sel, "x1"],
            points.loc[sel, "x2"],
            s=14,
            color=colors[str(k)],
            edgecolors="white",
            linewidths=0.4,
            label=f"class {k}",
        )
    if wrong.any():
        ax.scatter(
            points.loc[wrong, "x1"],
            points.loc[wrong, "x2"],
            s=40,
            facecolors="none",
            edgecolors=PALETTE["black"],
            linewidths=0.9,
            label=f"misclassified ({int(wrong.sum())})",
        )
    names = feature_names(dataset)
    ax.set_xlabel(f"{names[0]} (input units)")
    ax.set_ylabel(f"{names[1]} (input units)")
    ax.set_title(f"Decision boundary on the test set ({plain(dataset.get('name', ''))})")
    ax.legend(loc="best", fontsize=8)
    return fig


def fit_figure(curve: pd.DataFrame, points: pd.DataFrame, dataset: pd.Series) -> Figure:
    fig, ax = new_figure()
    ax.scatter(points["x1"], points["y"], s=10, color=PALETTE["sky blue"], label="test points")
    ax.plot(curve["x1"], curve["y_hat"], color=PALETTE["vermillion"], label="net")
    ax.set_xlabel(f"{feature_names(dataset)[0]} (input units)")
    ax.set_ylabel(f"{plain(dataset.get('target', 'y'))} (target units)")
    ax.set_title(f"Fitted curve ({plain(dataset.get('name', ''))})")
    ax.legend()
    return fig


def figures(tables: dict[str, pd.DataFrame], config: Any) -> dict[str, Figure]:
    """Every figure the tables allow (see the module docstring)."""
    out: dict[str, Figure] = {}
    history = tables.get("history")
    if history is not None and len(history):
        out["loss"] = loss_figure(history, config)
        out["gradient_norms"] = gradient_figure(history, config)
    dataset = tables["dataset"].iloc[0] if "dataset" in tables else pd.Series(dtype=object)
    points = tables.get("test_points")
    if points is not None and "decision_grid" in tables:
        out["decision_boundary"] = decision_figure(tables["decision_grid"], points, dataset)
    if points is not None and "fit_curve" in tables:
        out["fit"] = fit_figure(tables["fit_curve"], points, dataset)
    return out
