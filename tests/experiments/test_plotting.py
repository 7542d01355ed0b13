"""Plot style: deterministic bytes, fixed activation colours, figures closed after saving."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nnhw.experiments.reporting.plotting import (
    ACTIVATION_COLORS,
    PALETTE,
    color_for,
    colors_for,
    figure_bytes,
    new_figure,
    spans_decades,
)
from nnhw.experiments.runs.rundir import RunDir


def draw() -> object:
    fig, (a, b) = new_figure(1, 2, width=8, height=3)
    x = np.linspace(0, 1, 50)
    for name in ("relu", "sigmoid"):
        a.plot(x, np.exp(-5 * x) + (name == "relu"), color=color_for(name), label=name)
    a.set(xlabel="epoch", ylabel="loss", yscale="log")
    a.legend()
    b.imshow(np.outer(x, x))
    b.set(xlabel="x1", ylabel="x2", title="<b>&</b>")
    return fig


def test_same_figure_same_bytes() -> None:
    png1, svg1 = figure_bytes(draw())
    png2, svg2 = figure_bytes(draw())
    assert png1 == png2 and svg1 == svg2
    assert png1.startswith(b"\x89PNG") and b"<svg" in svg2
    assert b"Date" not in svg1 and b"matplotlib.org" not in png1  # no dates, no software stamp


def test_write_figure_writes_png_svg_and_closes(tmp_path: Path) -> None:
    import matplotlib.pyplot as plt

    rd = RunDir.create(tmp_path, "fake", ["fake"], {}, None)
    fig, ax = plt.subplots()
    ax.plot([1, 2], [3, 4])
    rd.write_figure("line", fig)
    assert not plt.get_fignums()
    assert (rd.path / "plots" / "line.png").stat().st_size > 1000
    assert (rd.path / "plots" / "line.svg").read_bytes().startswith(b"<?xml")
    assert sorted(p.name for p in (rd.path / "plots").iterdir()) == ["line.png", "line.svg"]


def test_palette_and_colours() -> None:
    assert len(set(ACTIVATION_COLORS.values())) == len(ACTIVATION_COLORS) == 5
    assert set(ACTIVATION_COLORS.values()) <= set(PALETTE.values())
    assert color_for("relu") == ACTIVATION_COLORS["relu"]
    assert color_for("float32") == color_for("float32") in PALETTE.values()
    cols = colors_for(["float16", "relu", "float32", "float64"])
    assert cols["relu"] == ACTIVATION_COLORS["relu"] and len(set(cols.values())) == 4


def test_spans_decades() -> None:
    assert spans_decades([1e-5, 1.0])
    assert not spans_decades([1.0, 20.0])
    assert not spans_decades([0.0, -1.0, np.nan, 5.0])
