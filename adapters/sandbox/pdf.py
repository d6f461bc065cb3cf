"""The service's document checks, for ``POST /validate-document`` and for the validation that
follows an upload (``validate-upload.ts`` and ``packages/io-sign/src/infra/pdf.ts`` of io-sign).

The real service reads a PDF with pdf-lib: the size of each page (its MediaBox) and the names of
its signature form fields (``/FT /Sig``, fully qualified). The sandbox reads the same two facts
with pypdf and applies the same rules, with the same texts:

* the first four bytes are ``%PDF``, or the only violation is :data:`NOT_A_PDF`;
* a field named by ``unique_name`` exists as a signature field;
* a field to be created has its page (0-based) and fits it: ``x + w < width`` and
  ``y + h < height``, strictly.

Every field is checked and every violation reported, in the order of the fields.

Where the sandbox departs, on purpose: a file that starts with ``%PDF`` but that pypdf cannot
read gets :data:`NOT_A_PDF` too. The real service passes pdf-lib's own error on: the upload is
REJECTED with pdf-lib's message as ``reject_reason`` (``Failed to parse PDF document (line:...
col:... offset=...): ...``, different for each file), and ``/validate-document`` answers 500
``{"title": "Internal Server Error", "detail": "Error"}``, as it does for a file with no
``%PDF-`` header anywhere. A client cannot act on either text, so the sandbox gives the one
stable violation a client can show; see docs/sandbox-documents.md.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pypdf import PdfReader

from ..client.pdf_check import signature_fields

NOT_A_PDF = "the uploaded document has an invalid file signature (not a valid PDF)"

logging.getLogger("pypdf").setLevel(logging.ERROR)
"""pypdf warns (through logging) about each flaw it works around in a file; a sandbox that reads
files sent to it on purpose broken would fill its log with them."""


@dataclass(frozen=True, slots=True)
class PdfFacts:
    """What the checks need of a PDF: each page's size, by index, and its signature fields."""

    pages: tuple[tuple[float, float], ...]
    signature_fields: frozenset[str]


def _signature_fields(reader: PdfReader) -> frozenset[str]:
    """The fully qualified names of the terminal fields of type ``/Sig`` (the type may be set on
    a parent), as pdf-lib's ``getForm().getFields()`` lists them: the same walk ``firmaio send``
    checks a PDF with before anything is sent."""
    return signature_fields(reader)


@lru_cache(maxsize=32)
def read_pdf(content: bytes) -> PdfFacts | None:
    """The facts of ``content``, or ``None`` if pypdf cannot read it. Kept for the last few
    files: the demo and the benchmarks upload the same bytes thousands of times."""
    try:
        reader = PdfReader(io.BytesIO(content))
        pages = tuple((float(p.mediabox.width), float(p.mediabox.height)) for p in reader.pages)
        return PdfFacts(pages, _signature_fields(reader))
    except Exception:  # any way a file can be broken; the caller says "not a valid PDF"
        return None


def _field_violation(field: dict[str, Any], facts: PdfFacts) -> str | None:
    title, attrs = field["clause"]["title"], field["attrs"]
    if "unique_name" in attrs:
        name = attrs["unique_name"]
        if name in facts.signature_fields:
            return None
        return f'({title}) the field "{name}" was not found is the uploaded document'  # sic
    page = attrs["page"]
    if float(page).is_integer():
        page = int(page)  # JavaScript writes 1.0 as 1
    if not isinstance(page, int) or page >= len(facts.pages):
        return (
            f"({title}) incompatible coordinates: unable to find page {page} in the uploaded "
            "document"
        )
    width, height = facts.pages[page]
    x, y = attrs["coordinates"]["x"], attrs["coordinates"]["y"]
    w, h = attrs["size"]["w"], attrs["size"]["h"]
    if x + w < width and y + h < height:
        return None
    return f"({title}) incompatible coordinates: they can't fit in the uploaded document"


def document_violations(content: bytes, fields: list[dict[str, Any]]) -> list[str]:
    """Every reason ``content`` does not fit ``fields`` (signature fields of the spec's shape,
    checked beforehand), or ``[]``. The service joins them with a new line for a rejected
    upload's ``reject_reason`` and lists them in validate-document's ``violations``."""
    if content[:4] != b"%PDF":
        return [NOT_A_PDF]
    facts = read_pdf(content)
    if facts is None:
        return [NOT_A_PDF]
    return [v for v in (_field_violation(f, facts) for f in fields) if v is not None]
