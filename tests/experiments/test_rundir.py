"""RunDir: layout, atomic writes, run.json lifecycle, run_status of dead and broken runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nnhw.core.errors import NnhwError
from nnhw.experiments.runs.rundir import (
    RunDir,
    atomic_write_bytes,
    atomic_write_text,
    lock_held,
    now_iso,
    run_status,
)


def make(tmp_path: Path, command: str = "train") -> RunDir:
    return RunDir.create(
        tmp_path, command, ["train", "--lr", "0.1"], {"lr": 0.1, "hidden": (4, 4)}, 7
    )


def test_create_layout_and_run_json(tmp_path: Path) -> None:
    rd = make(tmp_path)
    assert rd.path.parent == tmp_path and rd.id.endswith("-train") and len(rd.id) == 21
    info = rd.run_json()
    assert info["status"] == "running" and info["command"] == "train" and info["seed"] == 7
    assert info["pid"] == os.getpid() and info["host"] and info["heartbeat"]
    assert set(info["versions"]) == {"nnhw", "python", "numpy"}
    config = tomllib.loads((rd.path / "config.toml").read_text())
    assert config == {"train": {"lr": 0.1, "hidden": [4, 4]}}
    assert rd.cells_dir == rd.path / "cells"


def test_same_second_gets_suffix(tmp_path: Path) -> None:
    ids = {make(tmp_path).id for _ in range(3)}
    assert len(ids) == 3


def test_out_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(NnhwError, match=r"--out: .* not a directory"):
        make(tmp_path / "f")


def test_atomic_write_leaves_no_temp_files(tmp_path: Path) -> None:
    atomic_write_text(tmp_path / "a" / "x.txt", "hello")
    atomic_write_bytes(tmp_path / "a" / "x.txt", b"again")

    with pytest.raises(TypeError):
        atomic_write_bytes(tmp_path / "a" / "y.txt", object())  # type: ignore[arg-type]
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["x.txt"]
    assert (tmp_path / "a" / "x.txt").read_bytes() == b"again"


def test_tables_round_trip_exactly(tmp_path: Path) -> None:
    rd = make(tmp_path)
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=50) * 10.0 ** rng.integers(-200, 200, 50),
                       "name": ["relu"] * 50, "n": np.arange(50)})  # fmt: skip
    rd.write_table("t", df)
    back = rd.read_tables()["t"]
    assert np.array_equal(back["x"].to_numpy(), df["x"].to_numpy())
    assert (rd.path / "tables" / "t.md").read_text().startswith("| x | name | n |")


def test_lifecycle_statuses(tmp_path: Path) -> None:
    rd = make(tmp_path)
    with rd.lifecycle():
        pass
    info = rd.run_json()
    assert info["status"] == "completed" and info["duration_s"] >= 0 and info["finished"]

    rd = make(tmp_path)
    with pytest.raises(KeyboardInterrupt), rd.lifecycle():
        raise KeyboardInterrupt
    assert run_status(rd.path) == "interrupted"

    rd = make(tmp_path)
    with pytest.raises(ValueError), rd.lifecycle():
        raise ValueError("bad thing")
    assert rd.run_json()["status"] == "failed" and "bad thing" in rd.run_json()["error"]

    rd = make(tmp_path)
    with rd.lifecycle():
        rd.finish("diverged", epoch=3)
    assert rd.run_json()["status"] == "diverged" and rd.run_json()["epoch"] == 3


def test_heartbeat_thread_refreshes(tmp_path: Path) -> None:
    import time

    rd = make(tmp_path)
    rd.update(heartbeat="2000-01-01T00:00:00+00:00")
    with rd.lifecycle(heartbeat_seconds=0.05):
        time.sleep(0.3)
        assert rd.run_json()["heartbeat"] != "2000-01-01T00:00:00+00:00"


def test_run_status_follows_the_lock_not_the_pid(tmp_path: Path) -> None:
    rd = make(tmp_path)
    assert (rd.path / "run.lock").is_file()
    assert run_status(rd.path) == "running"  # the lock is held (by this object)
    rd.update(pid=os.getpid(), heartbeat=now_iso())  # an alive pid (reused) and a fresh beat
    rd.release()
    assert run_status(rd.path) == "interrupted"  # nobody holds the lock: the owner is gone


def test_run_status_without_a_lock_file_uses_pid_and_heartbeat(tmp_path: Path) -> None:
    rd = make(tmp_path)  # as written by an nnhw from before run.lock
    rd.release()
    (rd.path / "run.lock").unlink()
    assert run_status(rd.path) == "running"  # our own pid
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    rd.update(pid=proc.pid)
    assert run_status(rd.path) == "interrupted"
    rd.update(host="elsewhere", heartbeat="2000-01-01T00:00:00+00:00")
    assert run_status(rd.path) == "interrupted"
    rd.heartbeat()
    assert run_status(rd.path) == "running"


@pytest.mark.parametrize("content", [None, "", "{not json", "[1, 2]", '{"status": "weird"}'])
def test_broken_run_json(tmp_path: Path, content: str | None) -> None:
    rd = make(tmp_path)
    if content is None:
        (rd.path / "run.json").unlink()
    else:
        (rd.path / "run.json").write_text(content)
    assert run_status(rd.path) == "broken"


def test_write_json_plain_values(tmp_path: Path) -> None:
    rd = make(tmp_path)
    rd.write_json("x/m.json", {"a": np.float64(1.5), "b": float("nan"), "c": (1, 2)})
    assert json.loads((rd.path / "x" / "m.json").read_text()) == {"a": 1.5, "b": None, "c": [1, 2]}


def test_open_rejects_non_run_dirs(tmp_path: Path) -> None:
    with pytest.raises(NnhwError, match="no such folder"):
        RunDir.open(tmp_path / "nope")
    with pytest.raises(NnhwError, match="not a run directory"):
        RunDir.open(tmp_path)


@pytest.mark.parametrize("kind", ["symlink", "fifo"])
def test_a_run_lock_that_is_not_a_regular_file_is_refused(tmp_path: Path, kind: str) -> None:
    rd = make(tmp_path)
    rd.release()
    lock = rd.path / "run.lock"
    lock.unlink()
    target = tmp_path / "elsewhere"
    if kind == "symlink":
        lock.symlink_to(target)  # dangling: creating the lock would write outside the run
    else:
        os.mkfifo(lock)
    for owner in (RunDir.open, RunDir):  # refused when the folder is opened, and by acquire
        with pytest.raises(
            NnhwError, match=r"/run\.lock: (is )?(a symbolic link|not a regular|a FIFO)"
        ):
            owner(rd.path).acquire()
    assert not target.exists()
    assert lock_held(rd.path) is None  # cannot tell: the pid rule decides
    assert run_status(rd.path) == "running"  # this process's pid, alive
