"""`nnhw train` bad-input battery: each case exits 2 with one line on stderr that names the
option or file and what is wrong, prints no traceback, and leaves no run directory behind."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

GOOD_CSV = "a,b,cost\n" + "".join(f"{i},{i % 3},{i * 0.5}\n" for i in range(20))


def csv_file(content: str | bytes, target: str = "y"):
    def make(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        (tmp / "d.csv").write_bytes(data)
        return ["--csv", str(tmp / "d.csv"), "--target", target]

    return make


def config_file(text: str):
    def make(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
        (tmp / "c.toml").write_text(text)
        return ["--config", str(tmp / "c.toml")]

    return make


def out_is_file(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    (tmp / "taken").write_text("not a folder")
    return ["--out", str(tmp / "taken")]


def out_not_writable(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    locked = tmp / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    if os.geteuid() == 0:  # root writes anywhere: answer as the OS would for anyone else
        real = os.access
        monkeypatch.setattr(
            os, "access", lambda p, mode, **kw: False if Path(p) == locked else real(p, mode, **kw)
        )
    return ["--out", str(locked)]


def csv_is_directory(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    (tmp / "folder.csv").mkdir()
    return ["--csv", str(tmp / "folder.csv"), "--target", "y"]


def plain(*args: str):
    return lambda tmp, monkeypatch: list(args)


SMALL = ["--epochs", "2"]
CASES = {
    "unknown activation": (plain("--activation", "swish"), "--activation"),
    "unknown activation names the choices": (
        plain("--activation", "swish"),
        "identity, gelu, gelu-tanh, silu, elu, selu, softplus, mish",
    ),
    "unknown init": (plain("--init", "orthogonal"), "--init"),
    "unknown loss": (plain("--loss", "hinge"), "--loss"),
    "unknown optimizer": (plain("--optimizer", "rmsprop"), "--optimizer"),
    "unknown dataset": (plain("--dataset", "mnist"), "--dataset"),
    "unknown dtype": (plain("--dtype", "float16"), "--dtype"),
    "lr zero": (plain("--lr", "0"), "--lr"),
    "lr negative": (plain("--lr", "-1"), "--lr"),
    "lr not a number": (plain("--lr", "fast"), "--lr"),
    "epochs zero": (plain("--epochs", "0"), "--epochs"),
    "batch size zero": (plain("--batch-size", "0"), "--batch-size"),
    "hidden zero": (plain("--hidden", "0"), "--hidden"),
    "hidden malformed": (plain("--hidden", "64,,x"), "--hidden"),
    "hidden not a number": (plain("--hidden", "64,x"), "--hidden"),
    "test fraction zero": (plain("--test-fraction", "0"), "--test-fraction"),
    "test fraction above one": (plain("--test-fraction", "1.5"), "--test-fraction"),
    "samples too few": (plain("--samples", "1"), "--samples"),
    "samples too few to split usefully": (plain("--samples", "3"), "--samples"),
    "batch larger than the training set": (plain("--batch-size", "100000"), "--batch-size"),
    "samples beyond memory": (plain("--samples", "100000000000"), "--samples"),
    "net beyond memory": (plain("--hidden", "100000,100000"), "--hidden"),
    "data through net beyond memory": (
        plain("--samples", "5000000", "--hidden", "4096"),
        "--hidden",
    ),
    "csv missing": (plain("--csv", "no-such.csv", "--target", "y"), "no-such.csv"),
    "csv is a directory": (csv_is_directory, "folder.csv"),
    "csv empty": (csv_file(""), "d.csv"),
    "csv not utf-8": (csv_file(b"a,y\n1,caf\xe9\n"), "d.csv"),
    "csv target missing": (csv_file(GOOD_CSV, target="price"), "'price'"),
    "csv non-numeric": (csv_file("a,y\n1,2\n3,four\n"), "'four'"),
    "csv NaN": (csv_file("a,y\n1,2\n3,nan\n"), "nan"),
    "csv without target": (plain("--csv", "d.csv"), "--target"),
    "out is a file": (out_is_file, "taken"),
    "out not writable": (out_not_writable, "locked"),
    "config missing": (plain("--config", "no-such.toml"), "no-such.toml"),
    "config malformed": (config_file("[train\nlr = "), "c.toml"),
    "config unknown key": (config_file("[train]\nlearning_rate = 0.1\n"), "learning_rate"),
    "config wrong type": (
        config_file('[train]\nlr = "fast"\n'),
        "c.toml [train]: lr must be a number, got 'fast'",
    ),
    "config other command": (config_file("[verify]\nseed = 1\n"), "[train]"),
    "config bad value": (
        config_file("[train]\nbatch_size = 0\n"),
        "c.toml [train]: batch_size must be an integer >= 1, got 0",
    ),
    "bce with identity output": (
        plain("--task", "classification", "--loss", "bce", "--output-activation", "identity"),
        "--loss bce",
    ),
    "bce with tanh output": (
        plain("--task", "classification", "--loss", "bce", "--output-activation", "tanh"),
        "--loss bce",
    ),
    "softmax-ce with one output": (
        plain("--task", "regression", "--loss", "softmax-cross-entropy"),
        "--loss softmax-cross-entropy",
    ),
    "momentum with adam": (plain("--optimizer", "adam", "--momentum", "0.9"), "--momentum"),
    "momentum zero with adam": (plain("--optimizer", "adam", "--momentum", "0"), "--momentum"),
    "negative slope with relu": (plain("--negative-slope", "0.2"), "--negative-slope"),
    "elu alpha with relu": (plain("--elu-alpha", "0.5"), "--elu-alpha applies to elu only"),
    "elu alpha zero": (plain("--activation", "elu", "--elu-alpha", "0"), "--elu-alpha must be > 0"),
    "dataset of the other task": (plain("--task", "regression", "--dataset", "moons"), "--dataset"),
    "dataset and csv": (plain("--dataset", "sine", "--csv", "d.csv", "--target", "y"), "--csv"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_exits_2_with_one_line(case, invoke, tmp_path, monkeypatch):
    make, expected = CASES[case]
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    args = make(work, monkeypatch)
    if "--out" not in args:
        args += ["--out", str(tmp_path / "runs")]
    code, out, err = invoke("train", *SMALL, "--quiet", *args)
    lines = err.strip().splitlines()
    assert code == 2, (out, err)
    assert len(lines) == 1, err
    assert lines[0].startswith("nnhw: error: "), err
    assert expected in lines[0], err
    assert "Traceback" not in err and out == ""
    runs = tmp_path / "runs"
    assert not runs.exists() or not any(runs.iterdir()), "validation must precede the run dir"
    for run_json in tmp_path.rglob("run.json"):
        assert json.loads(run_json.read_text())["status"] != "completed"


def test_the_battery_is_big_enough():
    assert len(CASES) >= 20
