"""Hostile run folders and inputs through the command line (issue 19 items 1-2, issue 17 items
5-6): each test builds the folder or input, runs the commands that read it and checks the exit
code, that an error is one line, that nothing outside the run folder was written or deleted, and
that nothing hangs. Cases that could block (FIFOs, /dev/zero) run in a child process with a
timeout; the others in process.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from nnhw.experiments.runs import cellfile
from tests.runfiles import table_paths

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 60  # seconds for a child process running a few commands: a hang fails the test
TINY = ["vanishing-gradients", "--depths", "2", "--width", "8", "--activations", "relu",
        "--inits", "he-normal", "--seeds", "2", "--epochs", "2", "--widths", "1",
        "--samples", "50", "--quiet"]  # fmt: skip
ESC = "\x1b]0;pwned\x07\x1b[2J\x1b[31m"  # window title, clear screen, red
HTML = "<img src=x onerror=alert(1)>"


def in_child(*commands: list[object]) -> list[tuple[int, str, str]]:
    """Run nnhw commands one after the other in one child process (bounded by TIMEOUT);
    (exit code, stdout, stderr) of each."""
    script = (
        "import contextlib, io, json, sys\n"
        "from nnhw.cli.main import main\n"
        "results = []\n"
        "for argv in json.loads(sys.argv[1]):\n"
        "    out, err = io.StringIO(), io.StringIO()\n"
        "    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):\n"
        "        try:\n"
        "            main(argv); code = 0\n"
        "        except SystemExit as exc:\n"
        "            code = exc.code if isinstance(exc.code, int) else 1\n"
        "    results.append([code, out.getvalue(), err.getvalue()])\n"
        "print(json.dumps(results))\n"
    )
    argv = json.dumps([[str(a) for a in c] for c in commands])
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1"}
    proc = subprocess.run([sys.executable, "-c", script, argv], capture_output=True, text=True,
                          timeout=TIMEOUT, cwd=REPO, env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return [tuple(r) for r in json.loads(proc.stdout)]


def one_line_error(result: tuple[int, str, str], *names: str) -> str:
    code, out, err = result
    assert code == 2, (code, out, err)
    assert err.startswith("nnhw: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and len(err) < 1100
    for name in names:
        assert name in err, err
    return err


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One completed tiny sweep run (written with umask 022)."""
    from nnhw.cli.main import main

    out = tmp_path_factory.mktemp("base")
    old = os.umask(0o022)
    try:
        with pytest.raises(SystemExit) as exc:
            main([*TINY, "--out", str(out)])
    finally:
        os.umask(old)
    assert exc.value.code == 0
    (run,) = out.iterdir()
    return run


@pytest.fixture
def results(tmp_path: Path, base: Path) -> Path:
    out = tmp_path / "results"
    out.mkdir()
    shutil.copytree(base, out / base.name)
    return out


@pytest.fixture
def run(results: Path, base: Path) -> Path:
    return results / base.name


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """Someone's own files outside the run folder, named like what nnhw writes or deletes."""
    folder = tmp_path / "thesis"
    folder.mkdir()
    for name in ("thesis.tex", "notes.txt", "summary.csv", "signal_by_layer.png", "00000.cell"):
        (folder / name).write_text(f"my own {name}\n")
    return folder


def sweep_key(run: Path) -> str:
    (key,) = [k for k in json.loads((run / "run.json").read_text())["sweeps"] if "gradient" in k]
    return key


def mark_interrupted(run: Path) -> None:
    info = json.loads((run / "run.json").read_text())
    info["status"] = "interrupted"
    (run / "run.json").write_text(json.dumps(info))


# -- what a completed run leaves ------------------------------------------------------------------


def test_a_completed_run_keeps_no_cells_and_follows_the_umask(base: Path):
    assert not (base / "cells").exists()  # compacted once the tables were written
    info = json.loads((base / "run.json").read_text())
    assert next(iter(info["sweeps"].values()))["computed"] >= 1
    for path in base.rglob("*"):
        want = 0o755 if path.is_dir() else 0o644
        assert stat.S_IMODE(path.stat().st_mode) == want, path


# -- links -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("sub", ["plots", "tables"])
def test_a_linked_plots_or_tables_folder_is_refused(invoke, results, run, victim, sub):
    shutil.copytree(run / sub, victim, dirs_exist_ok=True)
    shutil.rmtree(run / sub)
    (run / sub).symlink_to(victim, target_is_directory=True)
    before = snapshot(victim)
    one_line_error(invoke("report", run), f"{sub}: is a symbolic link")
    one_line_error(invoke("runs", "show", run.name, "--out", results), f"{sub}: is a symbolic link")
    code, out, err = invoke("runs", "--out", results)
    assert code == 0 and run.name in out, err
    assert snapshot(victim) == before  # nothing written, nothing deleted


def test_a_linked_file_in_tables_is_refused(invoke, run, victim):
    (run / "tables" / "summary.csv").unlink()
    (run / "tables" / "summary.csv").symlink_to(victim / "summary.csv")
    before = snapshot(victim)
    one_line_error(invoke("report", run), "summary.csv: is a symbolic link")
    assert snapshot(victim) == before


def test_a_linked_cell_folder_is_neither_cleaned_nor_written_on_resume(invoke, run, victim):
    mark_interrupted(run)
    (run / "cells").mkdir()
    (run / "cells" / sweep_key(run)).symlink_to(victim, target_is_directory=True)
    (victim / ".00000.cell.1a2b3c4d.tmp").write_text("named like nnhw's temporary file")
    before = snapshot(victim)
    err = one_line_error(invoke(*TINY, "--resume", run), "is a symbolic link")
    assert sweep_key(run) in err
    assert snapshot(victim) == before  # thesis.tex, notes.txt and the rest are still there


def test_a_linked_run_folder_is_not_listed_nor_opened(invoke, results, run, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    shutil.move(run, elsewhere)
    run.symlink_to(elsewhere, target_is_directory=True)
    before = snapshot(elsewhere)
    code, out, err = invoke("runs", "--out", results, "--json")
    assert code == 0 and json.loads(out) == [], err
    one_line_error(invoke("report", run), "is a symbolic link, not a folder")
    assert snapshot(elsewhere) == before


# -- special files and sizes (child processes: a regression would block) -------------------------


def test_fifos_and_devices_never_block(results, run, tmp_path):
    fifo_run = results / (run.name + "-2")
    shutil.copytree(run, fifo_run)
    (fifo_run / "tables" / "summary.csv").unlink()
    os.mkfifo(fifo_run / "tables" / "summary.csv")
    (run / "run.json").unlink()
    os.mkfifo(run / "run.json")
    zero_run = results / (run.name + "-3")
    shutil.copytree(fifo_run, zero_run, ignore=shutil.ignore_patterns("summary.csv"))
    (zero_run / "run.json").unlink()
    (zero_run / "run.json").symlink_to("/dev/zero")
    listing, *rest = in_child(
        ["runs", "--out", results, "--json"],
        ["runs", "show", run, "--out", results],
        ["report", run],
        ["report", fifo_run],
        ["runs", "show", fifo_run],
        ["runs", "show", zero_run],
        ["report", zero_run],
        [*TINY, "--resume", zero_run],
    )
    assert listing[0] == 0, listing
    assert sorted(r["status"] for r in json.loads(listing[1])) == ["broken", "broken", "completed"]
    for result, entry in zip(rest, ["run.json: is a FIFO", "run.json: is a FIFO",
                                    "summary.csv: is a FIFO", "summary.csv: is a FIFO",
                                    "run.json: is a symbolic link", "run.json: is a symbolic link",
                                    "run.json: is a symbolic link"]):  # fmt: skip
        one_line_error(result, entry)


def test_config_option_reads_only_a_small_regular_file(tmp_path):
    fifo = tmp_path / "c.toml"
    os.mkfifo(fifo)
    big = tmp_path / "big.toml"
    big.write_text("[train]\n" + "# padding\n" * 210_000)  # 2 MiB
    many = tmp_path / "many.toml"
    many.write_text("[train]\nhidden = [" + "1, " * 300_000 + "1]\n")  # 900 KB: under the limit
    results = in_child(
        ["train", "--config", fifo, "--out", tmp_path / "out"],
        ["train", "--config", "/dev/zero", "--out", tmp_path / "out"],
        ["train", "--config", big, "--out", tmp_path / "out"],
        ["train", "--config", many, "--out", tmp_path / "out"],
    )
    one_line_error(results[0], "--config", "is a FIFO (named pipe), not a regular file")
    one_line_error(results[1], "--config", "is a character device, not a regular file")
    one_line_error(results[2], "--config", "is 2 MiB; a TOML file may be at most 1 MiB")
    one_line_error(results[3], "hidden")  # one short line, not 900 KB of the list
    assert not (tmp_path / "out").exists()


def test_a_huge_run_json_is_refused_with_the_limit(invoke, run):
    os.truncate(run / "run.json", 17 << 20)  # sparse: no disk used
    one_line_error(invoke("runs", "show", run), "17 MiB is more than nnhw reads for run.json",
                   "at most 16 MiB")  # fmt: skip
    one_line_error(invoke("report", run), "at most 16 MiB")


# -- text from run folders and from the user -------------------------------------------------------


def test_escape_sequences_never_reach_the_terminal(invoke, results, run):
    other = results / (run.name + "-2")
    shutil.copytree(run, other)
    info = json.loads((run / "run.json").read_text())
    info["headline"] = f"{ESC}all fine\nsecond line\u202e"
    info["argv"] = [*info["argv"], f"--out={ESC}"]
    (run / "run.json").write_text(json.dumps(info))
    outputs = [
        invoke("runs", "--out", results),
        invoke("runs", "--out", results, "--json"),
        invoke("runs", "show", run.name, "--out", results),
        invoke("runs", "compare", run.name, other.name, "--out", results),
        invoke("runs", "compare", run.name, other.name, "--out", results, "--to", "md"),
        invoke("runs", "compare", run.name, other.name, "--out", results, "--to", "csv"),
        invoke("report", run),
    ]
    for code, out, err in outputs:
        assert code == 0, err
        assert "\x1b" not in out + err and "\x07" not in out + err and "\u202e" not in out + err
    shown = outputs[2][1]
    assert "\\x1b]0;pwned\\x07\\x1b[2J" in shown and "all fine\\nsecond line\\u202e" in shown
    assert "$'--out=\\x1b]0;pwned\\x07" in shown  # the command, in a quoting a shell reads back


def test_backticks_newlines_and_html_in_arguments_stay_in_the_code_block(invoke, tmp_path):
    markdown_it = pytest.importorskip("markdown_it")
    out = tmp_path / f"a\n```\n{HTML}\n`````x"
    code, _, err = invoke(*TINY, "--out", out)
    assert code == 0, err
    (run,) = out.iterdir()
    md = (run / "report.md").read_text()
    html = markdown_it.MarkdownIt("commonmark").render(md)  # raw HTML allowed, as CommonMark says
    assert "<img src=x" not in html and '<img src="x"' not in html  # no live HTML
    blocks = html.split("<pre><code>")[1:]
    assert len(blocks) == 1 and "onerror=alert(1)" in blocks[0].split("</code></pre>")[0]
    assert "&lt;img src=x onerror=alert(1)&gt;" in blocks[0]  # the argument, whole, as text
    assert "<img src=x" not in (run / "report.html").read_text()
    code, shown, err = invoke("runs", "show", run)
    assert code == 0 and "$'" in shown and "\\n```\\n" in shown, err


@pytest.mark.parametrize(
    ("file", "content", "entry"),
    [
        ("run.json", '{"versions": [1], "command": "vanishing-gradients"}', "'versions'"),
        ("run.json", '{"argv": "nnhw", "command": "vanishing-gradients"}', "'argv'"),
        ("run.json", "[]", "not a JSON object"),
        ("config.toml", "vanishing-gradients = 5", "is not a table"),
        ("config.toml", "[vanishing-gradients]\ndepths = 'x'", "depths"),
    ],
)
def test_run_json_and_config_of_the_wrong_shape_are_one_line(
    invoke, results, run, file, content, entry
):
    other = results / (run.name + "-2")
    shutil.copytree(run, other)
    if file == "run.json":  # keep the rest of run.json: only the field under test is wrong
        info = {**json.loads((run / file).read_text()), **json.loads(content)} if content != "[]" \
            else []  # fmt: skip
        (run / file).write_text(json.dumps(info))
    else:
        (run / file).write_text(content)
    mark = run / file
    for args in (("runs", "show", run), ("runs", "compare", run, other), ("report", run),
                 (*TINY, "--resume", run)):  # fmt: skip
        one_line_error(invoke(*args), str(mark.name), entry)
    code, out, err = invoke("runs", "--out", results, "--json")  # the listing carries on
    assert code == 0, err
    if file == "run.json":  # ... and says why the run is broken
        (row,) = [r for r in json.loads(out) if r["id"] == run.name]
        assert row["status"] == "broken" and entry in row["headline"], row


# -- a crafted cell ------------------------------------------------------------------------------


def test_a_crafted_cell_never_runs_on_resume_or_report(invoke, run, base, tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Exploit(marker), protocol=5)
    folder = run / "cells" / sweep_key(run)
    folder.mkdir(parents=True)
    checksum = hashlib.sha256(payload).hexdigest().encode()
    (folder / "00000.pkl").write_bytes(b"nnhw-cell 1 " + checksum + b"\n" + payload)  # old name
    (folder / "00000.cell").write_bytes(cellfile.MAGIC + checksum + b"\n" + payload)  # new name
    mark_interrupted(run)
    code, _, err = invoke("report", run)
    assert code == 0 and not marker.exists(), err
    code, _, err = invoke(*TINY, "--resume", run)
    assert code == 0, err
    assert not marker.exists()  # never unpickled: recomputed instead
    for table in table_paths(base):
        assert (run / "tables" / table.name).read_bytes() == table.read_bytes(), table.name
    pickle.loads(payload)  # the exploit does work when unpickled: the test can fail
    assert marker.exists()


class _Exploit:
    """Unpickling this writes a marker file (what a crafted cell would do to run code)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (Path.write_text, (self.marker, "code ran"))
