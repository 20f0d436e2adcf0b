"""The imports of alertd/ go one way: the layer order of docs/architecture.md, read from
its `layers` block, and no cycle between packages. Every import counts: at the top of a
module, inside a function, or only for type checking."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "alertd"
DOCS = ROOT / "docs" / "architecture.md"


def layers() -> dict[str, int]:
    """Each package or top-level module of alertd/, with its layer (0 is the lowest)."""
    block = re.search(r"```layers\n(.*?)```", DOCS.read_text("utf-8"), re.S)
    assert block, "docs/architecture.md has no ```layers block"
    return {name: level for level, line in enumerate(block.group(1).splitlines())
            for name in line.split()}


def part(module: str) -> str | None:
    """The package or top-level module of `alertd.x.y` (x); None for `alertd` itself."""
    names = module.split(".")
    return names[1] if len(names) > 1 and names[0] == "alertd" else None


def parts() -> list[str]:
    return sorted({p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
                  | {p.parent.name for p in PACKAGE.glob("*/__init__.py")})


def imports(path: Path) -> Iterator[tuple[str, int]]:
    """The alertd modules `path` imports (`from alertd import x` names x), with lines."""
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "alertd":
                for alias in node.names:
                    yield f"alertd.{alias.name}", node.lineno
            else:
                yield node.module, node.lineno


def edges() -> dict[tuple[str, str], list[str]]:
    """(importer, imported) between different parts of alertd/, with where."""
    found: dict[tuple[str, str], list[str]] = {}
    known = set(parts())
    for path in sorted(PACKAGE.rglob("*.py")):
        source = part(".".join(path.relative_to(ROOT).with_suffix("").parts))
        for module, line in imports(path):
            target = part(module)
            if source and target and target in known and target != source:
                where = f"{path.relative_to(ROOT)}:{line}"
                found.setdefault((source, target), []).append(where)
    return found


def test_every_part_of_alertd_has_a_layer() -> None:
    assert [p for p in parts() if p not in layers()] == []
    assert [p for p in layers() if p not in parts()] == []  # none left over either


def test_no_import_goes_up_a_layer() -> None:
    level = layers()
    upward = [f"{a} (layer {level[a]}) imports {b} (layer {level[b]}): {', '.join(w)}"
              for (a, b), w in sorted(edges().items()) if level[a] < level[b]]
    assert upward == []


def test_no_cycle_between_parts() -> None:
    """Not even within a layer: no part reaches itself through the others."""
    found = edges()
    after: dict[str, set[str]] = {}
    for a, b in found:
        after.setdefault(a, set()).add(b)
    cycles = []
    for start in sorted(after):
        path = _path_back(start, after)
        if path:
            cycles.append(" -> ".join(path))
    assert cycles == []


def _path_back(start: str, after: dict[str, set[str]]) -> list[str]:
    """A path of imports from `start` back to itself, or []."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for nxt in sorted(after.get(node, ())):
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return []


def test_a_cycle_is_found() -> None:
    assert _path_back("a", {"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _path_back("a", {"a": {"b"}, "b": {"c"}}) == []


@pytest.mark.parametrize("text, expected", [
    ("from alertd.lang.ast import Span\n", [("alertd.lang.ast", 1)]),
    ("from alertd import errors, model\n", [("alertd.errors", 1), ("alertd.model", 1)]),
    ("def f():\n    import alertd.store.db\n", [("alertd.store.db", 2)]),
    ("if TYPE_CHECKING:\n    from alertd.daemon import Daemon\n", [("alertd.daemon", 2)]),
    ("from .sibling import x\nimport os\n", [("os", 2)]),
])
def test_imports_are_found_wherever_they_are(tmp_path: Path, text: str,
                                             expected: list[tuple[str, int]]) -> None:
    module = tmp_path / "m.py"
    module.write_text(text, encoding="utf-8")
    assert list(imports(module)) == expected
