"""Signature-request ids: checked before they are used in a flow or a URL path."""

from __future__ import annotations

import re

from .errors import InvalidRequestId

_FORBIDDEN = frozenset("/?#%\\")
MAX_LENGTH = 128
_PLAIN = re.compile(r"[0-9A-Za-z_-]{1,128}")
"""ULIDs, UUIDs and the like: accepted without looking at each character (the hot path)."""


def check_request_id(value: object) -> str:
    """Return ``value`` if it is a usable signature-request id, else raise InvalidRequestId.

    Usable: a non-empty string of at most 128 characters, with no ``/ ? # % \\``, no ``..``, no
    whitespace and no control characters. Real ids are ULIDs; anything else is only accepted if
    it is safe in a URL path segment.
    """
    if isinstance(value, str) and _PLAIN.fullmatch(value):
        return value
    if not isinstance(value, str):
        raise InvalidRequestId(f"signature request id must be a string, got {type(value).__name__}")
    if not value:
        raise InvalidRequestId("signature request id is empty")
    if len(value) > MAX_LENGTH:
        raise InvalidRequestId(f"signature request id is longer than {MAX_LENGTH} characters")
    if ".." in value:
        raise InvalidRequestId(f"signature request id {value!r} contains '..'")
    for char in value:
        if char in _FORBIDDEN or char.isspace() or not char.isprintable():
            raise InvalidRequestId(
                f"signature request id {value!r} contains the forbidden character {char!r}"
            )
    return value
