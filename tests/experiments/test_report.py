"""Reports and the runner: escaping, self-containment, determinism, interrupted and failed runs,
resume, rebuild. Uses the tiny fake study in report_fake_study."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from nnhw.core.errors import NnhwError
from nnhw.experiments.reporting.report import Report, Section, write_report
from nnhw.experiments.runs import studies
from nnhw.experiments.runs.rundir import RunDir
from nnhw.experiments.runs.runner import execute, rebuild
from tests.experiments import report_fake_study as fake


@pytest.fixture(autouse=True)
def fake_study(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(studies.STUDIES, "fake", "tests.experiments.report_fake_study")
    monkeypatch.setattr(fake, "INTERRUPT_AFTER", -1)


def run(tmp_path: Path, **kw: object):
    return execute("fake", fake.Config(**kw), out=tmp_path, argv=["fake", "--seed", "0"])


def digests(path: Path) -> dict[str, str]:
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file() and p.name != "run.json"
    }


def test_html_escapes_user_text_and_is_self_contained(tmp_path: Path) -> None:
    outcome = run(tmp_path)
    assert outcome.status == "completed" and outcome.exit_code == 0
    html = (outcome.rundir.path / "report.html").read_text()
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the column name, as text
    assert "&lt;b&gt;not bold&lt;/b&gt;" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing fetched
    assert "<link" not in html and "@import" not in html and "url(" not in html
    assert re.findall(r'<img src="data:image/png;base64,', html)
    # Findings come first, then sections, then what was run.
    order = [html.index(s) for s in ('id="findings"', "<h2>Losses</h2>", 'id="run"')]
    assert order == sorted(order)
    for cls in ("supported", "refuted", "partial"):
        assert f'class="badge {cls}"' in html
    assert "nnhw fake --seed 0" in html and "@media print" in html


def test_markdown_report(tmp_path: Path) -> None:
    md = (run(tmp_path).rundir.path / "report.md").read_text()
    assert md.startswith("# Fake study\n")
    assert "## Findings" in md and "**[supported]**" in md and "![Loss against epoch" in md
    assert "&lt;script>alert(1)&lt;/script>" in md  # no raw HTML in the Markdown either
    assert md.index("## Findings") < md.index("## Losses") < md.index("## What was run")


def test_rebuild_gives_the_same_bytes(tmp_path: Path) -> None:
    first, second = run(tmp_path), run(tmp_path)
    a, b = digests(first.rundir.path), digests(second.rundir.path)
    for name in ("plots/loss.png", "plots/loss.svg", "tables/summary.csv", "tables/curve.md"):
        assert a[name] == b[name], name  # two runs, same seed: same plots and tables
    rebuild(first.rundir.path)
    assert digests(first.rundir.path) == a  # rebuilt from the saved tables: every byte equal


def test_interrupted_run_keeps_partial_tables_and_says_so(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(fake, "INTERRUPT_AFTER", 1)
    outcome = run(tmp_path)
    assert (outcome.status, outcome.exit_code) == ("interrupted", 130)
    path = outcome.rundir.path
    assert outcome.rundir.run_json()["status"] == "interrupted"
    assert (path / "tables" / "curve.csv").exists() and not (path / "tables/summary.csv").exists()
    html = (path / "report.html").read_text()
    assert "interrupted before it finished" in html and "summary" in html
    rebuild(path)
    assert "interrupted before it finished" in (path / "report.md").read_text()


def test_report_names_missing_tables_and_figures(tmp_path: Path) -> None:
    rd = run(tmp_path).rundir
    rep = Report("T", sections=[Section("S", tables=[("nope", "c")], figures=[("gone", "c")])])
    write_report(rd, rep, info={**rd.run_json(), "status": "interrupted"})
    md = (rd.path / "report.md").read_text()
    assert "Missing: table nope, figure gone." in md
    assert "Figure gone is missing" in (rd.path / "report.html").read_text()


def test_resume_refuses_changed_settings_and_continues(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(fake, "INTERRUPT_AFTER", 1)
    path = run(tmp_path).rundir.path
    with pytest.raises(NnhwError, match=r"--resume: settings differ from .*config.toml: epochs "
                                        r"was 5, now 6"):  # fmt: skip
        execute("fake", fake.Config(epochs=6), out=tmp_path, argv=[], resume=path)
    monkeypatch.setattr(fake, "INTERRUPT_AFTER", -1)
    outcome = execute("fake", fake.Config(), out=tmp_path, argv=[], resume=path)
    assert outcome.status == "completed" and outcome.rundir.path == path
    assert fake.CALLS[-1]["resume"] is True
    info = outcome.rundir.run_json()
    assert info["status"] == "completed" and len(info["resumes"]) == 1
    assert len(list(tmp_path.iterdir())) == 1  # no new run directory


def test_resume_of_another_command_is_refused(tmp_path: Path) -> None:
    path = run(tmp_path).rundir.path
    with pytest.raises(NnhwError, match="is a run of 'fake', not 'train'"):
        execute("train", fake.Config(), out=tmp_path, argv=[], resume=path)


def test_bad_input_in_compute_leaves_no_run_dir(tmp_path: Path) -> None:
    with pytest.raises(NnhwError, match="--csv"):
        run(tmp_path, fail="input")
    assert list(tmp_path.iterdir()) == []


def test_crash_in_compute_marks_failed(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError):
        run(tmp_path, fail="bug")
    (path,) = tmp_path.iterdir()
    info = (path / "run.json").read_text()
    assert '"status": "failed"' in info and "a bug in the study" in info
    assert "RuntimeError" in (path / "error.txt").read_text()


def test_diverged_status_exits_zero(tmp_path: Path) -> None:
    outcome = run(tmp_path, diverge=True)
    assert (outcome.status, outcome.exit_code) == ("diverged", 0)
    assert "Training diverged" in (outcome.rundir.path / "report.md").read_text()


def test_ctrl_c_while_drawing_keeps_the_tables_and_says_how_to_finish(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted_figures(tables, config):
        raise KeyboardInterrupt

    monkeypatch.setattr(fake, "figures", interrupted_figures)
    outcome = run(tmp_path)
    path = outcome.rundir.path
    assert (outcome.status, outcome.exit_code) == ("interrupted", 130)
    assert f"nnhw report {path}" in outcome.message
    assert RunDir.open(path).run_json()["status"] == "interrupted"
    assert (path / "tables").is_dir() and list((path / "tables").glob("*.csv"))
    assert not (path / "report.html").exists()
    monkeypatch.undo()
    monkeypatch.setitem(studies.STUDIES, "fake", "tests.experiments.report_fake_study")
    rebuild(path)  # what the message tells the user to run
    assert (path / "report.html").is_file() and list((path / "plots").glob("*.png"))
    assert RunDir.open(path).run_json()["headline"] == outcome.headline
