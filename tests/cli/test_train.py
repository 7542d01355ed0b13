"""`nnhw train` end to end: defaults learn, the run directory, --json, --config reproduces the
history byte for byte, divergence, Ctrl-C on a real process, and a help that stays light."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nnhw.core.activations import ACTIVATION_NAMES
from nnhw.core.data import DATASET_NAMES, TASKS
from nnhw.core.init import INIT_NAMES
from nnhw.core.losses import LOSS_NAMES, REDUCTIONS
from nnhw.core.optim import OPTIMIZER_NAMES
from tests.runfiles import read_table

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["--epochs", "5", "--samples", "200", "--hidden", "8", "--quiet"]


def run_json(invoke, *args):
    code, out, err = invoke("train", "--json", "--quiet", *args)
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 1, out  # --json: one JSON object and nothing else on stdout
    payload = json.loads(lines[0])
    assert {"run_dir", "status", "metrics"} <= set(payload)
    return payload, err


@pytest.mark.parametrize(
    ("task", "metric", "figure"),
    [("classification", "test_accuracy", "decision_boundary"), ("regression", "test_r2", "fit")],
)
def test_defaults_learn_and_write_the_run_directory(invoke, tmp_path, task, metric, figure):
    payload, err = run_json(invoke, "--task", task, "--out", tmp_path)
    assert payload["status"] == "completed" and err == ""
    assert payload["metrics"][metric] >= 0.95, payload
    rd = Path(payload["run_dir"])
    assert rd.parent == tmp_path
    info = json.loads((rd / "run.json").read_text())
    assert info["status"] == "completed" and info["argv"][:3] == ["train", "--json", "--quiet"]
    for name in [
        "config.toml",
        "report.md",
        "report.html",
        "tables/history.csv",
        "tables/history.md",
        f"plots/{figure}.png",
        f"plots/{figure}.svg",
        "plots/loss.png",
        "plots/gradient_norms.svg",
    ]:
        assert (rd / name).is_file(), name
    history = (rd / "tables/history.csv").read_text().splitlines()
    assert len(history) == 1 + 101  # header, epoch 0 (initialisation) and 100 epochs
    assert history[0].startswith("epoch,train_loss,test_loss,")
    html = (rd / "report.html").read_text()
    assert "data:image/png;base64," in html and "Findings" in html


def test_config_file_reproduces_the_identical_history(invoke, tmp_path):
    args = [
        "--task",
        "classification",
        "--activation",
        "TANH",
        "--hidden",
        "6,5",
        "--optimizer",
        "sgd",
        "--lr",
        "0.3",
        "--momentum",
        "0.5",
        "--batch-size",
        "16",
        "--dtype",
        "float32",
        "--seed",
        "7",
        "--noise",
        "0.2",
    ]
    first, _ = run_json(invoke, *SMALL, *args, "--out", tmp_path / "a")
    config = Path(first["run_dir"]) / "config.toml"
    again, _ = run_json(invoke, "--config", config, "--out", tmp_path / "b")
    a = (Path(first["run_dir"]) / "tables/history.csv").read_bytes()
    b = (Path(again["run_dir"]) / "tables/history.csv").read_bytes()
    assert a == b
    assert (Path(again["run_dir"]) / "config.toml").read_text() == config.read_text()


def test_csv_run_with_hostile_column_names(invoke, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rows = [f"{i / 10},{(i / 10) ** 2}" for i in range(-20, 21)]
    header = "<script>alert(1)</script>,cost in $ (x$^2$)"
    Path("parabola.csv").write_text(header + "\n" + "\n".join(rows) + "\n")
    payload, _ = run_json(
        invoke,
        "--csv",
        "parabola.csv",
        "--target",
        "cost in $ (x$^2$)",
        "--epochs",
        "50",
        "--out",
        "runs",
    )
    rd = Path(payload["run_dir"])
    saved = (rd / "config.toml").read_text()
    assert f'csv = "{tmp_path / "parabola.csv"}"' in saved  # absolute: the config works anywhere
    assert payload["metrics"]["test_r2"] > 0.5
    assert (rd / "plots/fit.png").is_file()
    html = (rd / "report.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html


def test_divergence_is_a_warning_not_an_error(invoke, tmp_path):
    args = ["--task", "regression", "--optimizer", "sgd", "--lr", "1e3"]
    code, out, err = invoke("train", *SMALL, *args, "--out", tmp_path)
    assert code == 0, err
    rd = next(tmp_path.iterdir())
    epoch = int((rd / "tables/history.csv").read_text().splitlines()[-1].split(",")[0])
    assert epoch >= 1
    assert err.strip().splitlines() == [f"nnhw: warning: diverged at epoch {epoch}"]
    assert "diverged" in out and "Report: " in out  # the summary, on stdout
    assert json.loads((rd / "run.json").read_text())["status"] == "diverged"
    assert f"Training diverged at epoch {epoch}" in (rd / "report.md").read_text()


@pytest.mark.parametrize("args", [("--help",), ("train", "--help")])
def test_help_imports_neither_pandas_nor_matplotlib(args):
    code = (
        f"import sys\nfrom nnhw.cli.main import main\ntry:\n    main({list(args)!r})\n"
        "except SystemExit:\n    pass\n"
        "print('HEAVY', sorted(m for m in ('pandas', 'matplotlib') if m in sys.modules))"
    )
    env = {**os.environ, "COLUMNS": "100"}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, env=env
    )
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY []" in proc.stdout, proc.stdout[-300:]
    if "train" in args:
        assert "Examples" in proc.stdout and "nnhw train --task classification" in proc.stdout


COMMANDS = (
    "train", "compare-activations", "vanishing-gradients", "softmax-stability",
    "batch-scaling", "verify", "report", "runs",
)  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS)
def test_help_is_plain_and_keeps_each_example_on_its_line(command, invoke):
    """Plain Click help (no rich import: the start-up target of issue 10), with the Examples
    block unwrapped: every example line starts with `nnhw <command>`."""
    code, out, err = invoke(command, "--help")
    assert code == 0, err
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "Examples:")
    examples = []
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        examples.append(line.strip())
    assert examples and all(e.startswith(f"nnhw {command}") for e in examples), examples


def test_root_help_lists_every_command_without_rich():
    code = (
        "import sys\nfrom nnhw.cli.main import main\ntry:\n    main(['--help'])\n"
        "except SystemExit:\n    pass\nprint('RICH', 'rich' in sys.modules)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert "RICH False" in proc.stdout
    block = proc.stdout.split("Commands:\n")[1].splitlines()
    listed = [line.split()[0] for line in block if line.startswith("  ")]
    assert listed == list(COMMANDS)
    assert "..." not in "\n".join(block)  # every short help fits


def test_help_lists_the_registries():
    from nnhw.cli.train import HELP_CHOICES

    registries = {
        "task": TASKS,
        "dataset": DATASET_NAMES,
        "activation": ACTIVATION_NAMES,
        "init": INIT_NAMES,
        "loss": LOSS_NAMES,
        "optimizer": OPTIMIZER_NAMES,
        "reduction": REDUCTIONS,
        "dtype": ("float32", "float64"),
    }
    for option, names in registries.items():
        assert HELP_CHOICES[option] == ", ".join(names), option


def test_ctrl_c_keeps_the_history_and_exits_130(tmp_path):
    out = tmp_path / "runs"
    cmd = [
        sys.executable,
        "-c",
        "from nnhw.cli.main import main; main()",
        "train",
        "--task",
        "regression",
        "--epochs",
        "1000000",
        "--samples",
        "100",
        "--hidden",
        "4",
        "--out",
        str(out),
        "--quiet",
    ]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while not list(out.glob("*/run.json")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert list(out.glob("*/run.json")), "the run did not start"
        time.sleep(0.5)  # about a hundred epochs of 100 points
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    rd = next(out.iterdir())
    assert json.loads((rd / "run.json").read_text())["status"] == "interrupted"
    history = read_table(rd, "history")  # plain or, past a size, bz2-compressed CSV
    assert len(history) > 2 and history["epoch"].iloc[0] == 0  # epoch 0 and finished epochs
    assert "interrupted" in (rd / "report.md").read_text()
