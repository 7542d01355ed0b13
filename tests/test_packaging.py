"""How nnhw installs (issue 15): a wheel built from a clean copy of the repository holds only
`nnhw/...` (nothing named cli, core or experiments at the top of site-packages); installed, it
imports as nnhw.* while `import core` fails; a working folder with packages of its own named core
and experiments changes nothing in nnhw."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tracked_copy(dest: Path) -> Path:
    """The repository's tracked files (plus new ones git does not ignore), as a clean clone has
    them: no build/, no .venv, no results."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for rel in filter(None, listed):
        src = ROOT / rel.decode()
        if src.is_file():
            (dest / rel.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel.decode())
    return dest


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the wheel, a folder it is installed into) built from a clean copy."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs the git checkout")
    base = tmp_path_factory.mktemp("pkg")
    src = _tracked_copy(base / "src")
    wheels = base / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(wheels), str(src)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = wheels.glob("nnhw-*.whl")
    target = base / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
         str(wheel)],
        check=True, capture_output=True,
    )  # fmt: skip
    return wheel, target


def _clean_python(code: str, path: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`python -c code` that sees only `path` and the interpreter's own packages (numpy, ...),
    not the editable install: -I ignores PYTHONPATH and the current folder; the site-packages
    of this environment stay for the dependencies."""
    site = next(p for p in sys.path if p.endswith("site-packages"))
    prelude = (
        "import sys; sys.path[:] = [p for p in sys.path if '__editable__' not in p]; "
        f"sys.path.insert(0, {str(path)!r}); sys.path.append({site!r}); "
    )
    return subprocess.run(
        [sys.executable, "-I", "-S", "-c", prelude + code],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def test_wheel_holds_only_the_nnhw_namespace(installed: tuple[Path, Path]) -> None:
    wheel, _ = installed
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"nnhw"}
    assert "nnhw/core/mlp.py" in names and "nnhw/experiments/runs/runner.py" in names
    assert "nnhw/core/py.typed" in names
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "nnhw = nnhw.cli.main:main" in zipfile.ZipFile(wheel).read(entry).decode()


def test_installed_nnhw_imports_and_core_does_not(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    _, site = installed
    ok = _clean_python(
        "import nnhw, nnhw.core, nnhw.experiments.api, nnhw.cli.main; "
        "print(nnhw.core.__version__, nnhw.core.__file__)",
        site,
        tmp_path,
    )
    assert ok.returncode == 0, ok.stderr
    assert str(site) in ok.stdout
    for name in ("core", "cli", "experiments"):
        res = _clean_python(f"import {name}", site, tmp_path)
        assert res.returncode != 0 and "ModuleNotFoundError" in res.stderr, (name, res.stdout)


def test_a_folder_with_its_own_core_and_experiments_changes_nothing(tmp_path: Path) -> None:
    for name in ("core", "experiments", "cli"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("raise SystemExit('the wrong package')\n")
        (tmp_path / name / "mlp.py").write_text("raise SystemExit('the wrong module')\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    nnhw = shutil.which("nnhw", path=str(Path(sys.executable).parent))
    assert nnhw is not None
    version = subprocess.run(
        [nnhw, "--version"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert version.returncode == 0 and version.stdout.startswith("nnhw "), version.stderr
    run = subprocess.run(
        [nnhw, "train", "--task", "regression", "--epochs", "2", "--samples", "100",
         "--out", str(tmp_path / "out"), "--quiet"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert len(list((tmp_path / "out").glob("*-train/report.html"))) == 1
    module = subprocess.run(
        [sys.executable, "-m", "nnhw.cli", "--version"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert module.returncode == 0 and module.stdout == version.stdout, module.stderr
