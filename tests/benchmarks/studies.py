"""Whole-command workloads: `nnhw compare-activations` (default settings) against the same study
as a plain loop of PyTorch trainings (torch_compare_activations.py), and with 2 workers against 1,
on the default sweep (4 cells) and on sweeps over depth: 8 cells (`--depths 1,2`) and 12 cells
(`--depths 1,2,4`, 4 activations x 3 depths: the deep-net comparison the depth axis is for).

Each contender is a fresh subprocess (interpreter start and imports included on both sides);
nnhw writes its run directory, tables, plots and report into a temporary folder, which the
PyTorch script does not do. `nets` counts the nets one run trains (4 activations x 5 seeds).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.benchmarks.workloads import Contender, Run

HERE = Path(__file__).resolve().parent
ACTIVATIONS, SEEDS = 4, 5  # the defaults of nnhw compare-activations


def nnhw_executable() -> str:
    exe = shutil.which("nnhw", path=str(Path(sys.executable).parent)) or shutil.which("nnhw")
    if exe is None:
        raise SystemExit("bench: the nnhw console script is not installed (pip install -e .)")
    return exe


def _subprocess(cmd: list[str]) -> Run:
    def run() -> None:
        with tempfile.TemporaryDirectory(prefix="nnhw-bench-") as out:
            args = [a.replace("{out}", out) for a in cmd]
            subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    return run


def compare_activations_contenders(quick: bool) -> list[Contender]:
    epochs = ["--epochs", "3"] if quick else []
    nnhw = [nnhw_executable(), "compare-activations", "--quiet", "--out", "{out}", *epochs]
    torch = [sys.executable, str(HERE / "torch_compare_activations.py"), *epochs]
    nets = ACTIVATIONS * SEEDS
    return [
        Contender("nnhw, 1 worker", lambda: _subprocess([*nnhw, "--workers", "1"]), 0, nets),
        Contender("nnhw, 2 workers", lambda: _subprocess([*nnhw, "--workers", "2"]), 0, nets),
        Contender("pytorch loop", lambda: _subprocess(torch), 0, nets),
    ]


def compare_activations_sweep_contenders(quick: bool, depths: str) -> list[Contender]:
    """A sweep over `depths` (x the 4 default activations) with 1 and with 2 workers."""
    epochs = ["--epochs", "3"] if quick else []
    nnhw = [nnhw_executable(), "compare-activations", "--quiet", "--out", "{out}", *epochs]
    nnhw += ["--depths", depths]
    nets = ACTIVATIONS * SEEDS * len(depths.split(","))
    return [
        Contender("nnhw, 1 worker", lambda: _subprocess([*nnhw, "--workers", "1"]), 0, nets),
        Contender("nnhw, 2 workers", lambda: _subprocess([*nnhw, "--workers", "2"]), 0, nets),
    ]
