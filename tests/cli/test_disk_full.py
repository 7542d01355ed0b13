"""A full disk (ENOSPC while writing) through the CLI, in process, with the toy sweep study as
`nnhw toy-sweep`: the run ends with one line, exit 1, run.json says failed (not interrupted), the
finished cells are kept and a resume completes the run. The disk fills up by a patched
os.fsync, which every atomic write calls before its rename: it raises OSError(ENOSPC) for the
files the test chooses (by the path of the descriptor, from /proc/self/fd)."""

from __future__ import annotations

import errno
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.experiments.sweep_toy import marker_counts

pytestmark = [
    pytest.mark.usefixtures("toy_command"),
    pytest.mark.skipif(
        not sys.platform.startswith("linux"), reason="/proc/self/fd names the file being written"
    ),
]
NO_SPACE = os.strerror(errno.ENOSPC)


def disk_full(monkeypatch: pytest.MonkeyPatch, full: Callable[[str], bool]) -> list[bool]:
    """From now on, writing a file whose path makes `full(path)` true fails with ENOSPC, until
    the returned flag is set to False (space freed)."""
    real = os.fsync
    flag = [True]

    def fsync(fd: int) -> None:
        if flag[0] and full(os.readlink(f"/proc/self/fd/{fd}")):
            raise OSError(errno.ENOSPC, NO_SPACE)
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return flag


def cells_on_disk(run: Path) -> int:
    return sum(1 for p in run.glob("cells/*/*") if not p.name.startswith("."))


@pytest.mark.parametrize("where", ["cells", "tables"])
def test_a_full_disk_fails_the_run_in_one_line_and_keeps_the_cells(
    invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toy_command: Path, where: str
) -> None:
    out = tmp_path / "runs"
    cell_writes = []

    def full(path: str) -> bool:
        if where == "cells" and f"{os.sep}cells{os.sep}" in path:
            cell_writes.append(path)
            return len(cell_writes) > 2  # the third cell does not fit
        return where == "tables" and f"{os.sep}tables{os.sep}" in path

    no_space = disk_full(monkeypatch, full)
    code, stdout, err = invoke("toy-sweep", "--out", out, "-q")
    (run,) = out.iterdir()
    assert code == 1, err
    assert err == (
        f"nnhw: error: {NO_SPACE} while writing to {run}; the finished sweep cells are kept; "
        f"resume with: nnhw toy-sweep --resume {run}\n"
    )
    assert "Traceback" not in stdout and stdout.startswith("nnhw toy-sweep: failed")
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "failed" and NO_SPACE in info["error"]
    kept = cells_on_disk(run)
    assert kept == (2 if where == "cells" else 6)

    no_space[0] = False  # space freed
    code, _, err = invoke("toy-sweep", "--resume", run, "-q")
    assert code == 0, err
    assert json.loads((run / "run.json").read_text())["status"] == "completed"
    counts = marker_counts(toy_command)
    # The kept cells were read, not redone; only the cell that did not fit is computed again.
    assert len(counts) == 6 and sum(counts.values()) == 6 + (where == "cells")


def test_a_full_disk_before_the_run_is_recorded_is_one_line(
    invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "runs"
    disk_full(monkeypatch, lambda path: path.endswith(".tmp") and "run.json" in path)
    code, stdout, err = invoke("toy-sweep", "--out", out, "-q")
    assert code == 1 and stdout == ""
    assert err == f"nnhw: error: --out {out}: {NO_SPACE}\n"
