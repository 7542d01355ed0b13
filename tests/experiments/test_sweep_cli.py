"""The sweep engine end to end through a real command (`nnhw vanishing-gradients`): `--workers 2`
writes the serial run's tables byte for byte, and a run stopped by SIGINT mid-sweep exits 130,
says how to resume, and `--resume` finishes it with the same tables without redoing the cells
that were already on disk."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.runfiles import table_paths

REPO = Path(__file__).resolve().parents[2]
# 4 gradient cells of roughly 0.2-0.6 s each (so a SIGINT lands mid-sweep), then 1 dead-ReLU cell.
ARGS = ["vanishing-gradients", "--depths", "2,6", "--width", "32", "--activations", "relu",
        "--inits", "he-normal,xavier-normal", "--seeds", "2", "--epochs", "80",
        "--widths", "1", "--samples", "300", "--quiet"]  # fmt: skip
N_GRADIENT_CELLS = 4
TIMEOUT = 120.0


def tables(run: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in table_paths(run)}  # plain and compressed


def gradient_cells(run: Path) -> list[Path]:
    return sorted(run.glob("cells/gradients-*/*.cell"))


def gradient_counts(run: Path) -> dict[str, int]:
    """run.json's record of the gradient sweep's last session: cells read and computed."""
    sweeps = json.loads((run / "run.json").read_text())["sweeps"]
    (key,) = [k for k in sweeps if k.startswith("gradients-")]
    return sweeps[key]


@pytest.fixture(scope="module")
def serial_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from nnhw.cli.main import main

    out = tmp_path_factory.mktemp("serial")
    with pytest.raises(SystemExit) as exc:
        main([*ARGS, "--out", str(out)])
    assert exc.value.code == 0
    (run,) = out.iterdir()
    return run


def test_workers_2_writes_the_serial_tables(serial_run: Path, tmp_path: Path, capsys):
    from nnhw.cli.main import main

    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main([*ARGS, "--workers", "2", "--out", str(tmp_path), "--json"])
    out, err = capsys.readouterr()
    assert exc.value.code == 0, err
    run = Path(json.loads(out)["run_dir"])
    assert gradient_counts(run) == {"cells": N_GRADIENT_CELLS, "resumed": 0,
                                    "computed": N_GRADIENT_CELLS, "failed": 0}  # fmt: skip
    assert not (run / "cells").exists()  # a completed run keeps its tables, not its cells
    serial = tables(serial_run)
    assert len(serial) >= 4 and tables(run) == serial


def nnhw(*args: object) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", "from nnhw.cli.main import main; main()", *map(str, args)],
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_sigint_then_resume_end_to_end(serial_run: Path, tmp_path: Path):
    proc = nnhw(*ARGS, "--out", tmp_path)
    deadline = time.monotonic() + TIMEOUT
    while not (runs := list(tmp_path.iterdir())) or not gradient_cells(runs[0]):
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "no sweep cell was written"
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=TIMEOUT)
    (run,) = runs
    assert proc.returncode == 130, err
    assert f"resume with: nnhw vanishing-gradients --resume {run}" in err
    assert "Traceback" not in err
    assert json.loads((run / "run.json").read_text())["status"] == "interrupted"
    kept = {p: p.stat().st_ino for p in gradient_cells(run)}
    assert 1 <= len(kept) < N_GRADIENT_CELLS  # stopped mid-sweep

    # Resume with the other executor: the cells are the same whoever computes them.
    proc = nnhw(*ARGS, "--resume", run, "--workers", "2")
    _, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err
    assert json.loads((run / "run.json").read_text())["status"] == "completed"
    # The finished cells were read, not recomputed; once complete, the cells are removed.
    counts = {"resumed": len(kept), "computed": N_GRADIENT_CELLS - len(kept), "failed": 0}
    assert gradient_counts(run) == {"cells": N_GRADIENT_CELLS, **counts}
    assert not (run / "cells").exists()
    assert tables(run) == tables(serial_run)
