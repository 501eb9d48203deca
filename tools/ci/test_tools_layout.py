"""The dev tooling's shape (#26): tools/ holds the user's tool (zk_status) and the packages labs,
bench, ci and testkit; no module of them imports another in a cycle, and none puts a directory on
sys.path to import code (the collection's code imports by its collection name)."""

from __future__ import annotations

import ast
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[1]
PACKAGES = ("labs", "bench", "ci", "testkit")


def module_name(path: Path) -> str:
    parts = path.relative_to(TOOLS).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def sources() -> dict[str, Path]:
    found = {module_name(p): p for p in TOOLS.glob("*.py")}
    for package in PACKAGES:
        found |= {module_name(p): p for p in (TOOLS / package).rglob("*.py")}
    return found


def imports(path: Path, known: set[str]) -> set[str]:
    """The modules of tools/ that a file imports (at any depth of its code)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        found |= {name for name in names if name in known}
    return found


def cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of the graph, or []."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []


def test_tools_is_the_users_tool_and_four_packages() -> None:
    top = sorted(p.name for p in TOOLS.iterdir() if p.name != "__pycache__")
    assert top == ["bench", "ci", "fake_zk.py", "lab", "labs", "test_zk_status.py", "testkit",
                   "zk-status", "zk_status.py"]
    for package in PACKAGES:
        assert (TOOLS / package / "__init__.py").is_file(), package


def test_no_module_of_tools_imports_another_in_a_cycle() -> None:
    modules = sources()
    graph = {name: imports(path, set(modules)) - {name} for name, path in modules.items()}
    assert graph["labs.vagrant"] >= {"labs.lab"}, "the graph misses the imports it is about"
    assert cycle(graph) == []


def test_a_cycle_is_found() -> None:
    assert cycle({"labs.lab": {"labs.vagrant"}, "labs.vagrant": {"labs.lab"}}) == [
        "labs.lab", "labs.vagrant", "labs.lab"]
    assert cycle({"a": {"b"}, "b": set()}) == []


def test_no_tool_puts_a_directory_on_sys_path() -> None:
    offenders = []
    for name, path in sources().items():
        if name.rsplit(".", 1)[-1].startswith("test_"):
            continue  # tests may run code in a child process with a path of their own
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Attribute) and node.attr in ("insert", "append")
                    and ast.unparse(node.value) == "sys.path"):
                offenders.append(f"{path.relative_to(TOOLS)}:{node.lineno}")
    assert offenders == []
