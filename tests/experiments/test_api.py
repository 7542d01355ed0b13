"""nnhw.experiments.api: the README's example runs as written; a run's tables, findings, figures
and report; save gives a normal run directory that `nnhw report` and `api.load` read back;
importing the API touches no global Matplotlib state; bad settings are one NnhwError."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from nnhw.core.errors import NnhwError
from nnhw.experiments import api
from nnhw.experiments.runs.rundir import run_status

ROOT = Path(__file__).resolve().parents[2]
SMALL = {"task": "regression", "epochs": 3, "samples": 120, "hidden": (8,)}


def readme_example() -> str:
    text = (ROOT / "README.md").read_text("utf-8")
    match = re.search(r"<!-- api-example -->\s*```python\n(.*?)```", text, re.S)
    assert match, "README.md has no python block after <!-- api-example -->"
    return match.group(1)


def test_readme_example_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(readme_example(), "README.md", "exec"), namespace)  # the documented code
    result = namespace["result"]
    assert isinstance(result, api.Result)
    path = namespace["path"]
    assert isinstance(path, Path) and (path / "report.html").is_file()
    again = namespace["again"]
    assert isinstance(again, api.Result) and again.command == result.command


def test_run_gives_tables_findings_figures_report() -> None:
    result = api.run("train", **SMALL)
    assert result.command == "train" and result.path is None
    assert {"history", "milestones"} <= set(result.tables)
    assert len(result.tables["history"]) == 4  # epoch 0 and three epochs
    assert result.findings and all(f.text for f in result.findings)
    assert result.headline.startswith("test R")
    assert set(result.figures) == {"loss", "gradient_norms", "fit"}
    html = result._repr_html_()
    assert html.count("<img") == 3 and "nnhw train" in html
    assert result.report._repr_html_().startswith("<h2>")


def test_underscore_names_work_and_settings_are_listed() -> None:
    assert api.run("compare_activations", activations=("relu",), seeds=2, epochs=2,
                   samples=60, timing_repeats=1).command == "compare-activations"  # fmt: skip
    assert api.settings("vanishing-gradients")["depths"] is not None
    assert "verify" in api.commands()


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    result = api.run("train", **SMALL)
    path = result.save(tmp_path)
    assert result.path == path and run_status(path) == "completed"
    assert (path / "config.toml").is_file() and (path / "plots" / "loss.png").is_file()
    loaded = api.load(path)
    assert loaded.command == "train" and loaded.config == result.config
    assert loaded.headline == result.headline
    assert [f.text for f in loaded.findings] == [f.text for f in result.findings]
    by_id = api.load(path.name[:15], out=tmp_path)  # an id prefix, as on the command line
    assert by_id.path == path
    report = subprocess.run(
        [sys.executable, "-m", "nnhw.cli", "report", str(path)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert report.returncode == 0, report.stderr


def test_bad_settings_are_one_error() -> None:
    with pytest.raises(NnhwError, match="unknown setting"):
        api.run("train", epoch=3)
    with pytest.raises(NnhwError, match="--lr must be"):
        api.run("train", lr=-1.0)
    with pytest.raises(NnhwError, match="unknown study"):
        api.run("train-everything")


def test_importing_the_api_changes_no_global_state() -> None:
    code = (
        "import sys, matplotlib; before = dict(matplotlib.rcParams); "
        "backend = matplotlib.get_backend(); "
        "from nnhw.experiments import api; "
        "assert 'matplotlib.pyplot' not in sys.modules; "
        "r = api.run('train', task='regression', epochs=1, samples=60, hidden=(4,)); "
        "r.figures; "
        "assert dict(matplotlib.rcParams) == before, 'rcParams changed'; "
        "assert matplotlib.get_backend() == backend; print('ok')"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
        env={"MPLBACKEND": "svg", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr
