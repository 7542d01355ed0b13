"""Running a study into a run directory, and rebuilding a run's figures and report.

`execute(command, config, *, out, argv, resume=None, **ctx_kwargs) -> Outcome`:
RunDir.create (or reopen with `resume`) -> study.compute -> tables -> figures -> report -> final
status in run.json. The process owns the run (RunDir's lock on run.lock) from creation or
resume until the final status is written. Statuses and exit codes:
- completed 0; diverged 0 (the study's optional `status(tables)` says so);
- interrupted 130 on Ctrl-C, 143 on SIGTERM (handled as Ctrl-C while a run works: the tables the
  study hands over in `Interrupted(tables)` are written, figures and report are drawn from them
  where possible, the report says what is missing). An interrupted run whose first unit of work
  (a sweep's cells, train's epochs) had not finished once says so as its headline: "none of the
  8 cells finished";
- failed 1 when sweep cells failed: with --keep-going the sweep lists them in run.json's
  `failed_cells` and the run keeps its other results; with --fail-fast the sweep raises
  SweepFailed (its message becomes `Outcome.message`, the report is built from nothing);
- failed 1 when the executor went away mid-sweep (executors.ExecutorLost: a Dask scheduler that
  died) or the disk filled up (OSError ENOSPC/EDQUOT while writing): one-line `Outcome.message`,
  the finished cells stay on disk for a resume;
- failed with the exception re-raised when compute raises; an NnhwError (bad input found while
  computing, e.g. an unreadable CSV) removes the fresh, still empty run directory first.
Duration: run.json's `duration_s` covers every session of the run (resumes add up) and every
stage, figures and report included; `report_duration_s` is the duration the report shows (up to
its own writing), recorded so that a rebuilt report has the same bytes.
Progress: besides the study's own bars, the stages after computing show theirs (tables, drawing
and saving figures, report).
Optional study hook `check(tables, config) -> str`: a non-empty message makes a completed run
exit 1 with that message (e.g. `nnhw verify --strict` when a verdict differs from the expected
one); the run's status stays completed and run.json records the message as `check_failed`.
Optional study hook `metrics(tables) -> dict` gives the numbers for `--json` (default: the single
row of a `summary` table, if there is one).

`resume`: the run directory of an earlier run of the same command. The lock is taken first
(another process working on it: NnhwError "--resume: <dir> is in use ..."), then the run is
checked: a completed run has nothing to resume; its config.toml must match the resolved config
exactly (otherwise NnhwError "--resume: settings differ from <dir>/config.toml: <key> was X, now
Y; ..."). Status goes back to running and compute gets `ctx.resume = True` to read finished
cells instead of recomputing them.

`rebuild(run_dir)`: figures and report again from config.toml and the saved tables, without
computing, holding the run's lock; the result equals the original byte for byte.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import importlib
import math
import os
import shlex
import shutil
import signal
import socket
import sys
import threading
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnhw.core.errors import NnhwError
from nnhw.experiments.runs import studies
from nnhw.experiments.runs.configfile import config_from_mapping, config_to_dict
from nnhw.experiments.runs.context import Interrupted, ProgressFactory, RunContext, no_progress
from nnhw.experiments.runs.rundir import RunDir, now_iso, run_status
from nnhw.experiments.runs.studies import Study

EXIT_CODES = {"completed": 0, "diverged": 0, "failed": 1, "interrupted": 130}
SIGTERM_EXIT = 143  # 128 + SIGTERM, as a shell reports a process that SIGTERM ended
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


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
    # RunDir.settings: a regular file within a size limit, of the right shape, or one line
    return rd.settings(command)


def resume_settings(path: Path, command: str) -> dict[str, Any]:
    """The settings (config.toml) of the run at `path` that --resume names: a run of
    `command` (NnhwError otherwise)."""
    rd = RunDir.open(Path(path))
    saved = rd.run_json().get("command")
    if saved != command:
        raise NnhwError(f"--resume: {path} is a run of {saved!r}, not {command!r}")
    return _saved_settings(rd, command)


def resume_command(command: str, path: Path) -> str:
    """The command line that resumes the run at `path`, quoted for a POSIX shell."""
    return f"nnhw {command} --resume {shlex.quote(str(path))}"


def _open_for_resume(path: Path, command: str, config: Any) -> RunDir:
    """The run at `path`, owned by this process and marked running again (module docstring)."""
    rd = RunDir.open(path)
    try:
        rd.acquire()  # first: two resumes started together cannot both pass the checks below
    except NnhwError as exc:
        raise NnhwError(f"--resume: {exc}") from None
    try:
        info = rd.run_json()
        if info.get("command") != command:
            raise NnhwError(
                f"--resume: {path} is a run of {info.get('command')!r}, not {command!r}"
            )
        if info.get("status") in ("completed", "diverged"):
            raise NnhwError(
                f"--resume: {path} has {info.get('status')}; there is nothing to resume "
                f"(nnhw report {shlex.quote(str(path))} draws its figures and report again)"
            )
        # Compared as configs, not as files: a setting the saved file leaves out (unset, or
        # added to nnhw since) is its default, as `--config <that file>` would read it.
        source = f"{rd.path / 'config.toml'} [{command}]"
        try:
            saved = config_from_mapping(type(config), _saved_settings(rd, command), source)
        except NnhwError as exc:
            raise NnhwError(f"--resume: {exc}") from None
        differ = [
            f"{f.name} was {getattr(saved, f.name)!r}, now {getattr(config, f.name)!r}"
            for f in dataclasses.fields(config)
            if getattr(saved, f.name) != getattr(config, f.name)
        ]
        if differ:
            raise NnhwError(
                f"--resume: settings differ from {rd.path / 'config.toml'}: " + "; ".join(differ)
            )
        resumes = info.get("resumes")
        resumes = [*(resumes if isinstance(resumes, list) else []), {"started": now_iso()}]
        rd.update(status="running", pid=os.getpid(), host=socket.gethostname(),
                  heartbeat=now_iso(), finished=None, resumes=resumes, error=None)  # fmt: skip
        previous = info.get("duration_s")
        if not isinstance(previous, int | float) or not 0 <= previous < math.inf:
            previous = 0.0  # none recorded (the session was killed before its first heartbeat)
        rd.start_clock(float(previous))
    except BaseException:
        rd.release()
        raise
    return rd


def _metrics(mod: Study, tables: dict[str, Any]) -> dict[str, Any]:
    if hasattr(mod, "metrics"):
        return dict(mod.metrics(tables))
    summary = tables.get("summary")
    if summary is not None and len(summary) == 1:
        return {str(k): v for k, v in summary.iloc[0].items()}
    return {}


def _safe_headline(mod: Study, tables: dict[str, Any]) -> str | None:
    """The study's headline, or None when the (partial) tables cannot give one."""
    try:
        return str(mod.headline(tables))
    except Exception:  # partial tables may lack what the headline needs
        return None


class _CountingProgress:
    """The progress factory a study sees: every bar passed on to `inner`, and the units each
    bar finished counted, so that an interrupted run can say how far it got."""

    def __init__(self, inner: ProgressFactory) -> None:
        self.inner = inner
        self.bars: list[tuple[str, int | None, list[int]]] = []  # (description, total, [done])

    def __call__(self, description: str, total: int | None) -> Any:
        done = [0]
        self.bars.append((description, total, done))
        tracker = self.inner(description, total)

        class Tracker:
            def advance(self, n: int = 1) -> None:
                done[0] += n
                tracker.advance(n)

            def close(self) -> None:
                tracker.close()

        return Tracker()

    def finished(self) -> tuple[int, str]:
        """How many units of the first kind (a sweep's cells, train's epochs) finished, and a
        sentence saying so: 'none of the 8 cells finished', '3 of 8 cells finished' ('3 cells
        finished' when several bars of that unit were opened); 'nothing finished' before any
        bar."""
        if not self.bars:
            return 0, "nothing finished"
        unit = self.bars[0][0]
        same = [(total, done[0]) for name, total, done in self.bars if name == unit]
        done = sum(n for _, n in same)
        total = same[0][0] if len(same) == 1 else None
        if done == 0:
            return 0, f"none of the {total} {unit} finished" if total else f"no {unit} finished"
        return done, f"{done} of {total} {unit} finished" if total else f"{done} {unit} finished"


def _headline(
    mod: Study, tables: dict[str, Any], status: str, counted: _CountingProgress | None = None
) -> str:
    """The headline `nnhw runs` shows: for an interrupted run that finished nothing, how far it
    got; else the study's; else, for an interrupted run, how far it got."""
    done, finished = counted.finished() if counted is not None else (0, "")
    interrupted = status == "interrupted" and counted is not None
    if interrupted and done == 0:
        return finished
    headline = _safe_headline(mod, tables)
    if headline is not None:
        return headline
    if interrupted:
        return finished
    return "partial results; no headline from them" if tables else "no results"


def _write_outputs(
    rd: RunDir,
    mod: Study,
    config: Any,
    tables: dict,
    info: dict,
    workers: int = 1,
    progress: ProgressFactory = no_progress,
) -> float | None:
    """Figures and report from `tables`; with partial tables, whatever can still be drawn.
    The figures are drawn and saved in the shared style (reporting.plotting.style), by up to
    `workers` processes (reporting.parallel_figures). `info` is run.json as the report shows
    it; when `rd` runs a clock, its `duration_s` is taken as the report starts, and that
    duration, the one the report shows, is returned (else None)."""
    # Imported here, not at the top: Matplotlib is needed only once a run has tables, and
    # `nnhw runs` / `nnhw --help` import this module without drawing anything.
    from nnhw.experiments.reporting.parallel_figures import save_figures
    from nnhw.experiments.reporting.plotting import style
    from nnhw.experiments.reporting.report import Finding, Report, Section, write_report

    partial = info.get("status") != "completed" and info.get("status") != "diverged"
    with style():
        bar = progress("drawing figures", None)
        try:
            figures = mod.figures(tables, config)
        except Exception:
            if not partial:
                raise
            figures = {}
        finally:
            bar.close()
        bar = progress("saving figures", len(figures))
        try:
            save_figures(rd, figures, workers, on_saved=bar.advance)
        finally:
            bar.close()
    bar = progress("report", None)
    try:
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
        started = rd.elapsed()
        if started is not None:
            info = {**info, "duration_s": started}
        write_report(rd, report, info=info)
    finally:
        bar.close()
    return started


def _write_tables(rd: RunDir, tables: dict[str, Any], progress: ProgressFactory) -> None:
    bar = progress("tables", len(tables))
    try:
        for name, df in tables.items():
            rd.write_table(name, df)
            bar.advance()
    finally:
        bar.close()


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[list[int]]:
    """While the block runs, SIGTERM is handled as Ctrl-C (KeyboardInterrupt in the main
    thread), once; the list says whether it came, for the exit code. Outside the main thread
    (where no handler can be set) nothing changes."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def handler(signum: int, frame: Any) -> None:
        if not received:  # a second SIGTERM while the run stops must not break the stopping
            received.append(signum)
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield received
    finally:
        signal.signal(signal.SIGTERM, previous)


def _disk_full(exc: OSError, rd: RunDir) -> str:
    return (
        f"{exc.strerror or os.strerror(exc.errno or 0)} while writing to {rd.path}; "
        "the finished sweep cells are kept"
    )


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
    else:
        seed = getattr(config, "seed", None)
        rd = RunDir.create(Path(out), command, argv, config_to_dict(config), seed)
        rd.start_clock()
    try:
        return _run(mod, config, rd, resume is not None, **ctx_kwargs)
    finally:
        rd.release()


def _run(mod: Study, config: Any, rd: RunDir, resumed: bool, **ctx_kwargs: Any) -> Outcome:
    counted = _CountingProgress(ctx_kwargs.pop("progress", no_progress))
    ctx = RunContext(rundir=rd, resume=resumed, progress=counted, **ctx_kwargs)
    if ctx.sweep.workers > 1 or ctx.sweep.dask is not None:
        _import_plotting_in_background()
    check = ""
    fields: dict[str, Any] = {}
    try:
        with _sigterm_as_interrupt() as received, rd.lifecycle():
            try:
                tables, status, message = _compute(mod, config, ctx, rd)
            except Exception:
                if not received:
                    raise
                tables, status, message = {}, "failed", ""
            if status == "failed" and received:
                # e.g. worker processes ended by the same SIGTERM (sent to the process group)
                status, message = "interrupted", ""
            failed = rd.run_json().get("failed_cells") or []
            if failed and status != "interrupted":
                status = "failed"
                message = message or f"{len(failed)} sweep cell(s) failed; see {rd.path}/run.json"
            stage = "tables"
            try:
                _write_tables(rd, tables, counted.inner)
                tables = rd.read_tables()  # what the report and a later rebuild both see
                if status == "completed" and hasattr(mod, "check"):
                    check = str(mod.check(tables, config))
                    if check:
                        fields["check_failed"] = check
                info = {**rd.run_json(), **fields, "status": status}
                stage = "figures"
                fields["report_duration_s"] = _write_outputs(
                    rd, mod, config, tables, info, ctx.sweep.workers, counted.inner
                )
            except KeyboardInterrupt:
                status = "interrupted"
                if stage == "figures":
                    # Every table is saved, so only the figures and report are missing, and
                    # `nnhw report` draws them without recomputing.
                    message = (
                        "interrupted while drawing the figures; the tables are saved: "
                        f"nnhw report {shlex.quote(str(rd.path))} draws the figures and report"
                    )
            except OSError as exc:
                if exc.errno not in DISK_FULL:
                    raise
                status, message = "failed", _disk_full(exc, rd)
            fields["headline"] = _headline(mod, tables, status, counted)  # for `nnhw runs`
            rd.finish(status, **({"error": message} if message else {}), **fields)
            if status in ("completed", "diverged"):
                # Nothing is left to resume and tables/ holds every cell's rows: cells/ goes
                # (an interrupted or failed run keeps it for --resume)
                rd.remove_cells()
    except NnhwError:
        # Bad input found while computing: a fresh run directory with nothing in it is noise.
        if not resumed and not any(rd.path.glob("[ct]*/*")):
            shutil.rmtree(rd.path, ignore_errors=True)
        raise
    code = 1 if check else EXIT_CODES[status]
    if status == "interrupted" and received:
        code = SIGTERM_EXIT
    return Outcome(
        rd,
        status,
        code,
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
    from nnhw.experiments.runs.executors import ExecutorLost
    from nnhw.experiments.runs.sweep import SweepFailed

    try:
        tables = mod.compute(config, ctx)
    except Interrupted as exc:
        return dict(exc.tables), "interrupted", ""
    except KeyboardInterrupt:
        return {}, "interrupted", ""
    except SweepFailed as exc:
        return {}, "failed", str(exc)
    except ExecutorLost as exc:
        return {}, "failed", f"{exc}; the finished sweep cells are kept"
    except NnhwError:
        raise
    except OSError as exc:
        if exc.errno in DISK_FULL:
            return {}, "failed", _disk_full(exc, rd)
        with contextlib.suppress(OSError):
            rd.write_text("error.txt", traceback.format_exc())
        raise
    except Exception:
        with contextlib.suppress(OSError):
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


def rebuild(run_dir: Path, progress: ProgressFactory = no_progress) -> RunDir:
    """Figures and report of `run_dir` again from its config.toml and tables, owning the run
    meanwhile (NnhwError when another process works on it)."""
    rd = RunDir.open(Path(run_dir))
    try:
        rd.acquire()
    except NnhwError:
        pid = ""
        with contextlib.suppress(NnhwError):
            pid = f" (pid {rd.run_json().get('pid')})"
        raise NnhwError(f"{rd.path} is still running{pid}; wait for it to end") from None
    try:
        info = rd.run_json()
        command = str(info.get("command", ""))
        mod = load_study(command, rd.path)
        source = f"{rd.path / 'config.toml'} [{command}]"
        config = config_from_mapping(mod.Config, _saved_settings(rd, command), source)
        tables = rd.read_tables()
        status = run_status(rd.path)
        info["status"] = "interrupted" if status == "running" else status  # we hold the lock
        shown = info.get("report_duration_s")
        if isinstance(shown, int | float):
            info["duration_s"] = shown  # the duration the original report showed
        _write_outputs(rd, mod, config, tables, info, progress=progress)
        headline = _safe_headline(mod, tables)
        if headline is not None:
            rd.update(headline=headline)  # `nnhw runs` shows the rebuilt one
    finally:
        rd.release()
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
        rd.finish(status, finished=info["finished"], headline=_headline(mod, saved, status))
    return rd
