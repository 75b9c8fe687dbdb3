"""docs/ stays true to the code: every file it names exists, every `file.py: name` is defined there, and
every code word the architecture notes use is still spelled somewhere in the code. A rename that forgets
the docs fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").rglob("*.md"))
# The guides that name our functions; the provider pages name the providers' own fields.
GUIDES = [ROOT / "docs" / "architecture.md", ROOT / "docs" / "adding-a-provider.md"]
PATH = re.compile(r"`([\w./-]+/[\w.-]+\.py)(?::\s*([A-Za-z_]\w*))?`")
CODE_WORD = re.compile(r"`(?:[\w.]+\.)?([a-z]+(?:_[a-z0-9]+)+)(?:\([^`]*\))?`")
SOURCES = [
    path
    for folder in ("media_sync", "integrations", "config", "templates", "bench", "tests", "deploy")
    for path in (ROOT / folder).rglob("*")
    if path.suffix in {".py", ".html", ".service", ".conf"} and "migrations" not in path.parts
]


def resolve(name: str) -> Path | None:
    for base in (ROOT, ROOT / "media_sync", ROOT / "integrations", ROOT / "media_sync" / "services"):
        if (base / name).is_file():
            return base / name
    return None


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_file_the_docs_name_exists_and_holds_what_they_say(doc: Path) -> None:
    problems = []
    for name, defined in PATH.findall(doc.read_text()):
        if "acme" in name:  # the guide's example provider
            continue
        found = resolve(name)
        if found is None:
            problems.append(f"{name}: no such file")
        elif defined and not re.search(
            rf"^\s*(?:def|class)\s+{defined}\b|^{defined}\b", found.read_text(), re.M
        ):
            problems.append(f"{name}: nothing named {defined}")
    assert problems == []


def test_every_code_word_of_the_guides_is_still_in_the_code() -> None:
    code = "\n".join([*(path.read_text() for path in SOURCES), *(path.stem for path in SOURCES)])
    words = {
        word
        for guide in GUIDES
        for word in CODE_WORD.findall(guide.read_text())
        if not word.startswith("ac_") and "acme" not in word  # the guide's example provider
    }
    assert len(words) > 40  # it reads them
    assert sorted(word for word in words if not re.search(rf"\b{word}\b", code)) == []


REFERENCE = re.compile(r'Reference: (docs/[\w/.-]+\.md), "([^"]+)"(?: and "([^"]+)")?')


def test_every_reference_comment_names_a_section_its_document_has() -> None:
    cited = [
        (path, match)
        for path in [*(ROOT / "integrations").rglob("*.py"), *(ROOT / "media_sync").rglob("*.py")]
        for match in REFERENCE.finditer(path.read_text())
    ]
    assert len(cited) > 10  # it finds them
    problems = []
    for path, match in cited:
        doc = ROOT / match[1]
        headings = re.findall(r"^#+ (.+)$", doc.read_text(), re.M) if doc.is_file() else []
        for section in filter(None, (match[2], match[3])):
            if section not in headings:
                problems.append(f"{path.relative_to(ROOT)}: {match[1]} has no section {section!r}")
    assert problems == []
