"""Plot style: deterministic bytes, fixed activation colours, figures closed after saving."""

from __future__ import annotations

from pathlib import Path

import matplotlib.colors as mc
import numpy as np

from nnhw.core.activations import ACTIVATION_NAMES
from nnhw.experiments.reporting.plotting import (
    ACTIVATION_COLORS,
    MIN_FONT_PT,
    PALETTE,
    color_for,
    colors_for,
    figure_bytes,
    floor_log_axis,
    legible,
    linestyle_for,
    median_band,
    new_figure,
    pick_evenly,
    spans_decades,
    symlog_ticks,
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


def _lab(hex_color: str) -> np.ndarray:
    """CIELAB (D65) of an sRGB colour, for colour differences."""
    rgb = np.array(mc.to_rgb(hex_color))
    rgb = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = m @ rgb / np.array([0.9505, 1.0, 1.089])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_every_activation_has_its_own_colour() -> None:
    """Every registered activation (twelve with gelu ... mish) has a fixed colour, all distinct
    (CIE76 colour difference >= 20 between any two) and none the hard-to-see yellow."""
    assert set(ACTIVATION_NAMES) <= set(ACTIVATION_COLORS)
    names = list(ACTIVATION_COLORS)
    lab = {n: _lab(ACTIVATION_COLORS[n]) for n in names}
    closest = min(
        (float(np.linalg.norm(lab[a] - lab[b])), a, b)
        for i, a in enumerate(names)
        for b in names[i + 1 :]
    )
    assert closest[0] >= 20, closest
    assert PALETTE["yellow"] not in ACTIVATION_COLORS.values()
    # the curves that lie on another's are dashed or dotted
    for name in ("leaky-relu", "gelu-tanh", "mish", "selu"):
        assert linestyle_for(name) != "-", name
    assert linestyle_for("relu") == "-"


def test_palette_and_colours() -> None:
    assert color_for("relu") == ACTIVATION_COLORS["relu"]
    assert color_for("float32") == color_for("float32") in PALETTE.values()
    cols = colors_for(["float16", "relu", "float32", "float64"])
    assert cols["relu"] == ACTIVATION_COLORS["relu"] and len(set(cols.values())) == 4


def test_spans_decades() -> None:
    assert spans_decades([1e-5, 1.0])
    assert not spans_decades([1.0, 20.0])
    assert not spans_decades([0.0, -1.0, np.nan, 5.0])


def test_median_band_ignores_one_collapsed_seed() -> None:
    """The line is the median and the band the interquartile range: one seed's loss falling to
    1e-30 moves neither (a min-max band reached there and flattened every line)."""
    _fig, ax = new_figure()
    x = np.arange(4)
    values = np.array([[1.0, 2.0, 3.0, 4.0, 1e-30]] * 4)
    med = median_band(ax, x, values, color="k")
    assert np.allclose(med, 2.0)
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() >= 1.0 and band.max() <= 3.0
    ax.set_yscale("log")
    ax.set_ylim(1e-30, 10)
    floor_log_axis(ax, float(np.nanmin(med)), decades=2.0)
    assert ax.get_ylim()[0] == 2.0 / 100


def test_median_band_skips_missing_values() -> None:
    _fig, ax = new_figure()
    med = median_band(ax, [0, 1], [[np.nan, np.inf], [1.0, 3.0]], color="k")
    assert np.isnan(med[0]) and med[1] == 2.0


def test_symlog_ticks_stay_sparse() -> None:
    assert symlog_ticks((-1.5, 5.5)) == [-1, 0, 1, 2, 5]
    wide = symlog_ticks((-120.0, 2500.0))
    assert wide == [-100, -10, -1, 0, 1, 10, 100, 1000]  # not 2000, 1000, 500, 200, ...
    assert len(symlog_ticks((-1e9, 1e9))) <= 13


def test_pick_evenly_keeps_both_ends() -> None:
    assert pick_evenly(list(range(1, 10)), 5) == [1, 3, 5, 7, 9]
    assert pick_evenly([1, 2, 3], 5) == [1, 2, 3]
    assert pick_evenly(list(range(1, 18)), 5) == [1, 5, 9, 13, 17]


def test_small_text_is_raised_before_saving() -> None:
    """A 6-pt legend (as a study once drew one) is saved at MIN_FONT_PT: 11 CSS px in a report."""
    fig, ax = new_figure()
    ax.plot([1, 2], [1, 2], label="a line")
    legend = ax.legend(fontsize=6)
    ax.set_title("title", fontsize=12)
    assert legible(fig) == 1
    assert legend.get_texts()[0].get_fontsize() == MIN_FONT_PT
    assert ax.title.get_fontsize() == 12  # larger text untouched
    legend.get_texts()[0].set_fontsize(5)
    figure_bytes(fig)
    assert legend.get_texts()[0].get_fontsize() == MIN_FONT_PT
