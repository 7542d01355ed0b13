"""`--resume RUN` through the CLI (in process, the toy sweep study as `nnhw toy-sweep`): the
settings come from the run's own config.toml, so the printed hint works as printed; a run id
prefix under --out works; options beside --resume must agree (every differing one is named);
a completed run, a run of another command and a run in use are refused with one line, exit 2,
the run left as it was; an interrupted run that finished no cell says so everywhere."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from nnhw.experiments.runs.rundir import RunDir
from tests.experiments.sweep_toy import marker_counts

pytestmark = pytest.mark.usefixtures("toy_command")


def status(run: Path) -> str:
    return json.loads((run / "run.json").read_text())["status"]


def interrupted(invoke, out: Path, monkeypatch: pytest.MonkeyPatch, *args: object,
                at: str = "1,b0") -> tuple[Path, str]:  # fmt: skip
    """A toy run Ctrl-C'ed in cell `at` (a,b); its folder and the hint printed."""
    monkeypatch.setenv("NNHW_TOY_INTERRUPT", at)
    code, _, err = invoke("toy-sweep", "--out", out, "-q", *args)
    monkeypatch.delenv("NNHW_TOY_INTERRUPT")
    assert code == 130, err
    (run,) = out.iterdir()
    prefix = "nnhw: interrupted; resume with: "
    assert err.startswith(prefix) and err.count("\n") == 1, err
    return run, err[len(prefix) :].strip()


def test_the_printed_hint_resumes_from_the_runs_own_settings(
    invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toy_command: Path
) -> None:
    run, hint = interrupted(invoke, tmp_path / "runs", monkeypatch, "--n-a", "4", "--n-b", "3")
    assert hint == f"nnhw toy-sweep --resume {shlex.quote(str(run))}"
    code, out, err = invoke(*shlex.split(hint)[1:])  # exactly as printed: no option repeated
    assert code == 0, err
    assert out.startswith("nnhw toy-sweep: completed — 12 cells")  # 4 x 3, as first started
    assert status(run) == "completed"
    assert set(marker_counts(toy_command).values()) == {1}  # no cell computed twice


def test_an_id_prefix_under_out_and_agreeing_options_are_accepted(
    invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "runs"
    run, _ = interrupted(invoke, out, monkeypatch, "--n-a", "4")
    # A setting its config.toml leaves out (one added to nnhw since) takes its default.
    config = run / "config.toml"
    text = config.read_text()
    assert "fail_a = -1\n" in text
    config.write_text(text.replace("fail_a = -1\n", ""))
    code, _, err = invoke("toy-sweep", "--resume", run.name[:15], "--out", out,
                          "--n-a", "4", "--workers", "2", "-q")  # fmt: skip
    assert code == 0, err
    assert status(run) == "completed"


def test_differing_options_are_refused_by_name(
    invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run, hint = interrupted(invoke, tmp_path / "runs", monkeypatch, "--n-a", "4")
    before = (run / "run.json").read_bytes()
    code, out, err = invoke(*shlex.split(hint)[1:], "--n-a", "5", "--seed", "3", "--n-b", "2")
    assert code == 2 and out == ""
    assert err == (
        f"nnhw: error: --resume: {run} was started with other settings: --n-a 4 (given: 5), "
        "--seed 20240611 (given: 3); leave these options out to continue it as it was started "
        "(its config.toml), or start a new run\n"
    )  # --n-b 2 agrees with the run's: not named
    assert (run / "run.json").read_bytes() == before  # left as it was


def test_a_completed_run_another_commands_run_and_a_run_in_use_are_refused(
    invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "runs"
    run, hint = interrupted(invoke, out, monkeypatch)
    owner = RunDir.open(run)
    owner.acquire()  # another process resuming it: its lock is held
    code, _, err = invoke(*shlex.split(hint)[1:])
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"nnhw: error: --resume: {run} is in use by another nnhw process")
    assert status(run) == "interrupted"
    owner.release()

    code, _, err = invoke(*shlex.split(hint)[1:])
    assert code == 0, err
    code, _, err = invoke(*shlex.split(hint)[1:])
    assert code == 2 and err.count("\n") == 1
    assert f"--resume: {run} has completed; there is nothing to resume" in err

    train_run = out / "20200101-000000-train"
    train_run.mkdir()
    (train_run / "run.json").write_text('{"command": "train", "status": "interrupted"}')
    code, _, err = invoke("toy-sweep", "--resume", train_run, "-q")
    assert code == 2 and err == (
        f"nnhw: error: --resume: {train_run} is a run of 'train', not 'toy-sweep'\n"
    )
    code, _, err = invoke("toy-sweep", "--resume", "nope", "--out", out, "-q")
    assert code == 2 and err.startswith("nnhw: error: --resume: no run 'nope' under")


def test_an_interrupted_run_without_a_finished_cell_says_so(
    invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "runs"
    monkeypatch.setenv("NNHW_TOY_INTERRUPT", "0,b0")  # Ctrl-C in the first cell
    code, stdout, err = invoke("toy-sweep", "--out", out, "-q")
    monkeypatch.delenv("NNHW_TOY_INTERRUPT")
    (run,) = out.iterdir()
    assert code == 130, err
    assert stdout.startswith("nnhw toy-sweep: interrupted — none of the 6 cells finished\n")
    assert json.loads((run / "run.json").read_text())["headline"] == "none of the 6 cells finished"
    code, listing, err = invoke("runs", "--out", out, "--json")
    assert code == 0, err
    (row,) = json.loads(listing)
    assert (row["status"], row["headline"]) == ("interrupted", "none of the 6 cells finished")
    assert "KeyError" not in (run / "report.md").read_text()
