"""An order from PDFs, as the set-up reads them: each PDF read now (its size and SHA-256), refused
if it is missing or not a PDF, and read again before it is sent, refused if it changed since the
flow started."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from firmaio.fsm.errors import InvalidInput
from firmaio.fsm.machine import (
    Order,
    OrderDocument,
    check_expiry,
    check_fields,
    default_title,
    signature_field,
)


def read_pdf(order: Order) -> bytes:
    """The order's PDF, refused if it is missing or no longer the file the flow started from."""
    try:
        pdf = Path(order.pdf).read_bytes()
    except OSError as error:
        raise InvalidInput(
            f"cannot read the order's PDF {order.pdf}: {error.strerror}; nothing was sent"
        ) from None
    if len(pdf) != order.pdf_size or hashlib.sha256(pdf).hexdigest() != order.pdf_sha256:
        raise InvalidInput(
            f"the PDF {order.pdf} changed since the flow started (its SHA-256 differs); "
            "nothing was sent: restore the file, or start a new flow"
        )
    return pdf


def _pdf_bytes(path: str | Path) -> bytes:
    try:
        body = Path(path).read_bytes()
    except OSError as error:
        raise InvalidInput(f"cannot read the PDF {path}: {error.strerror}") from None
    if not body.startswith(b"%PDF"):
        raise InvalidInput(f"{path} is not a PDF (it does not start with %PDF)")
    return body


def document_from_pdf(path: str | Path, fields: object, title: str) -> OrderDocument:
    """One more document of an order: the PDF at ``path`` (its size and SHA-256 read now), its
    signature fields and title (checked with the order: :meth:`Order.check`)."""
    body = _pdf_bytes(path)
    return OrderDocument(
        pdf=str(Path(path).resolve()),
        pdf_sha256=hashlib.sha256(body).hexdigest(),
        pdf_size=len(body),
        fields=check_fields(fields),
        title=title,
    )


def order_from_pdf(
    path: str | Path, *, fields: Sequence[str | Mapping[str, Any]], **values: Any
) -> Order:
    """The checked :class:`Order` for the PDF at ``path`` (its size and SHA-256 read now).

    ``fields``: the signature fields, each the name of a field the PDF has (its clause
    "Firma del documento", REQUIRED: :func:`~firmaio.fsm.machine.signature_field`) or the
    service's whole object. ``values``: the order's other fields: ``document_title`` (default:
    made from the file's name, :func:`~firmaio.fsm.machine.default_title`), ``dossier_title``
    (default: the document title) or ``dossier_id``, ``expires_at``, ``support_email``, the
    timeouts. :class:`InvalidInput` names what is wrong; nothing is sent."""
    if isinstance(fields, str | bytes) or not isinstance(fields, Sequence) or not fields:
        raise InvalidInput("fields: name the PDF's signature fields (a non-empty list)")
    pdf = Path(path)
    body = _pdf_bytes(pdf)
    expires_at = values.get("expires_at")
    if isinstance(expires_at, str) and check_expiry(expires_at) <= time.time():
        raise InvalidInput(f"expires_at {expires_at} is not in the future; nothing was sent")
    if values.get("document_title") is None:
        values["document_title"] = default_title(pdf.stem)
    if values.get("dossier_id") is None:
        values.pop("dossier_id", None)
        if values.get("dossier_title") is None:
            values["dossier_title"] = values["document_title"]
    return Order.checked(
        pdf=str(pdf.resolve()),
        pdf_sha256=hashlib.sha256(body).hexdigest(),
        pdf_size=len(body),
        fields=tuple(signature_field(f) if isinstance(f, str) else f for f in fields),
        **values,
    )
