"""Running a study into a run directory, and rebuilding a run's figures and report.

`execute(command, config, *, out, argv, resume=None, **ctx_kwargs) -> Outcome`:
RunDir.create (or reopen with `resume`) -> study.compute -> tables -> figures -> report -> final
status in run.json. Statuses and exit codes:
- completed 0; diverged 0 (the study's optional `status(tables)` says so);
- interrupted 130 (Ctrl-C: the tables the study hands over in `Interrupted(tables)` are written,
  figures and report are drawn from them where possible, the report says what is missing);
- failed 1 when sweep cells failed: with --keep-going the sweep lists them in run.json's
  `failed_cells` and the run keeps its other results; with --fail-fast the sweep raises
  SweepFailed (its message becomes `Outcome.message`, the report is built from nothing);
- failed with the exception re-raised when compute raises; an NnhwError (bad input found while
  computing, e.g. an unreadable CSV) removes the fresh, still empty run directory first.
Optional study hook `check(tables, config) -> str`: a non-empty message makes a completed run
exit 1 with that message (e.g. `nnhw verify --strict` when a verdict differs from the expected
one); the run's status stays completed and run.json records the message as `check_failed`.
Optional study hook `metrics(tables) -> dict` gives the numbers for `--json` (default: the single
row of a `summary` table, if there is one).

`resume`: the run directory of an earlier run of the same command. Its config.toml must match
the resolved config exactly (otherwise NnhwError "--resume: settings differ from
<dir>/config.toml: <key> was X, now Y"); status goes back to running and compute gets
`ctx.resume = True` to read finished cells instead of recomputing them.

`rebuild(run_dir)`: figures and report again from config.toml and the saved tables, without
computing; the result equals the original byte for byte.
"""

from __future__ import annotations

import importlib
import os
import shutil
import socket
import sys
import threading
import time
import tomllib
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnhw.core.errors import NnhwError
from nnhw.experiments.runs import studies
from nnhw.experiments.runs.configfile import config_from_mapping, config_to_dict, dump_config_toml
from nnhw.experiments.runs.context import Interrupted, RunContext
from nnhw.experiments.runs.rundir import RunDir, now_iso, run_status
from nnhw.experiments.runs.studies import Study

EXIT_CODES = {"completed": 0, "diverged": 0, "failed": 1, "interrupted": 130}


@dataclass
class Outcome:
    rundir: RunDir
    status: str
    exit_code: int
    headline: str
    metrics: dict[str, Any] = field(default_factory=dict)
    message: str = ""  # why the run failed, when it did without an exception escaping
    summary: Any = None  # the run's `summary` table (a DataFrame), if it has one


def _saved_settings(rd: RunDir, command: str) -> dict[str, Any]:
    try:
        data = tomllib.loads((rd.path / "config.toml").read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise NnhwError(f"--resume: cannot read {rd.path / 'config.toml'}: {exc}") from None
    return dict(data.get(command, {}))


def _open_for_resume(path: Path, command: str, config: Any) -> RunDir:
    rd = RunDir.open(path)
    info = rd.run_json()
    if info.get("command") != command:
        raise NnhwError(f"--resume: {path} is a run of {info.get('command')!r}, not {command!r}")
    if run_status(path) == "running":
        raise NnhwError(f"--resume: {path} is still running (pid {info.get('pid')})")
    old = _saved_settings(rd, command)
    new = tomllib.loads(dump_config_toml(command, config_to_dict(config))).get(command, {})
    for key in list(dict.fromkeys([*new, *old])):
        if old.get(key) != new.get(key):
            was, now = old.get(key, "(unset)"), new.get(key, "(unset)")
            raise NnhwError(
                f"--resume: settings differ from {rd.path / 'config.toml'}: "
                f"{key} was {was!r}, now {now!r}"
            )
    resumes = [*info.get("resumes", []), {"started": now_iso()}]
    rd.update(status="running", pid=os.getpid(), host=socket.gethostname(), heartbeat=now_iso(),
              finished=None, resumes=resumes, error=None)  # fmt: skip
    return rd


def _metrics(mod: Study, tables: dict[str, Any]) -> dict[str, Any]:
    if hasattr(mod, "metrics"):
        return dict(mod.metrics(tables))
    summary = tables.get("summary")
    if summary is not None and len(summary) == 1:
        return {str(k): v for k, v in summary.iloc[0].items()}
    return {}


def _safe_headline(mod: Study, tables: dict[str, Any]) -> str:
    try:
        return str(mod.headline(tables))
    except Exception as exc:  # partial tables may lack what the headline needs
        return f"(no headline: {type(exc).__name__})"


def _write_outputs(
    rd: RunDir, mod: Study, config: Any, tables: dict, info: dict, workers: int = 1
) -> None:
    """Figures and report from `tables`; with partial tables, whatever can still be drawn.
    The figures are drawn and saved in the shared style (reporting.plotting.style), by up to
    `workers` processes (reporting.parallel_figures)."""
    # Imported here, not at the top: Matplotlib is needed only once a run has tables, and
    # `nnhw runs` / `nnhw --help` import this module without drawing anything.
    from nnhw.experiments.reporting.parallel_figures import save_figures
    from nnhw.experiments.reporting.plotting import style
    from nnhw.experiments.reporting.report import Finding, Report, Section, write_report

    partial = info.get("status") != "completed" and info.get("status") != "diverged"
    with style():
        try:
            figures = mod.figures(tables, config)
        except Exception:
            if not partial:
                raise
            figures = {}
        save_figures(rd, figures, workers)
    try:
        report = mod.report(tables, config)
    except Exception as exc:
        if not partial:
            raise
        names = ", ".join(tables) or "none"
        report = Report(
            title=f"nnhw {mod.COMMAND} (incomplete run)",
            summary=f"The full report could not be built from the partial data ({exc}).",
            findings=[Finding(f"Tables saved before the run stopped: {names}.")],
            sections=[Section("Saved tables", tables=[(n, n) for n in tables])],
        )
    write_report(rd, report, info=info)


def execute(
    command: str,
    config: Any,
    *,
    out: Path,
    argv: list[str],
    resume: Path | None = None,
    **ctx_kwargs: Any,
) -> Outcome:
    """Run `command`'s study with `config` into a run directory (see the module docstring)."""
    mod = studies.load(command)
    if resume is not None:
        rd = _open_for_resume(Path(resume), command, config)
        previous = float(rd.run_json().get("duration_s") or 0.0)
    else:
        seed = getattr(config, "seed", None)
        rd = RunDir.create(Path(out), command, argv, config_to_dict(config), seed)
        previous = 0.0
    ctx = RunContext(rundir=rd, resume=resume is not None, **ctx_kwargs)
    if ctx.sweep.workers > 1 or ctx.sweep.dask is not None:
        _import_plotting_in_background()
    t0 = time.perf_counter()
    try:
        with rd.lifecycle():
            tables, status, message = _compute(mod, config, ctx, rd)
            fields: dict[str, Any] = {
                "finished": now_iso(),
                "duration_s": round(previous + time.perf_counter() - t0, 3),
            }
            failed = rd.run_json().get("failed_cells") or []
            if failed and status != "interrupted":
                status = "failed"
                message = message or f"{len(failed)} sweep cell(s) failed; see {rd.path}/run.json"
            for name, df in tables.items():
                rd.write_table(name, df)
            tables = rd.read_tables()  # what the report and a later rebuild both see
            check = ""
            if status == "completed" and hasattr(mod, "check"):
                check = str(mod.check(tables, config))
                if check:
                    fields["check_failed"] = check
            info = {**rd.run_json(), **fields, "status": status}
            try:
                _write_outputs(rd, mod, config, tables, info, ctx.sweep.workers)
            except KeyboardInterrupt:
                # Ctrl-C while drawing: every table is saved, so only the figures and report
                # are missing, and `nnhw report` can draw them without recomputing.
                status = "interrupted"
                message = (
                    f"interrupted while drawing the figures; the tables are saved: "
                    f"nnhw report {rd.path} draws the figures and report"
                )
            fields["headline"] = _safe_headline(mod, tables)  # for `nnhw runs`
            rd.finish(status, **({"error": message} if message else {}), **fields)
    except NnhwError:
        # Bad input found while computing: a fresh run directory with nothing in it is noise.
        if resume is None and not any(rd.path.glob("[ct]*/*")):
            shutil.rmtree(rd.path, ignore_errors=True)
        raise
    return Outcome(
        rd,
        status,
        1 if check else EXIT_CODES[status],
        fields["headline"],
        _metrics(mod, tables),
        message=check or message,
        summary=tables.get("summary"),
    )


def _import_plotting_in_background() -> None:
    """While other processes compute a sweep's cells, this one only waits: import Matplotlib
    (half a second) meanwhile, which the figures need afterwards. Import locks make it safe to
    import the same module from the main thread at the same time."""
    if "nnhw.experiments.reporting.plotting" not in sys.modules:
        threading.Thread(
            target=importlib.import_module,
            args=("nnhw.experiments.reporting.plotting",),
            daemon=True,
        ).start()


def _compute(mod: Study, config: Any, ctx: RunContext, rd: RunDir) -> tuple[dict, str, str]:
    """The study's tables, status and a message; Ctrl-C gives the tables finished so far."""
    # The sweep engine imports pandas: only a computing run needs it, not `nnhw runs`.
    from nnhw.experiments.runs.sweep import SweepFailed

    try:
        tables = mod.compute(config, ctx)
    except Interrupted as exc:
        return dict(exc.tables), "interrupted", ""
    except KeyboardInterrupt:
        return {}, "interrupted", ""
    except SweepFailed as exc:
        return {}, "failed", str(exc)
    except NnhwError:
        raise
    except Exception:
        rd.write_text("error.txt", traceback.format_exc())
        raise
    status = str(mod.status(tables)) if hasattr(mod, "status") else "completed"
    return tables, status, ""


def load_study(command: str, path: Path) -> Study:
    """The study module of a saved run (NnhwError when this nnhw has no such command)."""
    try:
        return studies.load(command)
    except ImportError as exc:
        raise NnhwError(f"{path}: the {command!r} study is not available ({exc})") from None


def rebuild(run_dir: Path) -> RunDir:
    """Figures and report of `run_dir` again from its config.toml and tables."""
    rd = RunDir.open(Path(run_dir))
    info = rd.run_json()
    command = str(info.get("command", ""))
    mod = load_study(command, rd.path)
    source = f"{rd.path / 'config.toml'} [{command}]"
    config = config_from_mapping(mod.Config, _saved_settings(rd, command), source)
    tables = rd.read_tables()
    info["status"] = run_status(rd.path)
    if info["status"] == "running":
        raise NnhwError(f"{rd.path} is still running (pid {info.get('pid')}); wait for it to end")
    _write_outputs(rd, mod, config, tables, info)
    rd.update(headline=_safe_headline(mod, tables))  # `nnhw runs` shows the rebuilt one
    return rd


def save_run(command: str, config: Any, tables: dict[str, Any], *, out: Path) -> RunDir:
    """A run directory for tables computed elsewhere (the Python API's `Result.save`): the same
    files as a command writes, its argv the command that repeats it from its own config.toml."""
    mod = studies.load(command)
    seed = getattr(config, "seed", None)
    rd = RunDir.create(Path(out), command, [], config_to_dict(config), seed)
    rd.update(argv=[command, "--config", str(rd.path / "config.toml")])
    with rd.lifecycle():
        for name, df in tables.items():
            rd.write_table(name, df)
        saved = rd.read_tables()
        status = str(mod.status(saved)) if hasattr(mod, "status") else "completed"
        info = {**rd.run_json(), "status": status, "finished": now_iso(), "duration_s": None}
        _write_outputs(rd, mod, config, saved, info)
        rd.finish(status, finished=info["finished"], headline=_safe_headline(mod, saved))
    return rd
