"""Signature-request ids: checked before they are used in a flow or a URL path."""

from __future__ import annotations

import re

from .errors import InvalidRequestId

_FORBIDDEN = frozenset("/?#%\\")
MAX_LENGTH = 128
_PLAIN = re.compile(r"[0-9A-Za-z_-]{1,128}")
"""ULIDs, UUIDs and the like: accepted without looking at each character (the hot path)."""


def check_request_id(value: object, what: str = "signature request id") -> str:
    """Return ``value`` if it is a usable signature-request id, else raise InvalidRequestId
    (its message names the value as ``what``: another kind of id checked by the same rule).

    Usable: a non-empty string of at most 128 characters, other than ``.``, with no
    ``/ ? # % \\``, no ``..``, no whitespace and no control characters. Real ids are ULIDs;
    anything else is only accepted if it is safe in a URL path segment and as a file name
    (``.`` is neither: a URL drops it, a folder is itself). Ids in the service's answers obey
    the same rule.
    """
    if isinstance(value, str) and _PLAIN.fullmatch(value):
        return value
    if not isinstance(value, str):
        raise InvalidRequestId(f"{what} must be a string, got {type(value).__name__}")
    if not value:
        raise InvalidRequestId(f"{what} is empty")
    if len(value) > MAX_LENGTH:
        raise InvalidRequestId(f"{what} is longer than {MAX_LENGTH} characters")
    if value == ".":
        raise InvalidRequestId(f"{what} '.' names nothing (a path's own folder)")
    if ".." in value:
        raise InvalidRequestId(f"{what} {value!r} contains '..'")
    for char in value:
        if char in _FORBIDDEN or char.isspace() or not char.isprintable():
            raise InvalidRequestId(f"{what} {value!r} contains the forbidden character {char!r}")
    return value
