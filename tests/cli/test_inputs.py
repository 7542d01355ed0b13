"""Inputs every command shares (issues 17 and 19): sizes the machine cannot hold, CSV files that
are not regular files or whose data cannot be standardised or scored, empty paths, one wording
for every type and range error, and a config file's bad value named by file and key. Each case
exits 2 with one line naming the option or file, prints no traceback and leaves no run
directory behind; nothing hangs (a FIFO is refused at once; an alarm bounds each case).
Then the help (readable metavars, defaults, completion, -V) and --csv in compare-activations and
batch-scaling, with class names (cat, dog) encoded and recorded."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

Make = Callable[[Path], list[str]]


@contextlib.contextmanager
def bounded(seconds: int = 20) -> Iterator[None]:
    """Fail instead of hanging (a FIFO opened the blocking way would wait for a writer)."""

    def alarm(signum: int, frame: object) -> None:
        raise TimeoutError(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def args(*values: str) -> Make:
    return lambda tmp: list(values)


def csv(command: str | tuple[str, ...], text: str, *extra: str, target: str = "y") -> Make:
    head = [command] if isinstance(command, str) else list(command)

    def make(tmp: Path) -> list[str]:
        (tmp / "d.csv").write_text(text)
        return [*head, "--csv", str(tmp / "d.csv"), "--target", target, *extra]

    return make


def special_csv(command: str, kind: str, *extra: str) -> Make:
    def make(tmp: Path) -> list[str]:
        if kind == "fifo":
            path = str(tmp / "pipe.csv")
            os.mkfifo(path)
        elif kind == "directory":
            path = str(tmp / "folder.csv")
            os.mkdir(path)
        else:
            path = kind
        return [command, "--csv", path, "--target", "y", *extra]

    return make


def config(command: str, text: str) -> Make:
    def make(tmp: Path) -> list[str]:
        (tmp / "c.toml").write_text(text)
        return [command, "--config", str(tmp / "c.toml")]

    return make


ROWS = "".join(f"{i},{i % 7},{(i * 37) % 11}\n" for i in range(40))
CONSTANT = "a,b,y\n" + "".join(f"{i},{i % 3},5\n" for i in range(40))
HUGE_TARGET = "a,b,y\n" + ROWS + "1,2,1e200\n"
HUGE_FEATURE = "a,b,y\n" + ROWS + "1e308,2,1\n"
REPEATED = "a,a,y\n" + ROWS
CA = ("compare-activations", "--seeds", "1", "--epochs", "2", "--activations", "relu")
CA_REG = (*CA, "--task", "regression")

CASES: dict[str, tuple[Make, str]] = {
    # sizes: refused before anything runs, naming the option and the estimate
    "ca samples 1e8": (args(*CA, "--samples", "1e8"), "--samples 100000000: this compare"),
    "ca hidden": (args(*CA, "--hidden", "100000,100000"), "--hidden 100000,100000: this"),
    "ca depths 2000": (args(*CA, "--depths", "2000"), "--depths 2000: this compare-activations"),
    "ca seeds 1e5": (args("compare-activations", "--seeds", "100000"), "--seeds 100000: this"),
    "ca batch 1e9": (args(*CA, "--batch-size", "1e9"), "--batch-size 1000000000 is larger than"),
    "vg depths 2000": (args("vanishing-gradients", "--depths", "2000"), "--depths 2000: this"),
    "vg seeds 1e5": (args("vanishing-gradients", "--seeds", "100000"), "--seeds 100000: this"),
    "bs samples 1e8": (args("batch-scaling", "--samples", "1e8"), "--samples 100000000: this"),
    "sm rows": (
        args("softmax-stability", "--rows", "10000", "--classes", "10000"),
        "--rows 10000: this softmax-stability run would need about",
    ),
    "train epochs 1e7": (args("train", "--epochs", "1e7"), "--epochs 10000000: this train run"),
    # CSV files that are not regular files: refused at once, never read
    "train csv fifo": (special_csv("train", "fifo"), "not a regular file"),
    "train csv /dev/zero": (special_csv("train", "/dev/zero"), "/dev/zero: not a regular file"),
    "ca csv /dev/urandom": (special_csv("compare-activations", "/dev/urandom"), "not a regular"),
    "ca csv fifo": (special_csv("compare-activations", "fifo"), "pipe.csv: not a regular file"),
    "bs csv fifo": (special_csv("batch-scaling", "fifo"), "pipe.csv: not a regular file"),
    "bs csv directory": (special_csv("batch-scaling", "directory"), "folder.csv: is a directory"),
    # data that cannot be standardised or scored, or a header that names a column twice
    "train repeated column": (csv("train", REPEATED), "names column 'a' more than once"),
    "train constant target": (csv("train", CONSTANT), "target column 'y' is constant"),
    "train 1e200 target": (csv("train", HUGE_TARGET), "column 'y' holds 1e+200, too large"),
    "train 1e308 feature": (csv("train", HUGE_FEATURE), "column 'a' holds 1e+308, too large"),
    "ca constant target": (csv(CA_REG, CONSTANT), "target column 'y' is constant"),
    "ca 1e200 target": (csv(CA_REG, HUGE_TARGET), "column 'y' holds 1e+200"),
    "ca repeated column": (csv(CA, REPEATED), "names column 'a' more than once"),
    "ca csv with samples": (csv(CA, "a,y\n1,0\n2,1\n", "--samples", "50"), "--samples applies"),
    "ca csv batch too big": (csv(CA_REG, "a,b,y\n" + ROWS, "--batch-size", "100"), "is larger"),
    "bs constant target": (csv("batch-scaling", CONSTANT), "target column 'y' is constant"),
    "bs 1e308 feature": (csv("batch-scaling", HUGE_FEATURE), "column 'a' holds 1e+308"),
    "bs samples beyond rows": (
        csv("batch-scaling", "a,b,y\n" + ROWS, "--samples", "100"),
        "--samples 100 is more than the 40 data rows",
    ),
    "bs target without csv": (args("batch-scaling", "--target", "y"), "no --csv file was given"),
    # empty paths
    "train out empty": (args("train", "--out", ""), "--out must be a path, got ''"),
    "ca out empty": (args(*CA, "--out", ""), "--out must be a path, got ''"),
    "vg out empty": (args("vanishing-gradients", "--out", " "), "--out must be a path, got ' '"),
    "verify out empty": (args("verify", "--out", ""), "--out must be a path, got ''"),
    "config empty": (args("softmax-stability", "--config", ""), "--config must be a path, got ''"),
    "resume empty": (args("batch-scaling", "--resume", ""), "--resume must be a path, got ''"),
    "csv empty": (args("train", "--csv", "", "--target", "y"), "--csv must be a path, got ''"),
    "report empty": (args("report", ""), "RUN_DIR must be a run id or path, got ''"),
    "runs out empty": (args("runs", "--out", ""), "--out must be a path, got ''"),
    # one wording for type and range errors
    "int text": (args(*CA, "--seeds", "x"), "--seeds must be an integer, got 'x'"),
    "int fraction": (args("train", "--epochs", "1.5"), "--epochs must be an integer, got '1.5'"),
    "float text": (args("train", "--lr", "abc"), "--lr must be a number, got 'abc'"),
    "range": (args(*CA, "--workers", "0"), "--workers must be an integer >= 1, got 0"),
    "choice": (args(*CA, "--optimizer", "adamw"), "--optimizer must be one of sgd, adam, got"),
    "list item": (args(*CA, "--depths", "1,x"), "--depths: every item must be an integer, got 'x'"),
    "format": (args("runs", "compare", "a", "b", "--to", "pdf"), "--to must be one of terminal"),
    # a config file's bad value names the file and the key
    "config value": (
        config("compare-activations", "[compare-activations]\nlr = -3\n"),
        "c.toml [compare-activations]: lr must be > 0, got -3.0",
    ),
    "config type": (
        config("vanishing-gradients", "[vanishing-gradients]\nseeds = 'many'\n"),
        "c.toml [vanishing-gradients]: seeds must be an integer, got 'many'",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_exits_2_with_one_line(case: str, invoke, tmp_path: Path, monkeypatch) -> None:
    make, expected = CASES[case]
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    argv = make(work)
    if "--out" not in argv and argv[0] not in ("report", "runs"):
        argv += ["--out", str(tmp_path / "runs")]
    with bounded():
        code, out, err = (
            invoke(*argv, "--quiet") if argv[0] not in ("report", "runs") else (invoke(*argv))
        )
    lines = err.strip().splitlines()
    assert code == 2, (out, err)
    assert len(lines) == 1 and lines[0].startswith("nnhw: error: "), err
    assert expected in lines[0], err
    assert "Input should" not in err and " a integer" not in err and "Warning" not in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
    assert sorted(p.name for p in work.iterdir()) in ([], ["c.toml"], ["d.csv"], ["pipe.csv"],
                                                       ["folder.csv"])  # fmt: skip


def test_the_battery_covers_every_command() -> None:
    firsts = set()
    for make, _ in CASES.values():
        try:
            firsts.add(make(Path("/nonexistent"))[0])
        except OSError:
            continue  # the cases that plant a file
    assert {"train", "compare-activations", "vanishing-gradients", "batch-scaling"} <= firsts
    assert {"softmax-stability", "verify", "report", "runs"} <= firsts


# --- help -------------------------------------------------------------------------------------

COMMANDS = [
    "train", "compare-activations", "vanishing-gradients", "softmax-stability", "batch-scaling",
    "verify", "report", "runs", "runs show", "runs compare",
]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_readable_metavars_and_defaults(invoke, command: str) -> None:
    code, out, err = invoke(*command.split(), "--help")
    assert code == 0, err
    for internal in ("<int>", "<float>", "<str>", "<path>", "<list", "{RUN_DIR}", "{ID", "x>=1"):
        assert internal not in out, (internal, out)
    if "--seed " in out:
        assert "Default: 0." in " ".join(out.split())
    if command == "report":
        assert "Usage: nnhw report [OPTIONS] RUN_DIR" in out


def test_task_default_is_stated_per_command(invoke) -> None:
    texts = {c: invoke(c, "--help")[1] for c in ("train", "compare-activations", "batch-scaling")}
    flat = {c: " ".join(t.split()) for c, t in texts.items()}
    assert "else regression" in flat["train"] and "classification" in flat["train"]
    assert "else classification (unlike train and batch-scaling" in flat["compare-activations"]
    assert "Default: regression." in flat["batch-scaling"]


def test_preset_defaults_in_the_help_are_the_presets() -> None:
    from nnhw.cli.options import PRESET_VALUES, preset
    from nnhw.core.presets import PRESETS

    for field, (regression, classification) in PRESET_VALUES.items():
        name = {"samples": "n_samples"}.get(field, field)
        shown = []
        for task in ("regression", "classification"):
            value = getattr(PRESETS[task], name)
            shown.append(",".join(map(str, value)) if isinstance(value, tuple) else f"{value:g}"
                         if isinstance(value, float) else str(value))  # fmt: skip
        assert (regression, classification) == tuple(shown), field
    assert preset("optimizer") == (
        "Default: the task preset's: sgd for regression, adam for classification."
    )


def test_version_and_completion(invoke) -> None:
    from nnhw.core import __version__

    for flag in ("-V", "--version"):
        code, out, _ = invoke(flag)
        assert code == 0 and out.strip() == f"nnhw {__version__}"
    code, out, _ = invoke("--help")
    assert "--install-completion" in out and "--show-completion" in out
    env = {**os.environ, "_NNHW_COMPLETE": "complete_bash", "COMP_CWORD": "2",
           "COMP_WORDS": "nnhw compare-activations --act"}  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "nnhw.cli"], env=env, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert "--activations" in done.stdout.split(), done.stderr
    script = subprocess.run([sys.executable, "-m", "nnhw.cli", "--show-completion", "bash"],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert script.returncode == 0 and "_NNHW_COMPLETE" in script.stdout


# --- --csv in compare-activations and batch-scaling ---------------------------------------------


def _animals(path: Path, n: int = 120) -> tuple[np.ndarray, list[str]]:
    """Two features; the label is cat when x1 > 0, else dog."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(n, 2))
    x[:, 0] += np.where(x[:, 0] > 0, 0.5, -0.5)
    labels = ["cat" if v > 0 else "dog" for v in x[:, 0]]
    rows = "".join(f"{float(a)!r},{float(b)!r},{lab}\n" for (a, b), lab in zip(x, labels))
    path.write_text("x1,x2,kind\n" + rows)
    return x, labels


def test_train_encodes_class_names_and_records_them(invoke, tmp_path: Path) -> None:
    _, labels = _animals(tmp_path / "animals.csv")
    code, _, err = invoke("train", "--csv", tmp_path / "animals.csv", "--target", "kind",
                            "--task", "classification", "--epochs", "5", "--out", tmp_path / "r",
                            "--quiet")  # fmt: skip
    assert code == 0, err
    run = next((tmp_path / "r").iterdir())
    classes = pd.read_csv(run / "tables" / "classes.csv")
    assert list(classes["name"]) == ["cat", "dog"] and list(classes["label"]) == [0, 1]
    assert list(classes["count"]) == [labels.count("cat"), labels.count("dog")]
    points = pd.read_csv(run / "tables" / "test_points.csv")
    assert len(points) == round(0.2 * len(labels))
    np.testing.assert_array_equal(points["label"], np.where(points["x1"] > 0, 0, 1))  # cat = 0
    assert "| 0 | cat |" in (run / "report.md").read_text()


def test_compare_activations_trains_on_the_csv(tmp_path: Path) -> None:
    from nnhw.experiments import api

    x, _ = _animals(tmp_path / "animals.csv")
    result = api.run("compare-activations", csv=str(tmp_path / "animals.csv"), target="kind",
                     activations=("relu", "sigmoid"), seeds=2, epochs=3,
                     timing_repeats=1)  # fmt: skip
    t = result.tables
    assert list(t["classes"]["name"]) == ["cat", "dog"]
    points = t["points"]
    assert len(points) == 24 and set(points["x1"]) <= set(x[:, 0])  # the file's test rows
    np.testing.assert_array_equal(points["label"], np.where(points["x1"] > 0, 0, 1))
    assert sorted(t["summary"]["activation"]) == ["relu", "sigmoid"]
    assert t["history"]["seed"].max() == 1 and t["history"]["epoch"].max() == 3
    grid = t["decision_grid"]  # spans the file's inputs, not the moons'
    assert grid["x1"].min() < x[:, 0].min() and grid["x1"].max() > x[:, 0].max()
    assert "cat, dog" in result.report.summary


def test_compare_activations_csv_regression_uses_every_row(tmp_path: Path) -> None:
    from nnhw.experiments import api

    x = np.linspace(-3, 3, 50)
    (tmp_path / "wave.csv").write_text(
        "x,y\n" + "".join(f"{float(a)!r},{float(np.sin(a))!r}\n" for a in x)
    )
    result = api.run("compare-activations", csv=str(tmp_path / "wave.csv"), target="y",
                     task="regression", activations=("tanh",), seeds=1, epochs=2,
                     timing_repeats=1)  # fmt: skip
    points = result.tables["points"]
    assert len(points) == 10
    np.testing.assert_allclose(points["y"], np.sin(points["x1"]), rtol=1e-12)
    assert result.config.samples is None and result.config.data_name == "wave.csv"


def test_batch_scaling_measures_the_csv(tmp_path: Path) -> None:
    from nnhw.experiments import api

    _animals(tmp_path / "animals.csv", n=96)
    settings = dict(csv=str(tmp_path / "animals.csv"), target="kind", task="classification",
                    minibatches=10, pretrain_epochs=0, train_epochs=2, seeds=1)  # fmt: skip
    every = api.run("batch-scaling", **settings)
    assert every.config.samples == 96 and every.config.sizes[-1] == 96
    assert set(every.tables["noise"]["n_samples"]) == {96}
    some = api.run("batch-scaling", samples=40, **settings)
    assert set(some.tables["noise"]["n_samples"]) == {40} and some.config.sizes[-1] == 40
    generated = api.run("batch-scaling", **{**settings, "csv": None, "target": None})
    assert set(generated.tables["noise"]["n_samples"]) == {256}
    assert not np.allclose(
        every.tables["noise"]["trace_sigma"].to_numpy()[:1],
        generated.tables["noise"]["trace_sigma"].to_numpy()[:1],
    )


def test_batch_scaling_csv_from_the_command_line(invoke, tmp_path: Path) -> None:
    """The option reaches the run: the file's absolute path, its target and its row count are in
    config.toml (which repeats the run), and the noise table measured every row."""
    import tomllib

    _animals(tmp_path / "animals.csv", n=64)
    code, _, err = invoke("batch-scaling", "--csv", tmp_path / "animals.csv", "--target", "kind",
                          "--task", "classification", "--minibatches", "10", "--pretrain-epochs",
                          "0", "--train-epochs", "1", "--seeds", "1", "--batch-sizes", "1,8,64",
                          "--out", tmp_path / "r", "--quiet")  # fmt: skip
    assert code == 0, err
    run = next((tmp_path / "r").iterdir())
    saved = tomllib.loads((run / "config.toml").read_text())["batch-scaling"]
    assert saved["csv"] == str((tmp_path / "animals.csv").resolve()) and saved["target"] == "kind"
    assert saved["samples"] == 64
    noise = pd.read_csv(run / "tables" / "noise.csv")
    assert set(noise["n_samples"]) == {64}
    assert "animals.csv" in (run / "report.md").read_text()
