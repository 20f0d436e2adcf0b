"""The config package reads and checks `alertd.yml` without the daemon's stages: anything
may import it, and it imports none of them (not even inside a function), so that loading a
configuration can never start, or depend on, what the configuration describes. Nor does it
import the rule language: the durations and name suggestions both use live in neutral
top-level modules."""

from __future__ import annotations

import ast
from pathlib import Path

import alertd.config

RUNTIME = frozenset(f"alertd.{name}" for name in (
    "templates", "dispatch", "notify", "receivers", "rules", "sources", "api", "daemon",
    "lang"))


def imported_modules(path: Path) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            found.append(node.module)
    return found


def test_the_config_package_imports_no_runtime_package() -> None:
    package = Path(alertd.config.__file__).parent
    bad = [f"{path.name}: {module}"
           for path in sorted(package.glob("*.py"))
           for module in imported_modules(path)
           if ".".join(module.split(".")[:2]) in RUNTIME]
    assert bad == []
