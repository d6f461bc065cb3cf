"""The types of ``firmaio``'s arguments: each turns a string into a checked value, or says
what is wrong with it (argparse reports it as a usage error, exit 2)."""

from __future__ import annotations

import argparse
import math
from urllib.parse import urlsplit

from firmaio.fsm.errors import InvalidInput, InvalidRequestId
from firmaio.fsm.ids import check_request_id
from firmaio.fsm.redact import redact_text

from ..tenants import Tenant


def seconds(text: str) -> float:
    """A number of seconds, ``>= 0`` and finite."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 <= value < math.inf:
        raise argparse.ArgumentTypeError(f"{text!r}: seconds must be >= 0 and finite")
    return value


def positive_seconds(text: str) -> float:
    """A number of seconds, ``> 0`` and finite."""
    value = seconds(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"{text!r}: seconds must be more than 0")
    return value


def share(text: str) -> float:
    """A share of a whole: more than 0, at most 1 (``0.2``: a fifth)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r}: a share must be more than 0 and at most 1")
    return value


def count(text: str) -> int:
    """A whole number, ``>= 1``."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: must be 1 or more")
    return value


def port(text: str) -> int:
    """A TCP port (0 picks a free one)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: a port is 0 to 65535")
    return value


def base_url(text: str) -> str:
    """An ``http://`` or ``https://`` URL with a host."""
    parts = urlsplit(text)
    try:
        parts.port  # noqa: B018 - reading it checks it: a port that is not 0..65535 raises
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} has a port that is not 0 to 65535") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"{text!r} is not an http:// or https:// URL with a host")
    return text


def request_id(text: str) -> str:
    """A signature request id, checked before anything is called or stored."""
    try:
        return check_request_id(text)
    except InvalidRequestId as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def actor(text: str) -> str:
    """Who a command acts for, as its records name them: 1-64 printable characters, and not
    personal data the trail must not hold (a fiscal code)."""
    if not 1 <= len(text) <= 64 or not text.isprintable() or text != text.strip():
        raise argparse.ArgumentTypeError(
            f"{text[:64]!r}: an actor is 1 to 64 printable characters, no leading or trailing space"
        )
    if redact_text(text) != text:
        raise argparse.ArgumentTypeError(
            "an actor must not hold a fiscal code: name the operator or the desk instead"
        )
    return text


def tenant(text: str) -> str:
    """A tenant's name (as a tenants file names it)."""
    try:
        return Tenant(text, key_env="UNUSED").name
    except InvalidInput as error:
        raise argparse.ArgumentTypeError(str(error)) from None


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
MAX_DELAY = 366 * 86_400.0
"""The longest delay ``--resend-after`` and ``--renotify-after`` take: a request lives 90 days."""


def delay(text: str) -> float:
    text = text.strip().lower()
    unit = _UNITS.get(text[-1:]) if text else None
    return float(text[:-1]) * unit if unit is not None else float(text)


def delays(text: str) -> tuple[float, ...]:
    """Delays, comma-separated: seconds, or with a unit (``30m``, ``12h``, ``1d``); ``none``."""
    if text.strip().lower() in ("", "none"):
        return ()
    try:
        delays = tuple(delay(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of seconds (e.g. 5,30,120) or 'none'"
        ) from None
    if not all(0 <= d <= MAX_DELAY for d in delays):
        raise argparse.ArgumentTypeError(
            f"{text!r}: each delay must be from 0 seconds to a year ({MAX_DELAY:.0f} s)"
        )
    return delays
