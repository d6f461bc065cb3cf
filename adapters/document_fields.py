"""Signature fields given per document: ``[PDF:]NAME[:CLAUSE[:TYPE]]`` specs and a fields file's
content keyed by document, as ``firmaio send`` and a manifest's rows give them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from firmaio.fsm.errors import InvalidInput


def field_spec(value: str) -> dict[str, Any]:
    """``--field NAME[:CLAUSE TITLE[:TYPE]]``: an existing signature field of the PDF."""
    name, _, rest = value.partition(":")
    title, _, kind = rest.partition(":")
    if not name:
        raise InvalidInput(f"--field {value!r}: name the PDF's signature field")
    return {
        "attrs": {"unique_name": name},
        "clause": {"title": title or "Firma del documento", "type": (kind or "REQUIRED").upper()},
    }


def _which(pdfs: list[str], key: str) -> str | None:
    """The PDF of ``pdfs`` that ``key`` names (as given, or by its file name), if any."""
    return next((pdf for pdf in pdfs if key in (pdf, Path(pdf).name)), None)


def fields_by_document(
    pdfs: list[str], specs: list[str], loaded: Any = None, source: str = "the fields file"
) -> dict[str, list[Any]]:
    """Each PDF's signature fields: ``specs``, each ``[PDF:]NAME[:CLAUSE[:TYPE]]`` (with several
    PDFs, each names its PDF first), and ``loaded``, a fields file's content read from
    ``source`` (a list for one PDF, or lists keyed by document)."""
    fields: dict[str, list[Any]] = {pdf: [] for pdf in pdfs}
    for spec in specs:
        key, _, rest = spec.partition(":")
        pdf = _which(pdfs, key) if rest else None
        if pdf is None and len(pdfs) > 1:
            raise InvalidInput(
                f"--field {spec!r}: with several PDFs, name the PDF first "
                "(PDF:NAME[:CLAUSE[:TYPE]])"
            )
        fields[pdf or pdfs[0]].append(field_spec(rest if pdf else spec))
    if loaded is not None:
        if isinstance(loaded, list):
            if len(pdfs) > 1:
                raise InvalidInput(f"{source}: with several PDFs, key it by document")
            fields[pdfs[0]] += loaded
        else:
            for key, listed in loaded.items():
                pdf = _which(pdfs, str(key))
                if pdf is None or not isinstance(listed, list):
                    raise InvalidInput(
                        f"{source}: {key!r} is not one of the PDFs given, with a list"
                    )
                fields[pdf] += listed
    for pdf, listed in fields.items():
        if not listed:
            raise InvalidInput(
                f"name {pdf}'s signature fields (--field {Path(pdf).name}:NAME, a fields file, "
                "or a manifest's fields column)"
            )
    return fields
