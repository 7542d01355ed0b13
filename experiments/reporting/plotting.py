"""One plotting style for every command: fixed rcParams, the Okabe-Ito palette.

Importing this module changes nothing global: no backend is chosen (the CLI sets Agg through
MPLBACKEND; a notebook keeps its own) and the rcParams are applied only inside `style()`, which the
runner and the Python API hold while a study draws and saves its figures.

Contract:
- `PALETTE`: the eight Okabe-Ito colours (Okabe & Ito 2008), safe for the common colour-vision
  deficiencies. `ACTIVATION_COLORS`: one fixed colour per activation, the same in every command.
- `color_for(name)`: the activation's colour, or a stable palette colour for any other name.
  `linestyle_for(name)`: its line style (leaky-relu dashed, as its curves often lie on relu's).
  `colors_for(names)`: distinct colours for a list of category names, in order.
  `sequential_colors(values)`: viridis shades for an ordered quantity (depth, width, layer).
- `style()`: a context manager applying STYLE (matplotlib.rc_context); every figure of a
  study is drawn and saved inside it, so a legend or line made after `new_figure` gets the style.
- `new_figure(nrows, ncols, *, width, height, **kw) -> (fig, axes)`: a Figure (not pyplot, so no
  global figure registry) with constrained layout; `axes` as `Figure.subplots` returns it.
- `spans_decades(values, decades=2.0)`: whether positive data spans enough to want a log scale.
- `figure_bytes(fig) -> (png, svg)`: deterministic bytes (no dates, no software stamp, a fixed SVG
  id salt); `close_figure(fig)` releases a figure made either way.
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
}

# LeakyReLU's curves usually lie on ReLU's (and identity's on others' in linear regimes):
# dashed, they let the line underneath show through.
ACTIVATION_LINESTYLES: dict[str, str] = {"leaky-relu": "--", "identity": "-."}

DPI = 150
STYLE: dict[str, Any] = {
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "font.family": "DejaVu Sans",  # ships with matplotlib: same glyphs on every machine
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
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


def linestyle_for(name: str) -> str:
    """The line style of an activation's curves: solid, dashed for leaky-relu, dash-dot identity."""
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


def new_figure(
    nrows: int = 1, ncols: int = 1, *, width: float = 6.4, height: float = 4.0, **kw: Any
) -> tuple[Figure, Any]:
    """A figure in the shared style and its axes (kw go to `Figure.subplots`)."""
    with mpl.rc_context(cast(Any, STYLE)):
        fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
        axes = fig.subplots(nrows, ncols, **kw)
    return fig, axes


def spans_decades(values: Sequence[float] | np.ndarray, decades: float = 2.0) -> bool:
    """True when the finite positive values span at least `decades` powers of ten."""
    arr = np.asarray(values, dtype=float).ravel()
    arr = arr[np.isfinite(arr) & (arr > 0)]
    if arr.size < 2:
        return False
    return bool(np.log10(arr.max()) - np.log10(arr.min()) >= decades)


def figure_bytes(fig: Figure) -> tuple[bytes, bytes]:
    """PNG and SVG bytes of `fig`, identical for identical figures."""
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
