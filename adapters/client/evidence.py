"""How an answer is quoted in an error: its status, its content type and the first bytes of its
body, as sent, control characters escaped (``repr``) and secrets masked: fiscal codes, URL
signatures (``sig=``), the API key. An error that quotes an answer says what the server sent,
never a text of ours in its place."""

from __future__ import annotations

import re
from collections.abc import Iterable

import httpx

from firmaio.fsm.redact import SECRET_MASK, redact_text

SHOWN_BYTES = 160
"""Bytes of a body an evidence quotes: enough to tell a proxy's page from a problem."""

_SIGNATURE = re.compile(r"(?i)\b(sig=)[^&\s\"']+")


def mask_signatures(text: str) -> str:
    """``text`` with the signature of any shared-access URL masked (``sig=...``)."""
    return _SIGNATURE.sub(r"\1[masked]", text)


def media_type(response: httpx.Response) -> str:
    """The ``Content-Type``'s media type, lower case ("" when none was sent)."""
    kind: str = response.headers.get("content-type", "")
    return kind.split(";")[0].strip().lower()


def masked(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with fiscal codes, URL signatures and each of ``secrets`` masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, SECRET_MASK)
    return mask_signatures(redact_text(text))


def evidence_of(response: httpx.Response, secrets: Iterable[str] = ()) -> str:
    """What ``response`` was, as an error shows it: ``HTTP 404, text/plain, body 'Not Found'``
    (see :func:`body_of`)."""
    return f"HTTP {response.status_code}, {body_of(response, secrets)}"


def body_of(response: httpx.Response, secrets: Iterable[str] = ()) -> str:
    """What ``response`` holds: ``text/plain, body 'Not Found'``, a redirect's ``Location`` too.
    The first :data:`SHOWN_BYTES` bytes, decoded as UTF-8 (or replaced), escaped by ``repr``
    and masked (see :func:`masked`)."""
    secrets = tuple(secrets)
    kind = media_type(response) or "no content type"
    raw = response.content
    if not raw:
        body = "an empty body"
    else:
        text = masked(raw[:SHOWN_BYTES].decode("utf-8", "replace"), secrets)
        more = f" ... ({len(raw)} bytes)" if len(raw) > SHOWN_BYTES else ""
        body = f"body {text!r}{more}"
    location = response.headers.get("location")
    if location is not None:
        body += f", Location {masked(location[:200], secrets)!r}"
    return f"{kind}, {body}"
