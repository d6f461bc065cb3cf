"""A flow's documents as the report lists them: each one's title, the SHA-256 of the PDF sent and
of the signed copy once fetched, read from its records."""

from __future__ import annotations

from collections.abc import Sequence

from firmaio.fsm.machine import Order
from firmaio.fsm.trail import AuditRecord


def documents_of(records: Sequence[AuditRecord]) -> list[tuple[str, str, str | None]]:
    """Each document of a flow from PDFs (none for a flow started at READY), from its records:
    its title, the SHA-256 sent, and the signed copy's once fetched."""
    order = Order.from_facts(dict(records[0].facts or ())) if records else None
    if order is None:
        return []
    ids: list[str] = []
    signed: dict[str, str] = {}
    for record in records:
        facts = dict(record.facts or ())
        if str(record.trigger) in ("create_request", "recover_request") and "document_id" in facts:
            ids = facts.get("document_ids", facts["document_id"]).split(",")
        if str(record.trigger) == "fetch_documents":
            signed.update(
                (k[len("signed.") : -len(".sha256")], v)
                for k, v in facts.items()
                if k.startswith("signed.") and k.endswith(".sha256")
            )
    return [
        (d.title, d.pdf_sha256, signed.get(ids[i]) if i < len(ids) else None)
        for i, d in enumerate(order.documents)
    ]
