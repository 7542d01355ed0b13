"""Finding runs again: the runs under a results folder, one run's settings and findings, and the
summaries of several runs side by side (what `nnhw runs` shows).

Contract:
- `list_runs(out) -> list[RunEntry]`, newest first. Every folder that looks like a run (named
  `<YYYYMMDD-HHMMSS>-<command>...` or holding run.json) is listed; a missing or unreadable
  run.json (or one of the wrong shape, a FIFO, a link: run folders are read through
  runs.safefs) gives status "broken", the reason in place of the headline, and never raises.
  Other files and folders, and links to folders, are ignored.
- `find_run(out, ident) -> Path`: a run folder by path, by id under `out`, or by a unique id prefix.
- `load_run(path) -> LoadedRun`: run.json, settings, the study module, config and tables.
- `findings(run)`: the study's findings rebuilt from the saved tables.
- `summary_of(run) -> dict`: one flat mapping (settings, then measurements) for comparison;
  `compare(runs) -> DataFrame`: one row per key, one column per run (same command only).
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nnhw.core.errors import NnhwError
from nnhw.experiments.runs import safefs, studies
from nnhw.experiments.runs.configfile import config_from_mapping
from nnhw.experiments.runs.rundir import RunDir, run_status
from nnhw.experiments.runs.runner import load_study
from nnhw.experiments.runs.studies import Study

if TYPE_CHECKING:
    import pandas as pd

    from nnhw.experiments.reporting.report import Finding

_RUN_NAME = re.compile(r"^(\d{8}-\d{6})-([a-z][a-z0-9-]*?)(?:-(\d+))?$")


@dataclass
class RunEntry:
    id: str
    path: Path
    command: str
    status: str
    started: str
    duration_s: float | None
    headline: str


def _from_name(name: str) -> tuple[str, str]:
    """(command, start time) from a folder name like 20250101-120000-train-2."""
    m = _RUN_NAME.match(name)
    if not m:
        return "?", ""
    start = datetime.strptime(m.group(1), "%Y%m%d-%H%M%S").isoformat()
    return m.group(2), start


def _headline(path: Path, info: dict[str, Any]) -> str:
    """The saved headline, else the study's headline from the saved tables, else ''."""
    if isinstance(info.get("headline"), str):
        return info["headline"]
    try:  # read as every run-folder read: no links, no special files, size limits
        tables = RunDir(path).read_tables()
        return str(studies.load(str(info.get("command"))).headline(tables)) if tables else ""
    except Exception:  # a half-written run must not break the listing
        return ""


def entry(path: Path) -> RunEntry:
    """What the listing shows for one folder (never raises)."""
    status = run_status(path)
    command, started = _from_name(path.name)
    info: dict[str, Any] = {}
    problem = ""
    try:
        info = RunDir(path).run_json()
    except NnhwError as exc:  # why it is broken, in place of a headline (its path left out)
        status, problem = "broken", str(exc).replace(f"{path}{os.sep}", "", 1)
    duration = info.get("duration_s")
    return RunEntry(
        id=path.name,
        path=path,
        command=str(info.get("command") or command),
        status=status,
        started=str(info.get("started") or started),
        duration_s=float(duration) if isinstance(duration, int | float) else None,
        headline=_headline(path, info) if info else f"({problem[:200]})",
    )


def list_runs(out: Path) -> list[RunEntry]:
    """The runs under `out`, newest first (see the module docstring)."""
    out = Path(out)
    if not out.exists():
        return []
    if not out.is_dir():
        raise NnhwError(f"--out: {out} is not a directory")
    # Real folders only (lstat): a link under `out` is not followed, even to list it.
    folders = [
        p
        for p in out.iterdir()
        if _is_folder(p) and (_RUN_NAME.match(p.name) or safefs.is_file(p, "run.json"))
    ]
    entries = [entry(p) for p in folders]
    return sorted(entries, key=lambda e: (e.started, e.id), reverse=True)


def _is_folder(path: Path) -> bool:
    """A folder itself, not a link to one."""
    try:
        return stat.S_ISDIR(os.stat(path, follow_symlinks=False).st_mode)
    except OSError:
        return False


def find_run(out: Path, ident: str) -> Path:
    """A run folder from a path, an id under `out`, or a unique prefix of an id. A path that
    is a link is returned as it is (RunDir.open refuses it with one line); links under `out`
    never match an id or prefix."""
    candidate = Path(ident)
    if candidate.is_dir():
        return candidate
    if (Path(out) / ident).is_dir():
        return Path(out) / ident
    folder = Path(out)
    matches = []
    if ident and "/" not in ident and folder.is_dir():
        matches = sorted(p for p in folder.iterdir() if p.name.startswith(ident) and _is_folder(p))
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise NnhwError(f"no run {ident!r} under {out} (see `nnhw runs --out {out}`)")
    names = ", ".join(p.name for p in matches[:5])
    raise NnhwError(f"run id {ident!r} is ambiguous under {out}: {names}")


@dataclass
class LoadedRun:
    path: Path
    info: dict[str, Any]
    status: str
    settings: dict[str, Any]
    study: Study
    config: Any
    tables: dict[str, pd.DataFrame]


def load_run(path: Path) -> LoadedRun:
    """A saved run with its study's config and tables (NnhwError when it cannot be read)."""

    rd = RunDir.open(path)  # refuses a folder holding links or special files, with one line
    info = rd.run_json()  # of the right shape, or one line
    command = str(info.get("command", ""))
    settings = rd.settings(command)  # likewise
    study = load_study(command, rd.path)
    config = config_from_mapping(study.Config, settings, f"{rd.path / 'config.toml'} [{command}]")
    return LoadedRun(rd.path, info, run_status(rd.path), settings, study, config, rd.read_tables())


def findings(run: LoadedRun) -> list[Finding]:
    """The study's findings from the saved tables ([] when the tables cannot give them)."""
    try:
        return list(run.study.report(run.tables, run.config).findings)
    except Exception:  # an interrupted run may lack tables the report needs
        return []


# Numeric columns that identify a summary row rather than measure something (with every text
# column): the rows of two runs are aligned by these, so a --depths run lines up with a plain run
# at its one depth.
KEY_COLUMNS = ("depth", "width", "batch_size", "layer", "seed", "epoch", "phase", "scale")


def _key_columns(df: pd.DataFrame) -> list[str]:
    # pandas only where summaries are flattened or compared, not to list runs
    from pandas.api.types import is_numeric_dtype

    return [c for c in df.columns if c in KEY_COLUMNS or not is_numeric_dtype(df[c])]


def _label(row: Any, keys: list[str]) -> str:
    """'relu · depth 4': text keys by their value, numeric keys by name and value."""
    parts = []
    for col in keys:
        value = row[col]
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        parts.append(str(value) if isinstance(value, str) else f"{col} {value}")
    return " · ".join(parts)


def _flatten(df: pd.DataFrame) -> dict[str, Any]:
    """A summary table as key -> value: one row without key columns as is; otherwise each
    measurement keyed by its row's key columns ('relu · depth 4 · test_loss')."""
    keys = _key_columns(df)
    if len(df) == 1 and not keys:
        return {str(k): v for k, v in df.iloc[0].items()}
    out: dict[str, Any] = {}
    for i, row in df.iterrows():
        name = _label(row, keys) if keys else str(i)
        for col, value in row.items():
            if col not in keys:
                out[f"{name} · {col}"] = value
    return out


def summary_of(run: LoadedRun) -> dict[str, Any]:
    """Settings, status and measurements of one run as one flat mapping: the `summary` table
    keyed by its rows' key columns, else the study's metrics."""
    row: dict[str, Any] = {"status": run.status, "started": run.info.get("started")}
    row["duration_s"] = run.info.get("duration_s")
    row.update({f"setting: {k}": (", ".join(map(str, v)) if isinstance(v, list) else v)
                for k, v in run.settings.items()})  # fmt: skip
    metrics: dict[str, Any] = {}
    if "summary" in run.tables:
        metrics = _flatten(run.tables["summary"])
    elif hasattr(run.study, "metrics"):
        try:
            metrics = dict(run.study.metrics(run.tables))
        except Exception:
            metrics = {}
    row.update(metrics)
    row["headline"] = _headline(run.path, run.info)
    return row


def _differ(values: list[Any]) -> bool:
    shown = {str(v) for v in values if v is not None and not (isinstance(v, float) and v != v)}
    return len(shown) > 1 or (len(shown) == 1 and any(v is None for v in values))


def compare(runs: list[LoadedRun]) -> pd.DataFrame:
    """Summaries side by side: a `key` column, `differs` ("yes" on a setting whose value is not
    the same in every run), then one column per run id. Measurements are aligned by their rows'
    key columns (activation, depth, ...): a row one run lacks is empty there."""
    # pandas only where runs are compared, not to list them
    import pandas as pd

    commands = sorted({str(r.info.get("command")) for r in runs})
    if len(commands) > 1:
        raise NnhwError(f"runs compare: the runs are of different commands ({', '.join(commands)})")
    summaries = {r.path.name: summary_of(r) for r in runs}
    keys = list(dict.fromkeys(k for s in summaries.values() for k in s))
    columns = {rid: [s.get(k) for k in keys] for rid, s in summaries.items()}
    differs = [
        "yes" if k.startswith("setting: ") and _differ([c[i] for c in columns.values()]) else ""
        for i, k in enumerate(keys)
    ]
    return pd.DataFrame({"key": keys, "differs": differs, **columns})
