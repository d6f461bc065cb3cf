"""The issuer API notes the table's bases cite (``API-NOTES §N``), read from the copy shipped in
the package (``firmaio/fsm/machine/API-NOTES.md``), so that every citation in a report resolves
to its text, offline: the report prints each cited section once and links each citation to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from markupsafe import Markup, escape

from firmaio.fsm.redact import redact_text

CITATION = re.compile(r"API-NOTES §(\d+(?:\.\d+)*)")
_HEADING = re.compile(r"^#{1,6} (\d+(?:\.\d+)*)\.? (.*)$")


@dataclass(frozen=True, slots=True)
class Section:
    number: str
    title: str
    text: str
    """Its own text, up to the next heading, fiscal-code examples masked."""


def notes_text() -> str:
    """The shipped notes, whole."""
    return files("firmaio.fsm.machine").joinpath("API-NOTES.md").read_text(encoding="utf-8")


@cache
def sections() -> dict[str, Section]:
    """Every numbered section of the shipped notes, by number (``1.3.3``)."""
    found: dict[str, Section] = {}
    number, title, body = "", "", list[str]()
    for line in [*notes_text().splitlines(), "# 999 end"]:
        heading = _HEADING.match(line)
        if heading is None:
            body.append(line)
            continue
        if number:
            found[number] = Section(number, title, redact_text("\n".join(body).strip()))
        number, title, body = heading.group(1), heading.group(2), []
    return found


def cited(texts: Iterable[str]) -> list[Section]:
    """The sections ``texts`` cite, each once, in the notes' order."""
    numbers = {m.group(1) for text in texts for m in CITATION.finditer(text)}
    known = sections()
    return [known[n] for n in known if n in numbers]


def linked(text: str, href: str = "") -> Markup:
    """``text`` escaped, each ``API-NOTES §N`` a link to its section (``{href}#notes-N``)."""
    parts: list[str] = []
    last = 0
    for match in CITATION.finditer(text):
        parts.append(str(escape(text[last : match.start()])))
        number = match.group(1)
        parts.append(f'<a class="cite" href="{href}#notes-{number}">{escape(match.group(0))}</a>')
        last = match.end()
    parts.append(str(escape(text[last:])))
    return Markup("".join(parts))
