"""The blob store's stand-in: what the upload and download URLs grant, and the signed copies.

The real service hands out Azure Blob Storage SAS URLs (``@azure/storage-blob``'s
``generateSasUrl``): an upload URL in container ``uploaded-documents`` with permissions ``racw``
for 15 minutes, and for a SIGNED request a read URL (``r``) in ``signed-documents`` for 5
minutes, a new one on each read. Their query is the SDK's, in its order, each value
percent-encoded (``encodeURIComponent``)::

    ?sv=2023-11-03&spr=https%2Chttp&st=2026-11-29T10%3A00%3A00Z&se=2026-11-29T10%3A15%3A00Z
     &sr=b&sp=racw&sig=<base64 of 32 random bytes, percent-encoded>&rsct=application%2Fpdf

The sandbox keeps what it granted by signature. A URL is honoured while every parameter is the
one granted, for the blob granted, and ``se`` has not passed; anything else is Azure's 403
``AuthenticationFailed`` (a client that re-encodes the query, turning ``%2B`` into ``+``, is
refused as Azure would refuse it).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import quote

SAS_VERSION = "2023-11-03"
UPLOADS = "uploaded-documents"
VALIDATED = "validated-documents"
SIGNED = "signed-documents"

AUTHENTICATION_FAILED = (
    "AuthenticationFailed",
    "Server failed to authenticate the request. Make sure the value of Authorization header is "
    "formed correctly including the signature.",
)
BLOB_NOT_FOUND = ("BlobNotFound", "The specified blob does not exist.")
RESOURCE_NOT_FOUND = ("ResourceNotFound", "The specified resource does not exist.")


def azure_error(code: str, message: str) -> bytes:
    """Azure Storage's XML error body."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    ).encode()


def sas_time(moment: datetime) -> str:
    """A SAS time: UTC to the second, ``2026-11-29T10:15:00Z`` (the SDK drops milliseconds)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class SasRefused(Exception):
    """A URL the blob store does not honour: wrong or unknown signature, or expired."""


@dataclass(frozen=True, slots=True)
class Grant:
    """One SAS URL the sandbox handed out: its blob and the query parameters it signed."""

    blob: str
    params: tuple[tuple[str, str], ...]
    starts: datetime
    expires: datetime


@dataclass
class BlobStore:
    """The granted URLs, the upload targets, the signed copies and the uploads received."""

    grants: dict[str, Grant] = field(default_factory=dict)
    """By signature (decoded)."""
    slots: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Upload id (the blob's name) -> (request id, document id)."""
    signed: dict[str, bytes] = field(default_factory=dict)
    """``<request id>/<document id>.pdf`` -> the signed copy."""
    received: dict[str, int] = field(default_factory=dict)
    """Uploads stored, by request id."""
    _purge_at: int = 4096

    def sign(self, base_url: str, blob: str, permissions: str, now: datetime, ttl: float) -> str:
        """A new SAS URL for ``blob`` (``container/name``), valid ``ttl`` seconds from ``now``."""
        starts = now.replace(microsecond=0)
        expires = (now + timedelta(seconds=ttl)).replace(microsecond=0)
        signature = base64.b64encode(secrets.token_bytes(32)).decode()
        params = (
            ("sv", SAS_VERSION),
            ("spr", "https,http"),
            ("st", sas_time(starts)),
            ("se", sas_time(expires)),
            ("sr", "b"),
            ("sp", permissions),
        )
        self._remember(signature, Grant(blob, params, starts, expires), now)
        query = [*params, ("sig", signature), ("rsct", "application/pdf")]
        return f"{base_url}/__blob/{blob}?" + "&".join(
            f"{key}={quote(value, safe='')}" for key, value in query
        )

    def _remember(self, signature: str, grant: Grant, now: datetime) -> None:
        """Keep ``grant``, forgetting expired ones now and then: each read of a SIGNED request
        grants new URLs, and a forgotten one is refused like an expired one."""
        if len(self.grants) >= self._purge_at:
            self.grants = {s: g for s, g in self.grants.items() if g.expires >= now}
            self._purge_at = max(4096, 2 * len(self.grants))
        self.grants[signature] = grant

    def check(self, blob: str, query: Mapping[str, str], now: datetime) -> None:
        """Honour a request for ``blob`` with this (decoded) query, or raise :class:`SasRefused`."""
        grant = self.grants.get(query.get("sig", ""))
        if (
            grant is None
            or grant.blob != blob
            or any(query.get(key) != value for key, value in grant.params)
            or not grant.starts <= now <= grant.expires
        ):
            raise SasRefused(blob)

    def count_upload(self, request_id: str) -> None:
        self.received[request_id] = self.received.get(request_id, 0) + 1
