"""The README stays short enough to read to the end, and no link in it or in docs/ is broken."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
README_LIMIT = 300

_FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*$", re.MULTILINE)


def prose(text: str) -> str:
    """``text`` without fenced code blocks or code spans, where brackets are not links."""
    return _CODE_SPAN.sub("", _FENCE.sub("", text))


def anchors(page: Path) -> set[str]:
    """The anchors GitHub gives the headings of ``page``: lower case, punctuation dropped."""
    slugs = set()
    for heading in _HEADING.findall(_FENCE.sub("", page.read_text())):  # not a `#` in code
        text = heading.replace("`", "").strip().lower()
        slugs.add(re.sub(r"[^\w\- ]", "", text).replace(" ", "-"))
    return slugs


def links(page: Path) -> list[str]:
    """The relative link targets of ``page`` (web and mail addresses left out)."""
    found = _LINK.findall(prose(page.read_text()))
    return [target for target in found if not re.match(r"[a-z][a-z0-9+.-]*:", target)]


def test_readme_is_short_enough_to_read_to_the_end() -> None:
    """README.md stays under 300 lines; the manual lives in docs/."""
    lines = len((ROOT / "README.md").read_text().splitlines())
    assert lines < README_LIMIT, f"README.md has {lines} lines: move detail into docs/"


def test_the_pages_have_links_to_check() -> None:
    """The link check below reads links at all (a broken pattern would pass vacuously)."""
    assert "docs/machine.md" in links(ROOT / "README.md")
    assert len(PAGES) > 1


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_relative_link_points_to_a_file_that_exists(page: Path) -> None:
    """Each relative link names an existing file, and its #anchor a heading of that file."""
    broken = []
    for target in links(page):
        path, _, anchor = target.partition("#")
        destination = (page.parent / path).resolve() if path else page
        if not destination.is_file():
            broken.append(f"{target}: no such file")
        elif anchor and destination.suffix == ".md" and anchor not in anchors(destination):
            broken.append(f"{target}: no heading #{anchor}")
    assert not broken, f"{page.relative_to(ROOT)} has broken links: {broken}"


_FISCAL_CODE_ARGUMENT = re.compile(r"--fiscal-code(?!-file)[ =]+\S+")


def test_no_example_puts_a_fiscal_code_on_the_command_line() -> None:
    """Every example (a fenced block) passes the fiscal code through the environment, a file or
    standard input: a command line is public on the machine. The pages do show those ways."""
    on_the_line, shown = [], set()
    for page in PAGES:
        for block in _FENCE.finditer(page.read_text()):
            name = str(page.relative_to(ROOT))
            on_the_line += [
                f"{name}: {m.group()}" for m in _FISCAL_CODE_ARGUMENT.finditer(block[0])
            ]
            if "firmaio send" in block[0] and re.search(
                r"FIRMAIO_FISCAL_CODE|--fiscal-code-file", block[0]
            ):
                shown.add(name)
    assert not on_the_line
    assert {"README.md", "docs/issuer.md"} <= shown
