"""A PDF checked here before anything is sent: it opens, and the signature fields named exist.

The service checks the same once the file is uploaded (validate-document, the validation after
the upload), after a request, a signer and a dossier were made for it; a file that does not open
was refused there with a 500 five times. pypdf reads it here first: a file it cannot open, or a
field name its form does not have, is refused with what is wrong, and nothing is sent.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from pypdf import PdfReader

from firmaio.fsm.errors import InvalidInput

logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings about flaws it works around

_MAX_DEPTH = 32
"""How deep the form's field tree is followed: deeper is a loop in a broken file."""


def signature_fields(reader: PdfReader) -> frozenset[str]:
    """The fully qualified names of the form's terminal ``/Sig`` fields."""
    root: Any = reader.trailer["/Root"].get_object()
    form = root.get("/AcroForm")
    found: set[str] = set()

    def walk(node: Any, prefix: str, field_type: Any, depth: int) -> None:
        node = node.get_object()
        if depth > _MAX_DEPTH or not hasattr(node, "get"):
            return
        partial = node.get("/T")
        name = f"{prefix}.{partial}" if prefix and partial is not None else str(partial or prefix)
        field_type = node.get("/FT", field_type)
        named = [k.get_object() for k in node.get("/Kids", [])]
        named = [kid for kid in named if hasattr(kid, "get") and "/T" in kid]
        for kid in named:
            walk(kid, name, field_type, depth + 1)
        if not named and field_type == "/Sig" and name:
            found.add(name)

    if form is not None:
        for field in form.get_object().get("/Fields", []):
            walk(field, "", None, 0)
    return frozenset(found)


def check_pdf(path: str, content: bytes, fields: Iterable[Mapping[str, Any]]) -> None:
    """Refuse ``content`` (the file at ``path``) if pypdf cannot open it, or if a field named
    by ``unique_name`` is not one of its signature fields, or a page a field is placed on does
    not exist; nothing was sent."""
    try:
        reader = PdfReader(io.BytesIO(content))
        pages = len(reader.pages)
        named = signature_fields(reader)
    except Exception as error:  # any way a file can be broken
        raise InvalidInput(
            f"{path} starts with %PDF but does not open as a PDF ({type(error).__name__}: "
            f"{str(error)[:120]}); nothing was sent: export it again and rerun"
        ) from None
    for field in fields:
        attrs = field.get("attrs", {})
        name, page = attrs.get("unique_name"), attrs.get("page")
        if name is not None and name not in named:
            has = ", ".join(sorted(named)) or "none"
            raise InvalidInput(
                f"{path} has no signature field named {name!r} (its signature fields: {has}); "
                "nothing was sent"
            )
        if isinstance(page, int | float) and not 0 <= page < pages:
            raise InvalidInput(
                f"{path} has {pages} page(s): a field on page {page:g} (counted from 0) cannot "
                "be placed; nothing was sent"
            )
