"""The layout's rules, read from the source's own imports (DESIGN.md, issue 15):

- data flows one way, cli -> experiments -> core: core imports neither of the others, experiments
  never imports cli;
- no import cycles between modules (imports at module level, TYPE_CHECKING blocks aside);
- no module uses another module's private (`_name`) names;
- an import inside a function is there for a reason given in a comment next to it;
- every study has the same role files, and pyproject.toml lists every package.
Each rule is also run against a small planted violation, so a broken checker cannot pass.
"""

from __future__ import annotations

import ast
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("cli", "core", "experiments")
STUDIES = (
    "train",
    "compare_activations",
    "vanishing_gradients",
    "softmax_stability",
    "batch_scaling",
    "verify",
)
ROLES = ("config", "compute", "findings", "figures", "report")
SWEEPS = ("compare_activations", "vanishing_gradients", "softmax_stability", "batch_scaling")


@dataclass
class Module:
    name: str
    path: Path
    source: str
    top: set[str] = field(default_factory=set)  # nnhw modules imported at module level
    typing_only: set[str] = field(default_factory=set)
    private: list[str] = field(default_factory=list)  # "line: what"
    uncommented_local: list[str] = field(default_factory=list)


def _module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(["nnhw", *parts])


def _resolve(node: ast.ImportFrom, current: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = current.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *(node.module.split(".") if node.module else [])])


def _has_comment(lines: list[str], lineno: int) -> bool:
    """A comment on the import's line or in the comment block right above it."""
    if "#" in lines[lineno - 1]:
        return True
    i = lineno - 2
    while i >= 0 and (
        not lines[i].strip()
        or lines[i].strip().startswith(("from ", "import ", ")"))
        or lines[i].strip().endswith(",")
    ):
        i -= 1  # a group of imports (sorted into blocks) shares one comment
    return i >= 0 and lines[i].strip().startswith("#")


def scan(root: Path) -> dict[str, Module]:
    modules: dict[str, Module] = {}
    for pkg in PACKAGES:
        for path in sorted((root / pkg).rglob("*.py")):
            name = _module_name(path, root)
            modules[name] = Module(name, path, path.read_text("utf-8"))
    for mod in modules.values():
        _scan_module(mod, modules)
    return modules


def _scan_module(mod: Module, modules: dict[str, Module]) -> None:
    """Fill in `mod`'s imports, private uses and uncommented function-level imports."""
    tree = ast.parse(mod.source)
    lines = mod.source.splitlines()
    is_package = mod.path.name == "__init__.py"
    aliases: dict[str, str] = {}  # local name -> nnhw module it stands for

    def targets(node: ast.Import | ast.ImportFrom) -> list[tuple[str, str]]:
        """(imported nnhw module, local name) pairs; names of a module count as the module."""
        out = []
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("nnhw."):
                    out.append((a.name, a.asname or a.name.split(".")[0]))
            return out
        src = _resolve(node, mod.name, is_package)
        if not src.startswith("nnhw"):
            return out
        for a in node.names:
            sub = f"{src}.{a.name}"
            if sub in modules:
                out.append((sub, a.asname or a.name))
            else:
                if a.name.startswith("_") and not a.name.startswith("__"):
                    mod.private.append(f"{node.lineno}: from {src} import {a.name}")
                out.append((src, ""))
        return out

    def visit(body: list[ast.stmt], where: str) -> None:
        for node in body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                for target, local in targets(node):
                    if local:
                        aliases[local] = target
                    if where == "top":
                        mod.top.add(target)
                    elif where == "typing":
                        mod.typing_only.add(target)
                if where == "function" and not _has_comment(lines, node.lineno):
                    mod.uncommented_local.append(f"{mod.path.name}:{node.lineno}")
            elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.body, "typing")
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(node.body, "function")
            elif isinstance(node, ast.ClassDef):
                visit(node.body, where)
            else:
                for child in ast.iter_child_nodes(node):
                    if isinstance(child, ast.stmt):
                        visit([child], where)

    visit(tree.body, "top")
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            mod.private.append(f"{node.lineno}: {node.value.id}.{node.attr}")


def cycles(modules: dict[str, Module]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def edges(name: str) -> list[str]:
        deps = modules[name].top
        # importing a.b.c first imports the packages a.b; their __init__ count as imported
        return [d for d in deps if d in modules and d != name]

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges(v):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(modules):
        if v not in index:
            strong(v)
    return out


@pytest.fixture(scope="module")
def modules() -> dict[str, Module]:
    return scan(ROOT)


def test_data_flows_one_way(modules: dict[str, Module]) -> None:
    wrong = []
    for m in modules.values():
        deps = m.top | m.typing_only
        if m.name.startswith("nnhw.core"):
            wrong += [f"{m.name} -> {d}" for d in deps if not d.startswith("nnhw.core")]
        if m.name.startswith("nnhw.experiments"):
            wrong += [f"{m.name} -> {d}" for d in deps if d.startswith("nnhw.cli")]
    assert not wrong


def test_no_import_cycles(modules: dict[str, Module]) -> None:
    assert cycles(modules) == []


def test_no_private_names_across_modules(modules: dict[str, Module]) -> None:
    found = {m.name: m.private for m in modules.values() if m.private}
    assert not found


def test_function_level_imports_say_why(modules: dict[str, Module]) -> None:
    found = [where for m in modules.values() for where in m.uncommented_local]
    assert not found, "imports inside functions without a comment saying why: " + ", ".join(found)


def test_every_study_has_the_same_roles() -> None:
    missing = [
        f"{s}/{role}.py"
        for s in STUDIES
        for role in (*ROLES, *(("cells",) if s in SWEEPS else ()))
        if not (ROOT / "experiments" / s / f"{role}.py").is_file()
    ]
    assert not missing


def test_pyproject_lists_every_package() -> None:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    listed = set(data["tool"]["setuptools"]["packages"])
    found = {
        _module_name(init, ROOT) for pkg in PACKAGES for init in (ROOT / pkg).rglob("__init__.py")
    }
    assert listed == found


def _plant(tmp_path: Path, files: dict[str, str]) -> dict[str, Module]:
    for pkg in PACKAGES:
        (tmp_path / pkg).mkdir()
        (tmp_path / pkg / "__init__.py").write_text("")
    for rel, text in files.items():
        (tmp_path / rel).write_text(text)
    return scan(tmp_path)


def test_the_checks_catch_planted_violations(tmp_path: Path) -> None:
    mods = _plant(
        tmp_path,
        {
            "core/a.py": "from nnhw.experiments.b import f\n",
            "experiments/b.py": (
                "from nnhw.core import a\nfrom nnhw.core.c import _hidden\n\n"
                "def f():\n    import nnhw.cli\n    return a._x\n"
            ),
            "core/c.py": "_hidden = 1\n",
        },
    )
    assert cycles(mods) == [["nnhw.core.a", "nnhw.experiments.b"]]
    assert len(mods["nnhw.experiments.b"].private) == 2
    assert mods["nnhw.experiments.b"].uncommented_local == ["b.py:5"]
    assert "nnhw.experiments.b" in mods["nnhw.core.a"].top
