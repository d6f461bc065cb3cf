"""The checks of what an order sends: fiscal codes, titles, signature fields.

The service's own rules (API-NOTES §1.3.1, §1.3.2), used by :class:`~fsm.machine.order.Order`
and its documents: a bad value is refused with an error naming the field, never repeating a
fiscal code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import InvalidInput

FISCAL_CODE = re.compile(
    r"[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]"
)
"""The pattern of a personal fiscal code, as the service checks it (API-NOTES §1.3.1)."""

CLAUSE_TYPES = ("REQUIRED", "UNFAIR", "OPTIONAL")
_ANY_FISCAL_CODE = re.compile(
    r"[\s_.-]*[A-Za-z]{6}[0-9LMNPQRSTUVlmnpqrstuv]{2}[ABCDEHLMPRSTabcdehlmprst]"
    r"[0-9LMNPQRSTUVlmnpqrstuv]{2}[A-Za-z][0-9LMNPQRSTUVlmnpqrstuv]{3}[A-Za-z][\s_.-]*"
)
"""A fiscal code's shape in any case, wherever it stands in a text (inside a word too), with
the separators around it."""
DEFAULT_TITLE = "Documento"
"""The document title when a file's name leaves fewer than 3 characters."""


def units(text: str) -> int:
    """``text``'s length as the service counts it (UTF-16 code units, JavaScript's length)."""
    return len(text.encode("utf-16-le")) // 2


def holds_fiscal_code(text: str) -> bool:
    """Whether ``text`` holds something of a fiscal code's shape, in any case, anywhere."""
    return _ANY_FISCAL_CODE.search(text) is not None


def default_title(name: str) -> str:
    """A document title made from a file's name (its stem, ``domanda-VRDGPP75C12F205X``): any
    fiscal code taken out with the separators around it, spaces collapsed, cut to 60 characters;
    :data:`DEFAULT_TITLE` (followed by what is left) when fewer than 3 remain. It never holds a
    fiscal code, and always has the 3 to 60 characters the service takes."""
    left = " ".join(_ANY_FISCAL_CODE.sub(" ", name).split()).strip(" -_.")
    title = left if units(left) >= 3 else f"{DEFAULT_TITLE} {left}".strip()
    while units(title) > 60:
        title = title[:-1]
    return title.rstrip() if units(title.rstrip()) >= 3 else title


def no_fiscal_code(value: str | None, what: str) -> None:
    """Refuse ``value`` if it holds a fiscal code, naming ``what`` (never the value)."""
    if value is not None and holds_fiscal_code(value):
        raise InvalidInput(
            f"the {what} holds a fiscal code: the service keeps it and shows it in the IO app, "
            "and the fiscal code goes to POST /signers only; write it without"
        )


def check_fiscal_code(value: object) -> str:
    """Return ``value`` if it is a fiscal code's shape, else raise naming what is wrong (never
    the value itself: it is personal data)."""
    if not isinstance(value, str):
        raise InvalidInput(f"the fiscal code must be a string, got {type(value).__name__}")
    if not FISCAL_CODE.fullmatch(value):
        raise InvalidInput(
            f"the fiscal code is not a personal fiscal code ({len(value)} characters; 16 "
            "upper-case letters and digits in the pattern AAAAAA00A00A000A were expected)"
        )
    return value


def check_fields(fields: object) -> tuple[dict[str, Any], ...]:
    """The signature fields of a document, checked as the service checks them (API-NOTES
    §1.3.2): each names an existing field (``attrs.unique_name``) or one to create
    (``attrs.coordinates``, ``attrs.page``, ``attrs.size``), with a clause whose title has 5 to
    79 characters; at least one clause must not be OPTIONAL."""
    if not isinstance(fields, Sequence) or isinstance(fields, str | bytes) or not fields:
        raise InvalidInput("the signature fields must be a non-empty list")
    checked = tuple(_check_field(item, index) for index, item in enumerate(fields))
    if all(item["clause"]["type"] == "OPTIONAL" for item in checked):
        raise InvalidInput("the signature fields need at least one clause that is not OPTIONAL")
    return checked


def signature_field(
    name: str, title: str = "Firma del documento", kind: str = "REQUIRED"
) -> dict[str, Any]:
    """The service's object for the PDF's existing signature field ``name``: its clause titled
    ``title`` (5 to 79 characters), of type ``kind`` (REQUIRED, UNFAIR or OPTIONAL)."""
    return {"attrs": {"unique_name": name}, "clause": {"title": title, "type": kind.upper()}}


def _check_field(item: object, index: int) -> dict[str, Any]:
    where = f"signature field {index}"
    if not isinstance(item, Mapping):
        raise InvalidInput(f"{where} must be an object with attrs and clause")
    clause, attrs = item.get("clause"), item.get("attrs")
    if not isinstance(clause, Mapping) or clause.get("type") not in CLAUSE_TYPES:
        raise InvalidInput(f"{where}: clause.type must be one of {', '.join(CLAUSE_TYPES)}")
    title = clause.get("title")
    if not isinstance(title, str) or not 5 <= len(title) <= 79:
        raise InvalidInput(f"{where}: clause.title must have 5 to 79 characters")
    if not isinstance(attrs, Mapping):
        raise InvalidInput(f"{where}: attrs must be an object")
    if "unique_name" in attrs:
        name = attrs["unique_name"]
        if not isinstance(name, str) or not name:
            raise InvalidInput(f"{where}: attrs.unique_name must be a non-empty string")
        return {"attrs": {"unique_name": name}, "clause": dict(clause)}
    return {"attrs": _placed(attrs, where), "clause": dict(clause)}


def _placed(attrs: Mapping[str, Any], where: str) -> dict[str, Any]:
    coordinates, size, page = attrs.get("coordinates"), attrs.get("size"), attrs.get("page")
    if not isinstance(page, int) or isinstance(page, bool) or page < 0:
        raise InvalidInput(f"{where}: attrs needs unique_name, or page (0 or more)")
    numbers = {"coordinates.x": None, "coordinates.y": None, "size.w": None, "size.h": None}
    for key in numbers:
        group, name = key.split(".")
        box = coordinates if group == "coordinates" else size
        value = box.get(name) if isinstance(box, Mapping) else None
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise InvalidInput(f"{where}: attrs.{key} must be a number, 0 or more")
    return {"coordinates": dict(coordinates), "page": page, "size": dict(size)}  # type: ignore[arg-type]
