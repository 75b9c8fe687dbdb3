"""The suite's own layout: no test module imports another. What tests share lives in modules pytest does
not collect (factories.py, access.py, clusters.py, pages.py) and in conftest.py fixtures, so moving or
deleting a test never breaks another."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent
IMPORTS_A_TEST_MODULE = re.compile(r"^\s*(from|import)\s+(tests(\.\w+)*\.|\.+(\w+\.)*)test_\w+", re.MULTILINE)


def test_no_test_module_imports_another() -> None:
    offenders = [
        str(path.relative_to(TESTS))
        for path in sorted(TESTS.rglob("*.py"))
        if IMPORTS_A_TEST_MODULE.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_no_application_file_is_over_400_lines() -> None:
    """The house's room size (docs/architecture.md, "Layers"): a file past it is split by noun.
    Migrations are history and stay as written."""
    root = TESTS.parent
    sizes = {
        str(path.relative_to(root)): len(path.read_text(encoding="utf-8").splitlines())
        for package in ("config", "integrations", "media_sync")
        for path in sorted((root / package).rglob("*.py"))
        if "migrations" not in path.parts
    }
    assert {name: lines for name, lines in sizes.items() if lines > 400} == {}
