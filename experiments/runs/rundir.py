"""The run directory: one folder per run, every file in it written atomically.

Layout (results/README.md documents it for users):
    <out>/<YYYYMMDD-HHMMSS>-<command>[-N]/
        run.json      id, command, argv, status, started/finished, duration_s, pid, host,
                      heartbeat, seed, versions (nnhw, python, numpy)
        config.toml   the resolved settings, one `[<command>]` table
        cells/        finished sweep cells (written by experiments.sweep; removed once the run
                      has completed, when nothing is left to resume)
        tables/       <name>.csv (exact floats) and <name>.md beside it; a table whose CSV is
                      over PLAIN_TABLE_BYTES as <name>.csv.bz2 alone
        plots/        <name>.png and <name>.svg (deterministic bytes)
        report.md, report.html

Statuses: running, completed, failed, interrupted, diverged. `run_status(path)` also answers
"interrupted" for a run whose run.json says running but whose process is gone, and "broken" when
run.json is missing or unreadable.

One owner per run: the process that creates (or resumes, or rebuilds) a run holds an exclusive
`flock` on `run.lock` in its folder for as long as it works on it (`RunDir.acquire`/`release`;
`create` acquires it before run.json exists). The OS drops the lock when the process dies, however
it dies, so `run_status` tells a live run from a dead one by the lock, not by the recorded pid
(which another process may have reused); only a folder without run.lock (older runs) or where
the lock cannot be checked falls back to the pid (same host) and heartbeat (other hosts) rules.

Duration: `start_clock(previous)` starts this session's clock on top of the seconds earlier
sessions recorded; every heartbeat and `finish` write `duration_s` = previous + this session so
far, so a session that was killed still counts up to its last heartbeat.

Every write goes to a temporary file in the same folder and is renamed over the target with
`os.replace`, so a crash leaves either the old file or the new one, never half a file; files get
mode 0o666 and folders 0o777 minus the umask, like any file the user writes.

A run folder may come from someone else: every read and write goes through
experiments.runs.safefs (no link followed, nothing but regular files opened, size limits), and
`RunDir.open` refuses a folder holding a link or special file anywhere, with one line naming it.
run.json's fields are checked against RUN_FIELDS and config.toml's shape by `settings`: a file
of the wrong shape is one line (NnhwError), never a traceback.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import platform
import socket
import stat
import threading
import time
import tomllib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nnhw.core import __version__
from nnhw.core.errors import NnhwError
from nnhw.experiments.reporting.html import markdown_table
from nnhw.experiments.runs import safefs
from nnhw.experiments.runs.configfile import dump_config_toml

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

STATUSES = ("running", "completed", "failed", "interrupted", "diverged")
HEARTBEAT_SECONDS = 30.0  # how often a running run refreshes its heartbeat
STALE_SECONDS = 300.0  # a run on another host with an older heartbeat counts as interrupted
PLAIN_TABLE_BYTES = 256 * 1024  # larger tables: .csv.bz2, no Markdown copy (write_table)
LOCK_FILE = "run.lock"  # held (flock) by the process working on the run
LOCK_WAIT_SECONDS = 0.5  # acquire retries this long: a status probe holds the lock for microseconds

try:  # POSIX; elsewhere no lock is taken and the pid/heartbeat rules decide
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a temporary file in the same folder and os.replace (the
    umask applies). For a file outside a run folder; inside one, RunDir.write_bytes."""
    safefs.write_path(Path(path), data)


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` (UTF-8, newlines as given) atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def now_iso() -> str:
    """The local time with its UTC offset, to the second (ISO 8601)."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


def _jsonable(obj: Any) -> Any:
    """Plain JSON values: NumPy scalars to Python, tuples to lists, NaN and inf to None."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "shape", None) == ():
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def dumps_json(obj: Any) -> str:
    return json.dumps(_jsonable(obj), indent=2, ensure_ascii=False) + "\n"


def _versions() -> dict[str, str]:

    # NumPy only for its version, when a run is created: `nnhw runs` reads run folders without it.
    import numpy as np

    return {"nnhw": __version__, "python": platform.python_version(), "numpy": np.__version__}


class RunDir:
    """One run's folder. Create with `RunDir.create`, reopen with `RunDir.open`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.id = self.path.name
        self.cells_dir = self.path / "cells"
        self._lock = threading.Lock()
        self._lock_fd: int | None = None  # run.lock, while this object owns the run
        self._clock: tuple[float, float] | None = None  # (earlier sessions' s, monotonic start)

    # -- creation ---------------------------------------------------------------------------
    @classmethod
    def create(
        cls, out: Path, command: str, argv: list[str], config: dict[str, Any], seed: int | None
    ) -> RunDir:
        """Make `<out>/<YYYYMMDD-HHMMSS>-<command>[-N]/` with run.json and config.toml."""

        out = Path(out)
        if out.exists() and not out.is_dir():
            raise NnhwError(f"--out: {out} exists and is not a directory")
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise NnhwError(f"--out: cannot create {out}: {exc.strerror or exc}") from None
        if not os.access(out, os.W_OK | os.X_OK):
            raise NnhwError(f"--out: {out} is not writable")
        stamp = time.strftime("%Y%m%d-%H%M%S")
        base = f"{stamp}-{command}"
        for n in range(1, 10_000):
            path = out / (base if n == 1 else f"{base}-{n}")
            try:
                path.mkdir()  # exclusive: two runs started in the same second get -2, -3, ...
                break
            except FileExistsError:
                continue
            except OSError as exc:
                raise NnhwError(f"--out: cannot create {path}: {exc.strerror or exc}") from None
        else:  # pragma: no cover - 10 000 runs in one second
            raise NnhwError(f"--out: too many runs named {base} in {out}")
        rd = cls(path)
        rd.acquire()  # before run.json says "running": the lock is what proves it
        started = now_iso()
        info = {
            "id": rd.id,
            "command": command,
            "argv": list(argv),
            "status": "running",
            "started": started,
            "finished": None,
            "duration_s": None,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "heartbeat": started,
            "seed": seed,
            "versions": _versions(),
        }
        rd._write_run_json(info)
        rd.write_text("config.toml", dump_config_toml(command, config))
        return rd

    @classmethod
    def open(cls, path: Path) -> RunDir:
        """An existing run directory (it must hold run.json or config.toml). Refused with one
        line naming the entry when the folder is a link or holds, anywhere, a link or anything
        but regular files and folders (experiments.runs.safefs)."""
        path = Path(path)
        try:
            mode = os.stat(path, follow_symlinks=False).st_mode
        except FileNotFoundError:
            raise NnhwError(f"{path} is not a run directory (no such folder)") from None
        except OSError as exc:
            raise NnhwError(f"{path}: cannot read ({exc.strerror or exc})") from None
        if stat.S_ISREG(mode):
            raise NnhwError(f"{path} is not a run directory (a file)")
        safefs.check_tree(path)
        if not safefs.is_file(path, "run.json") and not safefs.is_file(path, "config.toml"):
            raise NnhwError(f"{path} is not a run directory (no run.json or config.toml)")
        return cls(path)

    # -- run.json and config.toml -----------------------------------------------------------
    def run_json(self) -> dict[str, Any]:
        """The parsed run.json, its fields checked against RUN_FIELDS (NnhwError naming the file
        when it is missing, unreadable, too large or of the wrong shape)."""
        file = self.path / "run.json"
        data = self._parse(
            "run.json", safefs.LIMITS["run.json"], "run.json", json.loads,
            json.JSONDecodeError, "unreadable (not JSON: {})",
        )  # fmt: skip
        check_run_info(data, str(file))
        return data

    def _parse(
        self, name: str, limit: int, what: str, parse: Any, bad: type[Exception], bad_text: str
    ) -> Any:
        """`parse` of the UTF-8 text of the file `name` in the run folder, read safely (no
        link, regular file, at most `limit` bytes); every failure is one NnhwError naming the
        file (`bad_text` with the parser's message for a `bad` error)."""
        file = self.path / name
        try:
            return parse(safefs.read(self.path, name, limit, what).decode("utf-8"))
        except FileNotFoundError:
            raise NnhwError(f"{file}: missing") from None
        except UnicodeDecodeError:
            raise NnhwError(f"{file}: unreadable (not UTF-8 text)") from None
        except bad as exc:
            raise NnhwError(f"{file}: " + bad_text.format(exc)) from None
        except RecursionError:
            raise NnhwError(f"{file}: unreadable (nested too deeply)") from None
        except OSError as exc:
            raise NnhwError(f"{file}: unreadable ({exc.strerror or exc})") from None

    def _write_run_json(self, info: dict[str, Any]) -> None:
        self.write_text("run.json", dumps_json(info))

    def settings(self, command: str) -> dict[str, Any]:
        """The `[<command>]` table of config.toml (NnhwError naming the file when it is
        missing, unreadable, larger than a config file may be, or of the wrong shape)."""
        file = self.path / "config.toml"
        data = self._parse(
            "config.toml", safefs.LIMITS["config"], "a config file", tomllib.loads,
            tomllib.TOMLDecodeError, "not valid TOML ({})",
        )  # fmt: skip
        others = [k for k in data if k != command]
        if others:
            raise NnhwError(f"{file}: unknown table {others[0][:40]!r} (only [{command}] belongs)")
        table = data.get(command)
        if not isinstance(table, dict):
            what = "missing" if table is None else "not a table"
            raise NnhwError(f"{file}: the [{command}] table is {what}")
        return dict(table)

    def update(self, **fields: Any) -> dict[str, Any]:
        """Merge `fields` into run.json; returns the new content."""
        with self._lock:
            info = self.run_json()
            info.update(fields)
            self._write_run_json(info)
            return info

    def heartbeat(self) -> None:
        """Record that the run is alive now (and its duration so far, once the clock runs)."""
        fields: dict[str, Any] = {"heartbeat": now_iso()}
        if self._clock is not None:
            fields["duration_s"] = self.elapsed()
        self.update(**fields)

    # -- ownership and duration -------------------------------------------------------------
    def acquire(self) -> None:
        """Own the run: an exclusive lock on run.lock, held until `release` or the end of this
        process (module docstring). NnhwError when another process holds it."""
        if self._lock_fd is not None or fcntl is None:
            return
        fd = _open_lock(self.path, create=True)
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() < deadline:
                    time.sleep(0.02)
                    continue
                os.close(fd)
                pid = ""
                with contextlib.suppress(NnhwError):
                    pid = f" (pid {self.run_json().get('pid')})"
                raise NnhwError(
                    f"{self.path} is in use by another nnhw process{pid}; wait for it to end"
                ) from None
            except OSError as exc:  # e.g. ENOLCK: a file system without locks
                os.close(fd)
                raise NnhwError(f"{self.path / LOCK_FILE}: cannot lock ({exc.strerror})") from None
        self._lock_fd = fd

    def release(self) -> None:
        """Give up the run's lock (a no-op when not held)."""
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            os.close(fd)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.release()

    def start_clock(self, previous: float = 0.0) -> None:
        """Start this session's clock on top of `previous` seconds of earlier sessions."""
        self._clock = (float(previous), time.monotonic())

    def elapsed(self) -> float | None:
        """Seconds of every session so far (None before `start_clock`)."""
        if self._clock is None:
            return None
        return round(self._clock[0] + time.monotonic() - self._clock[1], 3)

    def finish(self, status: str, **fields: Any) -> dict[str, Any]:
        """Set the final status; `finished` and `duration_s` default to now / since started."""
        if status not in STATUSES:
            raise ValueError(f"unknown run status {status!r}")
        now = now_iso()
        fields.setdefault("finished", now)
        if "duration_s" not in fields and self._clock is not None:
            fields["duration_s"] = self.elapsed()
        if "duration_s" not in fields:
            info = self.run_json()
            try:
                start = datetime.fromisoformat(info["started"])
                end = datetime.fromisoformat(fields["finished"])
                fields["duration_s"] = round((end - start).total_seconds(), 3)
            except (KeyError, TypeError, ValueError):
                fields["duration_s"] = None
        return self.update(status=status, heartbeat=now, **fields)

    @contextlib.contextmanager
    def lifecycle(self, heartbeat_seconds: float = HEARTBEAT_SECONDS) -> Iterator[RunDir]:
        """Own the run and keep the heartbeat fresh while the block runs; then completed (unless
        the block set a final status itself), interrupted on Ctrl-C, failed on any other
        exception. The lock is released when the block ends, whatever the outcome. When the
        final status cannot be written (a full disk), the block's own exception still escapes;
        the released lock then shows the run as interrupted."""
        self.acquire()
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(heartbeat_seconds):
                with contextlib.suppress(NnhwError, OSError):
                    self.heartbeat()

        thread = threading.Thread(target=beat, name=f"heartbeat-{self.id}", daemon=True)
        thread.start()
        try:
            yield self
        except KeyboardInterrupt:
            stop.set()
            with contextlib.suppress(OSError, NnhwError):
                self.finish("interrupted")
            raise
        except BaseException as exc:
            stop.set()
            with contextlib.suppress(OSError, NnhwError):
                self.finish("failed", error=f"{type(exc).__name__}: {exc}")
            raise
        else:
            stop.set()
            if self.run_json().get("status") == "running":
                self.finish("completed")
        finally:
            stop.set()
            thread.join()
            self.release()

    # -- tables, figures, files -------------------------------------------------------------
    def write_table(self, name: str, df: pd.DataFrame) -> None:
        """tables/<name>.csv (floats written exactly) and tables/<name>.md beside it; a table
        whose CSV is larger than PLAIN_TABLE_BYTES is written as tables/<name>.csv.bz2 alone
        (no Markdown copy: the report shows its first rows and links the file). A variant left
        by an earlier write of the same table (an interrupted run's partial table) is removed."""
        csv = df.to_csv(index=False).encode("utf-8")
        if len(csv) <= PLAIN_TABLE_BYTES:
            files = {f"{name}.csv": csv, f"{name}.md": (markdown_table(df) + "\n").encode()}
        else:
            files = {f"{name}.csv.bz2": _bz2().compress(csv, 9)}
        for stale in (f"{name}{suffix}" for suffix in (".csv", ".md", ".csv.bz2")):
            if stale not in files:
                safefs.unlink(self.path, f"tables/{stale}")
        for file, data in files.items():
            self.write_bytes(f"tables/{file}", data)

    def table_file(self, name: str) -> str | None:
        """The path of table `name`'s data file in the run folder ('tables/<name>.csv' or
        'tables/<name>.csv.bz2'), or None when the run has no such table."""
        for suffix in (".csv.bz2", ".csv"):
            if safefs.is_file(self.path, f"tables/{name}{suffix}"):
                return f"tables/{name}{suffix}"
        return None

    def read_tables(self) -> dict[str, pd.DataFrame]:
        """Every table of tables/ (<name>.csv or <name>.csv.bz2), by name (sorted); floats
        round-trip exactly. UnsafeEntry for a link or special file in tables/, NnhwError for a
        table larger than safefs.LIMITS["table"] (compressed or not) or unreadable."""
        # pandas (a third of a second) only where tables are read: `nnhw runs` reads run.json alone
        import io

        import pandas as pd

        limit = safefs.LIMITS["table"]
        tables = {}
        for file in safefs.files(self.path, "tables"):
            if not file.endswith((".csv", ".csv.bz2")):
                continue
            rel = f"tables/{file}"
            try:
                if file.endswith(".bz2"):
                    packed = safefs.read(self.path, rel, limit, "a table")
                    unpacker = _bz2().BZ2Decompressor()
                    csv = unpacker.decompress(packed, max_length=limit + 1)
                    if len(csv) > limit:
                        raise NnhwError(f"{self.path / rel}: expands to more than nnhw reads for "
                                        f"a table (at most {safefs.size_text(limit)})")  # fmt: skip
                    if not unpacker.eof:
                        raise ValueError("the compressed data end early")
                    df = pd.read_csv(io.BytesIO(csv))
                else:
                    with safefs.open_binary(self.path, rel, limit, "a table") as fh:
                        df = pd.read_csv(fh)
            except pd.errors.EmptyDataError:
                df = pd.DataFrame()
            except (OSError, ValueError, pd.errors.ParserError) as exc:
                raise NnhwError(f"{self.path / rel}: unreadable table ({exc})") from None
            tables[file.removesuffix(".bz2").removesuffix(".csv")] = df
        return tables

    def write_figure(self, name: str, fig: Figure) -> None:
        """plots/<name>.png and plots/<name>.svg with deterministic bytes; closes the figure."""
        # Matplotlib only when a figure is saved
        from nnhw.experiments.reporting.plotting import close_figure, figure_bytes

        try:
            png, svg = figure_bytes(fig)
        finally:
            close_figure(fig)
        self.write_bytes(f"plots/{name}.png", png)
        self.write_bytes(f"plots/{name}.svg", svg)

    def has_figure(self, name: str) -> bool:
        """Whether plots/<name>.png is there (a regular file, reached without links)."""
        return safefs.is_file(self.path, f"plots/{name}.png")

    def read_figure(self, name: str) -> bytes:
        """The bytes of plots/<name>.png (checked and limited as every read in a run folder)."""
        return safefs.read(self.path, f"plots/{name}.png", safefs.LIMITS["figure"], "a figure")

    def remove_cells(self) -> None:
        """Delete cells/ (a finished run's tables hold every cell's rows; only a run that can
        still be resumed needs its cells)."""
        safefs.remove_folder(self.path, "cells")

    def write_bytes(self, relpath: str, data: bytes) -> None:
        """`data` into the file `relpath` of the run folder: atomically, folders created, no
        link followed (experiments.runs.safefs)."""
        safefs.write(self.path, relpath, data)

    def write_json(self, relpath: str, obj: Any) -> None:
        self.write_text(relpath, dumps_json(obj))

    def write_text(self, relpath: str, text: str) -> None:
        self.write_bytes(relpath, text.encode("utf-8"))


def _bz2() -> Any:
    """The bz2 module, imported when a large table is written or read (not by `nnhw runs`)."""
    # Imported here: only large tables need it, and a Python built without libbz2 still runs
    # everything else
    import bz2

    return bz2


# The fields of run.json that nnhw reads, with the JSON types each may hold (None: null); a
# run.json with another type in one of them is refused with one line (it may come from someone
# else). Other fields are kept as they are and never interpreted.
_NULL = type(None)
RUN_FIELDS: dict[str, tuple[type, ...]] = {
    "id": (str,),
    "command": (str,),
    "argv": (list,),
    "status": (str,),
    "started": (str, _NULL),
    "finished": (str, _NULL),
    "duration_s": (int, float, _NULL),
    "report_duration_s": (int, float, _NULL),
    "pid": (int, _NULL),
    "host": (str, _NULL),
    "heartbeat": (str, _NULL),
    "seed": (int, _NULL),
    "versions": (dict,),
    "headline": (str, _NULL),
    "error": (str, _NULL),
    "failed_cells": (list, _NULL),
    "resumes": (list,),
    "check_failed": (str, _NULL),
    "sweeps": (dict,),
}
# What the items of a list (or the values of an object) field must be.
_ITEMS: dict[str, type] = {
    "argv": str,
    "versions": str,
    "failed_cells": dict,
    "resumes": dict,
    "sweeps": dict,
}
_JSON_NAMES = {str: "a string", int: "a number", float: "a number", list: "a list",
               dict: "an object", bool: "true/false", _NULL: "null"}  # fmt: skip


def check_run_info(info: Any, source: str) -> None:
    """NnhwError (one line naming `source` and the field) unless `info` is a JSON object whose
    fields in RUN_FIELDS have the types listed there."""
    if not isinstance(info, dict):
        raise NnhwError(f"{source}: not a JSON object ({_JSON_NAMES.get(type(info), 'a value')})")
    for key, types in RUN_FIELDS.items():
        if key not in info:
            continue
        value = info[key]
        ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
        items = _ITEMS.get(key)
        if ok and items is not None:
            values = value.values() if isinstance(value, dict) else value
            ok = not isinstance(value, list | dict) or all(isinstance(v, items) for v in values)
            if not ok:
                noun = _JSON_NAMES[items].split(" ", 1)[1]
                outer = "an object" if isinstance(value, dict) else "a list"
                raise NnhwError(f"{source}: field {key!r} must be {outer} of {noun}s")
        if not ok:
            want = " or ".join(dict.fromkeys(_JSON_NAMES[t] for t in types))
            got = _JSON_NAMES.get(type(value), "another value")
            raise NnhwError(f"{source}: field {key!r} must be {want}, not {got}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OSError, OverflowError, ValueError):
        return False
    return True


def _open_lock(folder: Path, *, create: bool) -> int:
    """A descriptor of `folder`/run.lock: never through a symbolic link, never a FIFO or device
    (O_NONBLOCK: opening a FIFO does not wait for a writer). NnhwError naming the file."""
    path = Path(folder) / LOCK_FILE
    flags = os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    flags |= (os.O_RDWR | os.O_CREAT) if create else os.O_RDONLY
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NnhwError(f"{path}: a symbolic link, not the run's lock file") from None
        raise NnhwError(f"{path}: cannot open ({exc.strerror or exc})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise NnhwError(f"{path}: not a regular file")
    return fd


def lock_held(folder: Path) -> bool | None:
    """Whether some process owns the run in `folder` now (its lock is held); None when that
    cannot be told (no run.lock, an odd file there, a file system without locks)."""
    if fcntl is None:
        return None
    try:
        fd = _open_lock(folder, create=False)
    except NnhwError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return None
    finally:
        os.close(fd)  # also drops the probe's shared lock
    return False


def run_status(path: Path) -> str:
    """The run's status as a user should see it (see the module docstring)."""
    try:
        info = RunDir(Path(path)).run_json()
    except NnhwError:
        return "broken"
    status = info.get("status")
    if not isinstance(status, str) or status not in STATUSES:
        return "broken"
    if status != "running":
        return status
    held = lock_held(Path(path))
    if held:
        return "running"
    same_host = info.get("host") == socket.gethostname()
    if held is False and same_host:
        return "interrupted"  # nobody holds the lock: the process is gone, whatever its pid
    if same_host:
        pid = info.get("pid")
        return "running" if isinstance(pid, int) and _pid_alive(pid) else "interrupted"
    try:
        beat = datetime.fromisoformat(str(info.get("heartbeat")))
        age = (datetime.now().astimezone() - beat).total_seconds()
    except (TypeError, ValueError):
        return "interrupted"
    return "running" if age < STALE_SECONDS else "interrupted"
