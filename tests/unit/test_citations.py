"""Citations that resolve: every "API-NOTES §N" the code, the docs, the diagrams and the report
cite is a section of the notes shipped inside the package, and the report links each to the
section it prints; the shipped sections are the research notes' own words."""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

import pytest

from firmaio.adapters.report.notes import CITATION, cited, linked, notes_text, sections
from firmaio.fsm.machine import BASIS

ROOT = Path(__file__).resolve().parents[2]
ORIGINAL = ROOT.parent / "shared" / "reference" / "io-sign" / "API-NOTES.md"


def citing_files() -> list[Path]:
    found = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    found += sorted((ROOT / "diagrams").iterdir())
    for folder in ("fsm", "adapters"):
        found += sorted(p for p in (ROOT / folder).rglob("*") if p.suffix in (".py", ".j2"))
    return [p for p in found if p.is_file() and p.name != "API-NOTES.md"]


def test_the_notes_are_shipped_in_the_package() -> None:
    shipped = files("firmaio.fsm.machine").joinpath("API-NOTES.md")
    assert shipped.is_file()
    assert "5c6a10d5cb3db9aca95d4ecc3655ef38b044e2d1" in notes_text()  # the upstream commit
    assert '"firmaio.fsm.machine" = ["API-NOTES.md"]' in (ROOT / "pyproject.toml").read_text()


def test_every_citation_resolves_to_a_shipped_section() -> None:
    known = sections()
    unresolved = {
        f"{path.relative_to(ROOT)}: API-NOTES §{match.group(1)}"
        for path in citing_files()
        for match in CITATION.finditer(path.read_text(errors="replace"))
        if match.group(1) not in known
    }
    assert not unresolved, f"citations of sections not shipped: {sorted(unresolved)}"
    assert len(known) > 20


def test_the_report_prints_every_section_its_bases_cite_and_links_each() -> None:
    texts = [basis.text for basis in BASIS.values()]
    printed = {section.number for section in cited(texts)}
    assert printed == {m.group(1) for text in texts for m in CITATION.finditer(text)}
    links = {href for text in texts for href in re.findall(r'href="#notes-([\d.]+)"', linked(text))}
    assert links == printed
    assert str(linked("a <b> API-NOTES §1.3.3")) == (
        'a &lt;b&gt; <a class="cite" href="#notes-1.3.3">API-NOTES §1.3.3</a>'
    )


def test_the_shipped_sections_are_the_notes_own_words() -> None:
    if not ORIGINAL.is_file():
        pytest.skip(f"the research notes are not beside the checkout ({ORIGINAL})")
    original = ORIGINAL.read_text()
    shipped = notes_text()
    body = shipped[shipped.index("# Firma con IO") :]
    assert original.startswith(body.rstrip())
