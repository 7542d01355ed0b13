"""One plotting style for every command: fixed rcParams, the Okabe-Ito palette.

Importing this module changes nothing global: no backend is chosen (the CLI sets Agg through
MPLBACKEND; a notebook keeps its own) and the rcParams are applied only inside `style()`, which the
runner and the Python API hold while a study draws and saves its figures.

Contract:
- `PALETTE`: the eight Okabe-Ito colours (Okabe & Ito 2008), safe for the common colour-vision
  deficiencies. `ACTIVATION_COLORS`: one fixed colour per activation, the same in every command:
  twelve distinct colours (Okabe-Ito without its yellow, then five darker ones from Paul Tol's
  schemes), and `ACTIVATION_LINESTYLES` a dashed or dotted line for each activation whose curves
  lie on another's (leaky-relu on relu, gelu-tanh on gelu, mish near silu, selu near elu).
- `color_for(name)`: the activation's colour, or a stable palette colour for any other name.
  `linestyle_for(name)`: its line style.
  `colors_for(names)`: distinct colours for a list of category names, in order.
  `sequential_colors(values)`: viridis shades for an ordered quantity (depth, width, layer).
  `pick_evenly(values, k)`: at most k of an ordered list, both ends kept (nine layer lines are
  unreadable; the first, the last and three between are not); `ordered_styles(values)`: a colour
  and a marker per value of an ordered quantity (viridis ends apart, markers tell neighbours).
- Bands over seeds: `median_band(ax, x, values, ...)` draws the median over seeds and the
  interquartile range (not min-max: one seed's collapse to 1e-30 no longer sets the axis);
  `floor_log_axis(ax, lowest, decades)` keeps a log axis from reaching more than `decades`
  below the lowest line drawn (a band may run off the bottom; the lines stay readable).
- `symlog_ticks(limits)`: ticks for a symlog axis (linthresh 1): 0, +-1 and 1-2-5 per decade
  over up to two decades, powers of ten beyond, every other one past six decades.
- `MIN_FONT_PT`: no text in a figure is smaller (8 pt shows at 11 CSS px in a report).
- `style()`: a context manager applying STYLE (matplotlib.rc_context); every figure of a
  study is drawn and saved inside it, so a legend or line made after `new_figure` gets the style.
- `new_figure(nrows, ncols, *, width, height, **kw) -> (fig, axes)`: a Figure (not pyplot, so no
  global figure registry) with constrained layout; `axes` as `Figure.subplots` returns it. Its
  width is at most MAX_WIDTH_IN (9.5 inches): at a report's 2/3 scale that fills the 928-px
  column, so no figure is shrunk further and its text keeps its size on the page.
- `spans_decades(values, decades=2.0)`: whether positive data spans enough to want a log scale.
- `figure_bytes(fig) -> (png, svg)`: deterministic bytes (no dates, no software stamp, a fixed SVG
  id salt); text set smaller than MIN_FONT_PT is raised to it first (`legible(fig)`), so no
  study's legend or label drops below what a report can show; `close_figure(fig)` releases a
  figure made either way.
Label every axis, with units where there are any; use log scales where data spans decades.
"""

from __future__ import annotations

import io
import sys
import zlib
from collections.abc import Iterable, Sequence
from typing import Any, cast

import matplotlib as mpl
import numpy as np
from cycler import cycler
from matplotlib.figure import Figure
from matplotlib.text import Text

PALETTE: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
}
_CYCLE = [PALETTE[k] for k in ("blue", "orange", "bluish green", "vermillion", "reddish purple",
                               "sky blue", "black", "yellow")]  # fmt: skip

ACTIVATION_COLORS: dict[str, str] = {
    "relu": PALETTE["blue"],
    "leaky-relu": PALETTE["bluish green"],
    "tanh": PALETTE["orange"],
    "sigmoid": PALETTE["vermillion"],
    "identity": PALETTE["black"],
    "gelu": PALETTE["reddish purple"],
    "gelu-tanh": "#882255",  # Tol's wine
    "silu": PALETTE["sky blue"],
    "mish": "#332288",  # Tol's indigo
    "elu": "#999933",  # Tol's olive
    "selu": "#8C510A",  # brown
    "softplus": "#7F7F7F",  # grey
}

# Curves that lie on another activation's (LeakyReLU on ReLU, the tanh form of GELU on GELU,
# Mish near SiLU, SELU a scaled ELU; identity on others' in linear regimes): dashed or dotted,
# they let the line underneath show through.
ACTIVATION_LINESTYLES: dict[str, Any] = {
    "leaky-relu": "--",
    "identity": "-.",
    "gelu-tanh": ":",
    "mish": "--",
    "selu": "--",
    "softplus": (0, (5, 1.5, 1, 1.5, 1, 1.5)),  # dash-dot-dot
}
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
MIN_FONT_PT = 8.0
MAX_WIDTH_IN = 9.5

DPI = 150
STYLE: dict[str, Any] = {
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "font.family": "DejaVu Sans",  # ships with matplotlib: same glyphs on every machine
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "figure.titlesize": 12,
    "legend.title_fontsize": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": cycler(color=_CYCLE),
    "lines.linewidth": 1.6,
    "legend.frameon": False,
    "legend.fontsize": 9,
    "image.cmap": "viridis",
    "svg.hashsalt": "nnhw",  # fixed ids inside the SVG: same figure, same bytes
    "svg.fonttype": "path",
    "path.simplify": True,
}


def style() -> Any:
    """A context in which figures are drawn and saved in the shared style (rcParams restored on
    exit, so a notebook's own settings are untouched)."""
    return mpl.rc_context(cast(Any, STYLE))


def color_for(name: str) -> str:
    """The fixed colour of an activation, or a stable palette colour for another name."""
    if name in ACTIVATION_COLORS:
        return ACTIVATION_COLORS[name]
    return _CYCLE[zlib.crc32(str(name).encode("utf-8")) % len(_CYCLE)]


def linestyle_for(name: str) -> Any:
    """The line style of an activation's curves (ACTIVATION_LINESTYLES; solid otherwise)."""
    return ACTIVATION_LINESTYLES.get(name, "-")


def colors_for(names: Iterable[str]) -> dict[str, str]:
    """Distinct colours for categories: activations keep theirs, others take the cycle in order."""
    names = list(dict.fromkeys(names))
    taken = {ACTIVATION_COLORS[n] for n in names if n in ACTIVATION_COLORS}
    free = [c for c in _CYCLE if c not in taken] or _CYCLE
    out: dict[str, str] = {}
    i = 0
    for name in names:
        if name in ACTIVATION_COLORS:
            out[name] = ACTIVATION_COLORS[name]
        else:
            out[name] = free[i % len(free)]
            i += 1
    return out


def sequential_colors(values: Iterable[Any]) -> dict[Any, str]:
    """Colours for an ordered quantity (depth, width, layer): viridis from dark to green, never
    the activation colours, so a line per depth is not mistaken for an activation."""
    values = list(dict.fromkeys(values))
    cmap = mpl.colormaps["viridis"]
    n = max(1, len(values) - 1)
    return {v: mpl.colors.to_hex(cmap(0.85 * i / n)) for i, v in enumerate(values)}


def pick_evenly(values: Sequence[Any], k: int) -> list[Any]:
    """At most k of `values`, evenly spread, the first and the last always among them."""
    values = list(values)
    if len(values) <= k:
        return values
    idx = sorted({round(i * (len(values) - 1) / (k - 1)) for i in range(k)})
    return [values[i] for i in idx]


def ordered_styles(values: Iterable[Any]) -> dict[Any, dict[str, Any]]:
    """A colour (viridis, as sequential_colors) and a marker per value of an ordered quantity:
    neighbouring shades are hard to tell apart, neighbouring markers are not."""
    colors = sequential_colors(values)
    return {v: {"color": c, "marker": MARKERS[i % len(MARKERS)]}
            for i, (v, c) in enumerate(colors.items())}  # fmt: skip


def median_band(
    ax: Any,
    x: Any,
    values: Any,
    *,
    color: Any,
    label: str | None = None,
    band: bool = True,
    alpha: float = 0.18,
    **line: Any,
) -> np.ndarray:
    """Median over seeds against x, with the interquartile range as a band.

    x: (n,) positions; values: (n, seeds), NaN for a missing or non-finite value (ignored).
    Returns the median line (n,). Quartiles interpolate between seeds, so with 2-4 seeds the band
    lies between the middle ones; a single seed's collapse or blow-up moves neither."""
    v = np.asarray(values, dtype=float)
    v = np.where(np.isfinite(v), v, np.nan)
    ok = ~np.all(np.isnan(v), axis=1)
    xs = np.asarray(x)[ok]
    q1, med, q3 = np.nanquantile(v[ok], [0.25, 0.5, 0.75], axis=1)
    ax.plot(xs, med, color=color, label=label, **line)
    if band and v.shape[1] > 1:
        ax.fill_between(xs, q1, q3, color=color, alpha=alpha, lw=0)
    out = np.full(len(v), np.nan)
    out[ok] = med
    return out


def floor_log_axis(ax: Any, lowest: float, decades: float = 1.0) -> None:
    """On a log y axis, keep the bottom at most `decades` below `lowest` (the lowest line), so a
    band or a stray value cannot stretch the axis until the lines are flat."""
    if not (np.isfinite(lowest) and lowest > 0) or ax.get_yscale() != "log":
        return
    bottom, top = ax.get_ylim()
    floor = lowest / 10.0**decades
    if bottom < floor:
        ax.set_ylim(floor, top)


def symlog_ticks(limits: tuple[float, float]) -> list[float]:
    """Ticks for a symlog axis with linthresh 1 (module docstring)."""
    lo, hi = limits
    span = max(np.log10(max(hi, 1.0)), np.log10(max(-lo, 1.0)))
    if span <= 2.0:
        steps = [m * 10.0**k for k in range(0, 3) for m in (1, 2, 5)]
    else:
        every = 1 if span <= 6 else 2
        steps = [10.0**k for k in range(0, int(span) + 2, every)]
    return sorted({0.0} | {v for v in steps if v <= hi} | {-v for v in steps if -v >= lo})


def new_figure(
    nrows: int = 1, ncols: int = 1, *, width: float = 6.4, height: float = 4.0, **kw: Any
) -> tuple[Figure, Any]:
    """A figure in the shared style and its axes (kw go to `Figure.subplots`); at most
    MAX_WIDTH_IN wide (the panels of a wider request get narrower, the text keeps its size)."""
    with mpl.rc_context(cast(Any, STYLE)):
        fig = Figure(figsize=(min(width, MAX_WIDTH_IN), height), dpi=DPI, layout="constrained")
        axes = fig.subplots(nrows, ncols, **kw)
    return fig, axes


def spans_decades(values: Sequence[float] | np.ndarray, decades: float = 2.0) -> bool:
    """True when the finite positive values span at least `decades` powers of ten."""
    arr = np.asarray(values, dtype=float).ravel()
    arr = arr[np.isfinite(arr) & (arr > 0)]
    if arr.size < 2:
        return False
    return bool(np.log10(arr.max()) - np.log10(arr.min()) >= decades)


def legible(fig: Figure) -> int:
    """Raise every text of `fig` smaller than MIN_FONT_PT to it; returns how many were raised."""
    raised = 0
    for text in fig.findobj(Text):
        if text.get_text() and float(text.get_fontsize()) < MIN_FONT_PT:
            text.set_fontsize(MIN_FONT_PT)
            raised += 1
    return raised


def figure_bytes(fig: Figure) -> tuple[bytes, bytes]:
    """PNG and SVG bytes of `fig`, identical for identical figures (small text raised first)."""
    legible(fig)
    with mpl.rc_context({"svg.hashsalt": STYLE["svg.hashsalt"], "svg.fonttype": "path"}):
        png, svg = io.BytesIO(), io.BytesIO()
        fig.savefig(png, format="png", dpi=DPI, metadata={"Software": None})
        # Drawing the PNG placed every axis (constrained layout, most of a draw's time on log
        # axes with many ticks); the SVG reuses that placement instead of computing it again.
        engine = fig.get_layout_engine()
        fig.set_layout_engine("none")
        try:
            fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
        finally:
            fig.set_layout_engine(engine)
    return png.getvalue(), svg.getvalue()


def close_figure(fig: Figure) -> None:
    """Release `fig` (made with new_figure or with pyplot)."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close(fig)
    fig.clear()
