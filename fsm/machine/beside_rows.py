"""The rows beside the page's path: fetching the signed documents once a request is SIGNED, and
recording which channel of the fallback reached the citizen. Neither moves a flow: each keeps its
state and adds its evidence to the trail. Joined to :data:`fsm.machine.table.TABLE`.
"""

from __future__ import annotations

from . import beside_guards as b
from .states import State, Trigger
from .types import Basis, Row

BESIDE_BASIS: dict[str, Basis] = {
    "api.signed_documents": Basis(
        False,
        "A SIGNED request's documents carry the URLs of the signed PDFs, valid 5 minutes "
        "(API-NOTES §1.3.6); IO keeps them 90 days.",
    ),
    "page.channels": Basis(
        False,
        "The page advises sending the request through other channels (the «Firma con IO» "
        "button or the QR code, page.fallback); which one reached the citizen is the "
        "administration's evidence, recorded beside the page's own path.",
    ),
}
"""Why the rows below exist (joined to :data:`fsm.machine.table.BASIS`)."""

_S, _T = State, Trigger

AFTER_SIGNED_ROWS: tuple[Row, ...] = (
    Row(
        _S.SIGNED,
        _T.FETCH_DOCUMENTS,
        _S.SIGNED,
        b.documents_were_fetched,
        ("api.signed_documents",),
    ),
)
"""Fetching the signed documents: the flow stays SIGNED; each fetch's record holds the files'
SHA-256."""

DELIVERY_ROWS: tuple[Row, ...] = (
    Row(
        _S.FALLBACK_SUGGESTED,
        _T.DELIVER_FALLBACK,
        _S.FALLBACK_SUGGESTED,
        b.fallback_was_delivered,
        ("page.channels",),
    ),
)
"""The fallback reached the citizen through a named channel: the flow keeps waiting for the
signature (a letter or an e-mail may be followed by another)."""
