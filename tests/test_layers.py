"""The package's layers (docs/architecture.md) only import downwards, and stay small.

Every import of every module is read with `ast`, at the top and inside functions alike
(imports under `if TYPE_CHECKING:` excepted: they never run). A module may import from its
own layer or a lower one; anything else fails with the module, the line and both layers.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "cnncalc"

# Lowest first. A module belongs to the layer of the longest prefix naming it.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("text", ("cnncalc.text", "cnncalc.escape", "cnncalc.problems", "cnncalc.gcpause")),
    ("kernels", ("cnncalc.backend.kernels",)),
    ("ops", ("cnncalc.ops",)),
    ("spec", ("cnncalc.spec", "cnncalc.checks.model", "cnncalc.checks.parse", "cnncalc.checks.units",
              "cnncalc.devices")),
    ("graph", ("cnncalc.graph",)),
    ("analysis", ("cnncalc.analysis",)),
    ("backend", ("cnncalc.backend",)),
    ("checks", ("cnncalc.checks",)),
    ("interop", ("cnncalc.imports", "cnncalc.export")),
    ("report", ("cnncalc.report",)),
    ("diff", ("cnncalc.diff", "cnncalc.sweep")),
    ("cli", ("cnncalc.cli", "cnncalc.__main__")),
]
# The package itself (`import cnncalc`) is the facade over the graph layer.
FACADE = ("cnncalc", "graph")
MAX_LOCAL_IMPORTS = 15
MAX_LINES = 500


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int:
    if module == FACADE[0]:
        return [name for name, _ in LAYERS].index(FACADE[1])
    best, rank = -1, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), index
    assert rank >= 0, f"{module} is in no layer: add it to tests/test_layers.py and the docs"
    return rank


def is_module(name: str) -> bool:
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports(path: Path) -> list[tuple[int, str, bool, ast.stmt]]:
    return imports_of(module_name(path), path.name == "__init__.py", path.read_text(encoding="utf-8"))


def imports_of(module: str, is_package: bool, source: str) -> list[tuple[int, str, bool, ast.stmt]]:
    """(line, imported cnncalc module, inside a function, the statement) for each import that runs."""
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[int, str, bool, ast.stmt]] = []

    def visit(node: ast.AST, local: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for stmt in child.orelse:
                    visit(stmt, local)
                continue
            if isinstance(child, ast.Import):
                found.extend((child.lineno, a.name, local, child) for a in child.names
                             if a.name.split(".")[0] == "cnncalc")
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    up = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*up, base] if base else up)
                if base.split(".")[0] == "cnncalc":
                    for alias in child.names:  # `from pkg import module` imports that module
                        sub = f"{base}.{alias.name}"
                        found.append((child.lineno, sub if is_module(sub) else base, local, child))
            visit(child, local or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(ast.parse(source), False)
    return found


def upward(module: str, found: list[tuple[int, str, bool, ast.stmt]]) -> list[str]:
    mine = layer_of(module)
    return [f"{module}:{line} imports {target} ({LAYERS[layer_of(target)][0]} is above "
            f"{LAYERS[mine][0]})" for line, target, _, _ in found if layer_of(target) > mine]


SOURCES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: module_name(p))
def test_a_module_imports_only_its_layer_and_below(path: Path) -> None:
    found = upward(module_name(path), imports(path))
    assert not found, "\n".join(found)


def test_function_local_imports_are_few_and_say_why() -> None:
    local: list[str] = []
    for path in SOURCES:
        lines = path.read_text(encoding="utf-8").splitlines()
        seen: set[int] = set()
        for line, _, inside, stmt in imports(path):
            if not inside or id(stmt) in seen:
                continue
            seen.add(id(stmt))
            local.append(f"{module_name(path)}:{line}")
            text = lines[line - 1]
            assert "#" in text or "# " in lines[line - 2], (
                f"{module_name(path)}:{line}: a lazy import says why in a comment (NumPy or rich "
                "not needed on this path, or a command loaded only when run)")
    assert len(local) <= MAX_LOCAL_IMPORTS, "\n".join(local)


def test_the_checker_sees_upward_imports_at_the_top_and_in_functions() -> None:
    source = ("from __future__ import annotations\nfrom typing import TYPE_CHECKING\n"
              "from cnncalc.text import number\nfrom . import rfgeom\n"
              "if TYPE_CHECKING:\n    from cnncalc.graph import Graph\n"
              "from ..report import table\n"
              "def f():\n    from cnncalc.backend import kernels\n    import cnncalc.cli.rf\n")
    found = upward("cnncalc.analysis.rf", imports_of("cnncalc.analysis.rf", False, source))
    assert [line.split(" (")[0] for line in found] == [
        "cnncalc.analysis.rf:7 imports cnncalc.report.table",
        "cnncalc.analysis.rf:10 imports cnncalc.cli.rf"]
    assert layer_of("cnncalc.backend.kernels.conv") < layer_of("cnncalc.ops.conv")
    assert layer_of("cnncalc.checks.parse") < layer_of("cnncalc.graph") < layer_of("cnncalc.checks.run")


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: module_name(p))
def test_no_module_is_over_500_lines(path: Path) -> None:
    count = len(path.read_text(encoding="utf-8").splitlines())
    assert count <= MAX_LINES, f"{module_name(path)} has {count} lines"
