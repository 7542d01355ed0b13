"""`nnhw runs`: listing (newest first, broken folders never crash it), show, compare."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nnhw.experiments.runs import studies
from nnhw.experiments.runs.runner import execute
from tests.experiments import report_fake_study as fake


@pytest.fixture(autouse=True)
def fake_study(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(studies.STUDIES, "fake", "tests.experiments.report_fake_study")


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two fake runs, an interrupted one, a crashed one, two broken folders and clutter."""
    out = tmp_path_factory.mktemp("runs") / "results"
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(studies.STUDIES, "fake", "tests.experiments.report_fake_study")
        mp.setattr(fake, "INTERRUPT_AFTER", -1)
        for epochs in (3, 4):
            argv = ["fake", f"--epochs={epochs}"]
            execute("fake", fake.Config(epochs=epochs), out=out, argv=argv)
        mp.setattr(fake, "INTERRUPT_AFTER", 1)
        execute("fake", fake.Config(epochs=2), out=out, argv=["fake"])
        crashed = execute("fake", fake.Config(epochs=9), out=out, argv=["fake"]).rundir
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    crashed.update(status="running", pid=proc.pid, headline=None)  # the process died mid-run
    (out / "19990101-000000-train").mkdir()  # half-written: no run.json at all
    (out / "19990101-000001-verify").mkdir()
    (out / "19990101-000001-verify" / "run.json").write_text('{"status": "runn')  # cut short
    (out / "notes").mkdir()  # not a run: ignored
    (out / "README.md").write_text("x")
    return out


def by_epochs(results: Path, epochs: int) -> str:
    """The id of the completed fake run with `epochs` epochs."""
    for path in results.glob("*-fake*"):
        info = json.loads((path / "run.json").read_text())
        if info["argv"] == ["fake", f"--epochs={epochs}"]:
            return path.name
    raise AssertionError(epochs)


def test_list_newest_first_with_clear_statuses(invoke, results: Path) -> None:
    code, out, err = invoke("runs", "--out", results, "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert [r["status"] for r in rows] == [
        "interrupted", "interrupted", "completed", "completed", "broken", "broken"
    ]  # fmt: skip
    assert [r["started"] for r in rows] == sorted((r["started"] for r in rows), reverse=True)
    assert rows[-1]["command"] == "train" and rows[-2]["command"] == "verify"
    assert rows[3]["headline"].startswith("lowest final loss")
    assert all(r["command"] != "?" for r in rows)


def test_list_table(invoke, results: Path) -> None:
    code, out, err = invoke("runs", "--out", results)
    assert code == 0, err
    assert out.count("-fake") == 4 and out.count("broken") == 2 and "notes" not in out
    assert "lowest final" in out and "headline" in out and "duration" in out


def test_list_on_a_narrow_terminal_keeps_ids_and_headlines_whole(
    invoke, results: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "60")  # too narrow for a headline column
    code, out, err = invoke("runs", "--out", results)
    assert code == 0, err
    lines = out.splitlines()
    ids = [p.name for p in results.iterdir() if p.name[:8].isdigit()]
    assert all(any(line.startswith(i) for line in lines) for i in ids), out  # never folded
    headlines = [line.strip() for line in lines if line.startswith("    lowest final")]
    assert len(headlines) == 2 and all(len(line) <= 60 for line in lines), out


def test_list_empty_or_missing_folder(invoke, tmp_path: Path) -> None:
    code, out, _ = invoke("runs", "--out", tmp_path / "none")
    assert code == 0 and "No runs under" in out
    (tmp_path / "f").write_text("x")
    code, _, err = invoke("runs", "--out", tmp_path / "f")
    assert code == 2 and "is not a directory" in err


def test_show(invoke, results: Path) -> None:
    run_id = by_epochs(results, 3)
    code, out, err = invoke("runs", "show", run_id, "--out", results)
    assert code == 0, err
    assert run_id in out and "epochs" in out and "3" in out
    assert "[supported]" in out and "reaches the lowest loss" in out
    assert "Report: " in out and "<script>alert(1)</script>" in out  # terminal: plain text


def test_show_unknown_and_broken(invoke, results: Path) -> None:
    code, _, err = invoke("runs", "show", "nope", "--out", results)
    assert code == 2 and "no run 'nope'" in err
    code, out, err = invoke("runs", "show", "19990101-000001-verify", "--out", results)
    assert code == 2 and out == "", out  # refused before anything is printed
    assert err.count("\n") == 1 and "run.json: unreadable" in err, err


@pytest.mark.parametrize("to", ["md", "csv", "terminal"])
def test_compare(invoke, results: Path, to: str) -> None:
    a, b = by_epochs(results, 3), by_epochs(results, 4)
    code, out, err = invoke("runs", "compare", a, b, "--out", results, "--to", to)
    assert code == 0, err
    assert a in out and b in out and "setting: epochs" in out and "headline" in out
    assert "relu · " in out  # the summary rows, keyed by activation
    if to == "md":
        assert out.startswith("| key | ")
    if to == "csv":
        import io

        import pandas as pd

        df = pd.read_csv(io.StringIO(out))
        row = df[df["key"] == "setting: epochs"].iloc[0]
        assert (str(row[a]), str(row[b])) == ("3", "4")


def test_compare_needs_two_runs_of_one_command(invoke, results: Path) -> None:
    a = by_epochs(results, 3)
    code, _, err = invoke("runs", "compare", a, "--out", results)
    assert code == 2 and "at least two" in err
    code, _, err = invoke("runs", "compare", a, "19990101-000001", "--out", results)
    assert code == 2 and "run.json" in err


def test_compare_refuses_different_commands(results: Path) -> None:
    from dataclasses import replace

    from nnhw.core.errors import NnhwError
    from nnhw.experiments.runs import catalog

    run = catalog.load_run(results / by_epochs(results, 3))
    other = replace(run, info={**run.info, "command": "train"})
    with pytest.raises(NnhwError, match=r"different commands \(fake, train\)"):
        catalog.compare([run, other])


def test_unknown_output_format_is_one_plain_line(invoke) -> None:
    code, _, err = invoke("runs", "compare", "a", "b", "--to", "pdf")
    assert code == 2
    assert err.strip() == "nnhw: error: --to must be one of terminal, md, csv, got 'pdf'"
