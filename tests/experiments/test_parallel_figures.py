"""Figures saved by several processes: the same bytes as a serial save, and errors still surface."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from nnhw.experiments.reporting import parallel_figures
from nnhw.experiments.reporting.parallel_figures import can_fork, save_figures
from nnhw.experiments.reporting.plotting import new_figure
from nnhw.experiments.runs.rundir import RunDir

needs_fork = pytest.mark.skipif(not can_fork(), reason="parallel figure saving needs fork (Linux)")


def figures(n: int) -> dict:
    out = {}
    x = np.linspace(0, 1, 40)
    for k in range(n):
        fig, ax = new_figure()
        ax.plot(x, x**k, label=f"x^{k}")
        ax.set(xlabel="x", ylabel="y", title=f"figure {k}")
        out[f"fig{k}"] = fig
    return out


def plot_bytes(rd: RunDir) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((rd.path / "plots").iterdir())}


@needs_fork
def test_parallel_save_is_byte_identical_to_serial(tmp_path: Path) -> None:
    serial = RunDir.create(tmp_path / "a", "fake", ["fake"], {}, None)
    parallel = RunDir.create(tmp_path / "b", "fake", ["fake"], {}, None)
    save_figures(serial, figures(5), workers=1)
    save_figures(parallel, figures(5), workers=3)
    got = plot_bytes(parallel)
    assert sorted(got) == sorted(f"fig{k}.{ext}" for k in range(5) for ext in ("png", "svg"))
    assert got == plot_bytes(serial)  # no temporary file left behind either


@needs_fork
def test_children_really_render(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Record which process wrote each figure: with 2 workers and slow figures, both did."""
    rd = RunDir.create(tmp_path, "fake", ["fake"], {}, None)
    log = tmp_path / "writers"
    log.mkdir()
    original = RunDir.write_figure

    def write_figure(self: RunDir, name: str, fig: object) -> None:
        import time

        time.sleep(0.2)  # long enough that one process cannot take every figure
        original(self, name, fig)  # type: ignore[arg-type]
        (log / f"{name}.{os.getpid()}").touch()

    monkeypatch.setattr(RunDir, "write_figure", write_figure)
    save_figures(rd, figures(6), workers=2)
    writers = {p.suffix for p in log.iterdir()}
    assert len(list(log.iterdir())) == 6  # each figure written once
    assert len(writers) == 2 and f".{os.getpid()}" in writers


@needs_fork
def test_a_figure_that_fails_in_a_child_fails_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rd = RunDir.create(tmp_path, "fake", ["fake"], {}, None)
    parent = os.getpid()
    original = RunDir.write_figure

    def write_figure(self: RunDir, name: str, fig: object) -> None:
        if name == "fig1":
            if os.getpid() != parent:
                os._exit(3)  # a child dies on this figure: it is never marked done
            raise ValueError("cannot draw fig1")
        original(self, name, fig)  # type: ignore[arg-type]

    monkeypatch.setattr(RunDir, "write_figure", write_figure)
    with pytest.raises(ValueError, match="cannot draw fig1"):
        save_figures(rd, figures(4), workers=2)


def test_serial_where_fork_is_unavailable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel_figures, "can_fork", lambda: False)
    rd = RunDir.create(tmp_path, "fake", ["fake"], {}, None)
    pids: set[int] = set()
    original = RunDir.write_figure

    def write_figure(self: RunDir, name: str, fig: object) -> None:
        pids.add(os.getpid())
        original(self, name, fig)  # type: ignore[arg-type]

    monkeypatch.setattr(RunDir, "write_figure", write_figure)
    save_figures(rd, figures(3), workers=4)
    assert pids == {os.getpid()} and len(plot_bytes(rd)) == 6
