"""The API is built over what it is handed (`ApiContext`), never over the daemon itself."""

from __future__ import annotations

import ast
from pathlib import Path

import alertd.api

API = Path(alertd.api.__file__).parent


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_module_of_the_api_imports_the_daemon() -> None:
    modules = sorted(API.glob("*.py"))
    assert modules
    for path in modules:
        assert not any(name == "alertd.daemon" or name.startswith("alertd.daemon.")
                       for name in imported(path)), path.name
