"""Shared CLI test helper: `invoke(*args) -> (exit_code, stdout, stderr)`.

Calls `cli.main.main(list(args))` in process, catches SystemExit, and captures both streams.
COLUMNS=100 and NO_COLOR keep rich output stable; stderr is not a terminal, so no progress bars.

    def test_help(invoke):
        code, out, err = invoke("train", "--help")
        assert code == 0, err
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.experiments import sweep_toy, toy_cli

Invoke = Callable[..., tuple[int, str, str]]


@pytest.fixture
def invoke(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Invoke:
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("FORCE_COLOR", raising=False)

    def run(*args: object) -> tuple[int, str, str]:
        from nnhw.cli.main import main

        capsys.readouterr()  # drop anything printed before this call
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def toy_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The sweep toy study as an `nnhw` command (tests.experiments.toy_cli); returns the folder
    where its cells leave a marker per computation (sweep_toy.marker_counts)."""
    from nnhw.cli.main import app
    from nnhw.experiments.runs import studies

    monkeypatch.setattr(app, "registered_commands", list(app.registered_commands))
    monkeypatch.setitem(studies.STUDIES, sweep_toy.COMMAND, sweep_toy.__name__)
    toy_cli.register(app)
    markers = tmp_path / "markers"
    markers.mkdir()
    monkeypatch.setenv("NNHW_TOY_MARKERS", str(markers))
    return markers
