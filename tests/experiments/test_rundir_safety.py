"""A run folder is untrusted input (issue 19 items 1-2, issue 17 items 5-6), at the library level:
safefs never follows a link out of a run folder nor opens a FIFO or device, writes follow the
umask, the clean-up removes only nnhw's temporary files, finished cells are stored without
pickle and round-trip exactly, a crafted cell never runs, large tables are compressed without a
Markdown copy, and run.json of the wrong shape is one line. The same cases through the command
line are in tests/cli/test_runs_safety.py.

Every case that could block (a FIFO) runs under an alarm: a regression fails, it does not hang.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import pickle
import signal
import stat
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnhw.core.errors import NnhwError
from nnhw.experiments.runs import cellfile, rundir, safefs, sweep
from nnhw.experiments.runs.context import RunContext
from nnhw.experiments.runs.rundir import RunDir, check_run_info
from nnhw.experiments.runs.sweep import _CellStore, combine, run_sweep, sweep_key
from tests.experiments.sweep_toy import ROOT_SEED, marker_counts, toy_cell, toy_grid


@contextlib.contextmanager
def deadline(seconds: int = 10) -> Iterator[None]:
    """Fail (TimeoutError) instead of blocking for more than `seconds`."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"blocked for more than {seconds} s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under `folder`: its bytes and modification time (to see any write)."""
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A folder outside every run folder, with files a redirected write or delete would hit."""
    folder = tmp_path / "thesis"
    folder.mkdir()
    for name in ("thesis.tex", "notes.txt", "00000.cell", "summary.csv", "loss.png"):
        (folder / name).write_text(f"my own {name}\n")
    return folder


def make_run(tmp_path: Path) -> RunDir:
    return RunDir.create(tmp_path / "runs", "toy", ["toy"], {"n": 1}, ROOT_SEED)


# -- safefs: links, special files, sizes ---------------------------------------------------------


@pytest.mark.parametrize("sub", ["tables", "plots", "cells"])
def test_a_linked_folder_is_refused_for_writes_and_reads(tmp_path, victim, sub):
    rd = make_run(tmp_path)
    (rd.path / sub).symlink_to(victim, target_is_directory=True)
    before = snapshot(victim)
    with pytest.raises(safefs.UnsafeEntry, match=rf"{sub}: is a symbolic link"):
        rd.write_bytes(f"{sub}/summary.csv", b"overwritten")
    with pytest.raises(safefs.UnsafeEntry, match=rf"{sub}: is a symbolic link"):
        safefs.read(rd.path, f"{sub}/notes.txt", 100, "a file")
    with pytest.raises(safefs.UnsafeEntry, match=rf"{sub}: is a symbolic link"):
        safefs.check_tree(rd.path)
    assert snapshot(victim) == before


def test_a_link_at_a_files_name_is_replaced_not_followed(tmp_path, victim):
    rd = make_run(tmp_path)
    (rd.path / "report.md").symlink_to(victim / "thesis.tex")
    before = snapshot(victim)
    rd.write_text("report.md", "the report\n")
    assert not (rd.path / "report.md").is_symlink()
    assert (rd.path / "report.md").read_text() == "the report\n"
    assert snapshot(victim) == before


def test_fifo_and_device_are_refused_without_blocking(tmp_path):
    rd = make_run(tmp_path)
    (rd.path / "tables").mkdir()
    os.mkfifo(rd.path / "tables" / "summary.csv")
    (rd.path / "run.json").unlink()
    os.mkfifo(rd.path / "run.json")
    with deadline():
        with pytest.raises(NnhwError, match=r"run\.json: is a FIFO"):
            rd.run_json()
        with pytest.raises(NnhwError, match=r"summary\.csv: is a FIFO"):
            rd.read_tables()
        with pytest.raises(NnhwError, match=r"run\.json: is a FIFO"):
            RunDir.open(rd.path)
    (rd.path / "run.json").unlink()
    (rd.path / "run.json").symlink_to("/dev/zero")
    with deadline(), pytest.raises(NnhwError, match=r"run\.json: is a symbolic link"):
        rd.run_json()


def test_sizes_are_limited_and_the_limit_is_stated(tmp_path):
    rd = make_run(tmp_path)
    os.truncate(rd.path / "run.json", safefs.LIMITS["run.json"] + 1)  # sparse: no disk used
    limit = r"16777217 bytes is more than nnhw reads for run\.json \(at most 16 MiB\)"
    with pytest.raises(NnhwError, match=rf"run\.json: {limit}"):
        rd.run_json()
    os.truncate(rd.path / "config.toml", 3 << 20)
    limit = r"3 MiB is more than nnhw reads for a config file \(at most 1 MiB\)"
    with pytest.raises(NnhwError, match=rf"config\.toml: {limit}"):
        rd.settings("toy")


def test_the_run_folder_itself_may_not_be_a_link(tmp_path):
    rd = make_run(tmp_path)
    link = tmp_path / "link"
    link.symlink_to(rd.path, target_is_directory=True)
    with pytest.raises(NnhwError, match=r"link: is a symbolic link, not a folder"):
        RunDir.open(link)
    with pytest.raises(NnhwError, match=r"is a symbolic link"):
        RunDir(link).write_text("report.md", "x")
    assert not (rd.path / "report.md").exists()


def test_check_tree_names_the_first_bad_entry_at_any_depth(tmp_path, victim):
    rd = make_run(tmp_path)
    deep = rd.path / "cells" / "sweep-abc"
    deep.mkdir(parents=True)
    (deep / "00000.cell").write_bytes(b"x")
    safefs.check_tree(rd.path)  # regular files and folders only: fine
    (deep / "00001.cell").symlink_to(victim / "00000.cell")
    with pytest.raises(safefs.UnsafeEntry) as info:
        safefs.check_tree(rd.path)
    assert str(info.value).startswith(f"{deep / '00001.cell'}: is a symbolic link")
    assert "\n" not in str(info.value)


# -- writes: the umask, temporary files ------------------------------------------------------------


@pytest.mark.parametrize(("umask", "file_mode", "dir_mode"), [(0o022, 0o644, 0o755),
                                                              (0o077, 0o600, 0o700)])  # fmt: skip
def test_files_follow_the_umask(tmp_path, umask, file_mode, dir_mode):
    old = os.umask(umask)
    try:
        rd = make_run(tmp_path)
        rd.write_table("summary", pd.DataFrame({"x": [1.5]}))
    finally:
        os.umask(old)
    for path in (rd.path / "run.json", rd.path / "config.toml", rd.path / "tables/summary.csv"):
        assert stat.S_IMODE(path.stat().st_mode) == file_mode, path
    assert stat.S_IMODE((rd.path / "tables").stat().st_mode) == dir_mode


def test_strays_clean_up_removes_only_nnhws_temporary_files(tmp_path, victim):
    rd = make_run(tmp_path)
    cells = toy_grid(1, 2)
    run_sweep(toy_cell, cells, RunContext(rundir=rd), ROOT_SEED)
    folder = rd.cells_dir / sweep_key("toy_cell", cells, ROOT_SEED)
    (folder / ".00001.cell.a1b2c3d4.tmp").write_bytes(b"half a cell")  # an interrupted write
    (folder / "thesis.tex").write_text("not nnhw's")
    (folder / ".hidden-notes").write_text("not nnhw's either")
    again = run_sweep(toy_cell, cells, RunContext(rundir=rd, resume=True), ROOT_SEED)
    assert again.resumed == 2
    assert sorted(p.name for p in folder.iterdir()) == [
        ".hidden-notes", "00000.cell", "00001.cell", "thesis.tex"
    ]  # fmt: skip


def test_a_linked_sweep_folder_is_neither_cleaned_nor_written(tmp_path, victim):
    """The resume of issue 19 deleted thesis.tex and notes.txt through cells/<key> -> elsewhere."""
    rd = make_run(tmp_path)
    cells = toy_grid(1, 2)
    rd.cells_dir.mkdir()
    (rd.cells_dir / sweep_key("toy_cell", cells, ROOT_SEED)).symlink_to(victim)
    (victim / ".00000.cell.a1b2c3d4.tmp").write_bytes(b"looks like nnhw's")
    before = snapshot(victim)
    with pytest.raises(safefs.UnsafeEntry, match=r"toy_cell-[0-9a-f]+: is a symbolic link"):
        run_sweep(toy_cell, cells, RunContext(rundir=rd, resume=True), ROOT_SEED)
    with pytest.raises(safefs.UnsafeEntry, match=r"is a symbolic link"):
        run_sweep(toy_cell, cells, RunContext(rundir=rd), ROOT_SEED)  # a fresh run's first write
    assert snapshot(victim) == before


# -- finished cells: no pickle, exact, checksummed -------------------------------------------------


def test_cells_round_trip_every_bit_and_dtype():
    nan_payload = np.frombuffer(np.array([0x7FF8_0000_0000_0001], dtype="<u8").tobytes(), "<f8")
    df = pd.DataFrame({
        "f": np.array([0.1, -0.0, np.inf, -np.inf, 5e-324, nan_payload[0]]),
        "f32": np.array([1.1, 2, 3, 4, 5, np.nan], dtype=np.float32),
        "i": np.arange(6, dtype=np.int64) - 3,
        "u8": np.arange(6, dtype=np.uint8),
        "b": [True, False] * 3,
        "s": ["relu", "tanh", None, "é", "a\nb", ""],
        "o": pd.Series([1, "x", 2.5, np.nan, None, True], dtype=object),
    })  # fmt: skip
    record = {"sweep": "k", "index": 3, "params": {"a": 1}, "root_seed": 7, "tables": {"t": df}}
    back = cellfile.decode(cellfile.encode(record))
    assert back is not None and back["params"] == {"a": 1} and back["index"] == 3
    out = back["tables"]["t"]
    pd.testing.assert_frame_equal(out, df)
    for col in ("f", "f32", "i", "u8", "b"):
        assert out[col].to_numpy().tobytes() == df[col].to_numpy().tobytes(), col  # same bits
    assert out.to_csv() == df.to_csv()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=20),
       st.lists(st.text(max_size=5) | st.none(), max_size=20))  # fmt: skip
def test_cells_round_trip_any_floats_and_text(values, texts):
    df = pd.DataFrame({"x": np.array(values, dtype=float)})
    other = pd.DataFrame({"t": pd.Series(texts, dtype=object)})
    record = {"sweep": "k", "index": 0, "params": {}, "root_seed": 0,
              "tables": {"a": df, "b": other}}  # fmt: skip
    back = cellfile.decode(cellfile.encode(record))
    assert back is not None
    assert back["tables"]["a"]["x"].to_numpy().tobytes() == df["x"].to_numpy().tobytes()
    pd.testing.assert_frame_equal(back["tables"]["b"], other)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300))
def test_decoding_garbage_never_raises(data):
    framed = cellfile.MAGIC + hashlib.sha256(data).hexdigest().encode() + b"\n" + data
    assert cellfile.decode(data) is None or isinstance(cellfile.decode(data), dict)
    assert cellfile.decode(framed) is None or isinstance(cellfile.decode(framed), dict)


def test_a_forged_column_cannot_name_an_object_dtype():
    good = cellfile.encode({"sweep": "k", "index": 0, "params": {}, "root_seed": 0,
                            "tables": {"t": pd.DataFrame({"x": [1.0]})}})  # fmt: skip
    body = json.loads(good.partition(b"\n")[2])
    body["tables"]["t"]["columns"][0]["dtype"] = "|O"  # would be an array of Python objects
    payload = json.dumps(body).encode()
    forged = cellfile.MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload
    assert cellfile.decode(forged) is None


class _Exploit:
    """Unpickling this writes a marker file: what a crafted cell would do to run code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (Path.write_text, (self.marker, "code ran"))


def plant_crafted_cells(folder: Path, marker: Path, index: int) -> None:
    """A pickle named as an old-format cell, and the same pickle framed as a current cell with a
    correct checksum (anyone can compute one)."""
    folder.mkdir(parents=True, exist_ok=True)
    payload = pickle.dumps({"tables": _Exploit(marker)}, protocol=5)
    (folder / f"{index:05d}.pkl").write_bytes(b"nnhw-cell 1 " + hashlib.sha256(payload)
                                              .hexdigest().encode() + b"\n" + payload)  # fmt: skip
    framed = cellfile.MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload
    (folder / f"{index:05d}.cell").write_bytes(framed)


def test_a_crafted_cell_is_never_run_on_resume(tmp_path, monkeypatch):
    markers = tmp_path / "markers"
    markers.mkdir()
    monkeypatch.setenv("NNHW_TOY_MARKERS", str(markers))
    rd = make_run(tmp_path)
    cells = toy_grid(1, 3)
    marker = tmp_path / "pwned"
    folder = rd.cells_dir / sweep_key("toy_cell", cells, ROOT_SEED)
    plant_crafted_cells(folder, marker, 1)
    assert pickle.loads((folder / "00001.pkl").read_bytes().partition(b"\n")[2]) is not None
    assert marker.exists()  # the exploit works when unpickled ...
    marker.unlink()
    results = run_sweep(toy_cell, cells, RunContext(rundir=rd, resume=True), ROOT_SEED)
    assert not marker.exists()  # ... and the resume never unpickled it
    assert (results.resumed, results.computed) == (0, 3)  # recomputed instead
    assert marker_counts(markers)[(0, 1)] == 1
    assert (folder / "00001.pkl").exists()  # left alone: not nnhw's temporary file
    assert cellfile.decode((folder / "00001.cell").read_bytes()) is not None  # rewritten
    fresh = combine(run_sweep(toy_cell, cells, RunContext(), ROOT_SEED))
    assert {k: v.to_csv() for k, v in combine(results).items()} == {
        k: v.to_csv() for k, v in fresh.items()
    }


def test_the_cell_store_holds_no_pickle_and_counts_finished_cells(tmp_path):
    rd = make_run(tmp_path)
    run_sweep(toy_cell, toy_grid(2, 2), RunContext(rundir=rd), ROOT_SEED)
    files = sorted(rd.cells_dir.rglob("*"))
    cells = [p for p in files if p.is_file()]
    assert [p.suffix for p in cells] == [".cell"] * 4
    for p in cells:
        header, _, payload = p.read_bytes().partition(b"\n")
        assert header.startswith(b"nnhw-cell 2 ") and json.loads(payload)["tables"]
        assert b"\x80\x05" not in payload[:2]  # not a pickle stream
    assert sweep.finished_cells(rd) == 4
    info = rd.run_json()["sweeps"]
    assert list(info.values()) == [{"cells": 4, "resumed": 0, "computed": 4, "failed": 0}]


def test_a_valid_cell_of_other_settings_is_refused_in_one_line(tmp_path):
    rd = make_run(tmp_path)
    cells = toy_grid(1, 2)
    store = _CellStore(rd.cells_dir / sweep_key("toy_cell", cells, ROOT_SEED), "x", ROOT_SEED)
    store.save(0, {"a": [9] * 100_000, "b": "b0"}, {"t": pd.DataFrame({"x": [1.0]})})
    with pytest.raises(NnhwError) as info:
        run_sweep(toy_cell, cells, RunContext(rundir=rd, resume=True), ROOT_SEED)
    message = str(info.value)
    assert "belongs to other settings" in message and len(message) < 1000 and "\n" not in message


# -- tables: large ones compressed, no Markdown copy -----------------------------------------------


def test_a_large_table_is_compressed_without_a_markdown_copy(tmp_path):
    rd = make_run(tmp_path)
    rng = np.random.default_rng(0)
    big = pd.DataFrame({"x": rng.standard_normal(40_000), "y": rng.standard_normal(40_000)})
    small = big.head(5)
    rd.write_table("t", small)  # an interrupted run's partial table first ...
    assert sorted(p.name for p in (rd.path / "tables").iterdir()) == ["t.csv", "t.md"]
    rd.write_table("t", big)  # ... then the whole one, past PLAIN_TABLE_BYTES
    assert sorted(p.name for p in (rd.path / "tables").iterdir()) == ["t.csv.bz2"]
    assert rd.table_file("t") == "tables/t.csv.bz2"
    back = rd.read_tables()["t"]
    assert back["x"].to_numpy().tobytes() == big["x"].to_numpy().tobytes()  # exact floats
    rd.write_table("t", small)
    assert sorted(p.name for p in (rd.path / "tables").iterdir()) == ["t.csv", "t.md"]


def test_the_report_links_every_table_file_the_compressed_ones_included(tmp_path):
    from nnhw.experiments.reporting.report import Report, Section, write_report

    rd = make_run(tmp_path)
    rng = np.random.default_rng(0)
    rd.write_table("big", pd.DataFrame({"x": rng.standard_normal(40_000)}))
    rd.write_table("small", pd.DataFrame({"x": [1.0]}))
    report = Report(title="t", sections=[Section("s", tables=[("big", "All of it.")])])
    write_report(rd, report, info=rd.run_json() | {"status": "completed"})
    md, html = (rd.path / "report.md").read_text(), (rd.path / "report.html").read_text()
    assert "**Table 1.** All of it. ([`tables/big.csv.bz2`](tables/big.csv.bz2))" in md
    assert "Data: [`tables/big.csv.bz2`](tables/big.csv.bz2) · [`tables/small.csv`]" in md
    assert '<a href="tables/big.csv.bz2">' in html and '<a href="tables/small.csv">' in html


def test_a_compressed_table_that_expands_too_far_is_refused(tmp_path, monkeypatch):
    rd = make_run(tmp_path)
    rd.write_bytes("tables/bomb.csv.bz2", _bz2_of_zeros(5 << 20))
    monkeypatch.setitem(safefs.LIMITS, "table", 1 << 20)
    with pytest.raises(NnhwError, match=r"bomb\.csv\.bz2: expands to more than .* 1 MiB"):
        rd.read_tables()


def _bz2_of_zeros(n: int) -> bytes:
    import bz2

    return bz2.compress(b"0" * n)


# -- run.json and config.toml of the wrong shape ---------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"versions": [1]}', "field 'versions' must be an object, not a list"),
        ('{"versions": {"nnhw": 1}}', "field 'versions' must be an object of strings"),
        ('{"argv": "train --lr 1"}', "field 'argv' must be a list, not a string"),
        ('{"argv": [1, 2]}', "field 'argv' must be a list of strings"),
        ('{"pid": true}', "field 'pid' must be a number or null, not true/false"),
        ('{"failed_cells": [1]}', "field 'failed_cells' must be a list of objects"),
        ('{"resumes": {}}', "field 'resumes' must be a list, not an object"),
        ("[1, 2]", "not a JSON object (a list)"),
        ('"run"', "not a JSON object (a string)"),
        ("[" * 100_000, "unreadable (nested too deeply)"),
    ],
)
def test_run_json_of_the_wrong_shape_is_one_line(tmp_path, content, message):
    rd = make_run(tmp_path)
    (rd.path / "run.json").write_text(content)
    with pytest.raises(NnhwError) as info:
        rd.run_json()
    assert message in str(info.value) and "\n" not in str(info.value)
    assert rundir.run_status(rd.path) == "broken"


def test_check_run_info_accepts_what_nnhw_writes(tmp_path):
    rd = make_run(tmp_path)
    rd.finish("completed", headline="fine", failed_cells=[], resumes=[{"started": "x"}])
    check_run_info(json.loads((rd.path / "run.json").read_text()), "run.json")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("toy = 5", "the [toy] table is not a table"),
        ("[other]\nx = 1", "unknown table 'other'"),
        ("", "the [toy] table is missing"),
        ("[toy\n", "not valid TOML"),
        ("x = " + "[" * 50_000, "config.toml: "),
    ],
)
def test_config_toml_of_the_wrong_shape_is_one_line(tmp_path, content, message):
    rd = make_run(tmp_path)
    (rd.path / "config.toml").write_text(content)
    with pytest.raises(NnhwError) as info:
        rd.settings("toy")
    assert message in str(info.value) and "\n" not in str(info.value)


def test_base64_of_cells_is_checked():
    record = {"sweep": "k", "index": 0, "params": {}, "root_seed": 0,
              "tables": {"t": pd.DataFrame({"x": [1.0, 2.0]})}}  # fmt: skip
    body = json.loads(cellfile.encode(record).partition(b"\n")[2])
    body["tables"]["t"]["columns"][0]["data"] = base64.b64encode(b"\0" * 24).decode()  # 3 rows
    payload = json.dumps(body).encode()
    framed = cellfile.MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload
    assert cellfile.decode(framed) is None
