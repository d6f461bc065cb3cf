"""What a call takes from the flow, and the operator's input that takes the place of a call.

For the issuer's set-up, a call's arguments come from what the flow learned (the ids the service
gave, as facts) and from its :class:`~fsm.machine.order.Order`. A fact or input that is missing
is refused with an error that says what to do, before any call. The fallback's delivery takes the
operator's word instead of a call (:func:`delivery_answer`).
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

from ..errors import InvalidInput
from ..machine.answers import Answer, Kind, answer_of
from ..machine.order import Order
from ..redact import redact_text
from .flow import Flow

UPLOAD_URL_MARGIN = 5.0
"""Seconds before its expiry an upload URL is no longer used: an upload must not start on a URL
that expires mid-way."""

DEFAULT_EXPIRY_DAYS = 90
"""A request's validity when the order names none: the service's own default (API-NOTES
§1.3.4), counted from the flow's first record and sent explicitly, so the flow can mark it."""

MAX_REFUSED_URLS = 3
"""Upload URLs the blob store may refuse in a row (403: an expired or wrong signature) before
the flow fails: a clock far from the service's, or a storage firewall, would refuse them all."""

_CHANNEL = re.compile(r"[a-z][a-z0-9_-]{1,31}")


def delivery_answer(channel: str, note: str | None = None) -> Answer:
    """The operator's word that the fallback reached the citizen through ``channel``."""
    if not isinstance(channel, str) or not _CHANNEL.fullmatch(channel):
        raise InvalidInput(
            f"the channel must be a short lower-case name such as email, letter, desk or pec "
            f"(2 to 32 of a-z, 0-9, - and _), got {channel!r}"
        )
    facts = {"channel": channel}
    if note is not None:
        if len(note) > 200 or not note.strip():
            raise InvalidInput("the note must have 1 to 200 characters")
        facts["note"] = redact_text(note.strip())
    return answer_of(Kind.DELIVERED, None, **facts)


def marked_expiry(flow: Flow) -> str:
    """The order's expiry with the flow's mark in its milliseconds (0-999, from the flow's id):
    the request a lost answer made is the one of the flow's signer expiring exactly then. The
    expiry moves by less than a second; the service keeps and returns milliseconds."""
    order = order_of(flow)
    if order.expires_at is not None:
        base = datetime.fromisoformat(order.expires_at.replace("Z", "+00:00")).astimezone(UTC)
    else:  # the service's default, 90 days, from the flow's first record: the same every time
        started = flow.history[0].requested_at if flow.history else 0.0
        base = datetime.fromtimestamp(int(started), UTC) + timedelta(days=DEFAULT_EXPIRY_DAYS)
    mark = int(hashlib.sha256(flow.id.encode()).hexdigest()[:8], 16) % 1000
    return base.replace(microsecond=mark * 1000).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def refused_urls(flow: Flow) -> int:
    """How many of the flow's last uploads in a row found no usable URL (refused by the blob
    store, or not in hand)."""
    count = 0
    for record in reversed(flow.history):
        if record.trigger != "upload_document":
            continue
        if record.answer != Kind.UPLOAD_URL_EXPIRED:
            break
        count += 1
    return count


def need(flow: Flow, name: str) -> str:
    """The fact ``name`` the flow learned (an id the service gave), or refused."""
    value = flow.facts.get(name)
    if value is None:
        raise InvalidInput(f"flow {flow.id} has no {name} recorded: its trail is not a set-up's")
    return value


def order_of(flow: Flow) -> Order:
    """The flow's order (a flow from a PDF), or refused."""
    if flow.order is None:
        raise InvalidInput(f"flow {flow.id} has no order: it was not started from a PDF")
    return flow.order


def document_index(flow: Flow) -> int:
    """Which of the order's documents the set-up is on (0: the first): ``document_index``, the
    fact the last validated document's record taught the flow."""
    return int(flow.facts.get("document_index", "0"))


def current_document(flow: Flow) -> Order:
    """The order as the set-up's calls for its current document read it (that document's PDF,
    fields and title)."""
    return order_of(flow).document(document_index(flow))


def next_document(flow: Flow) -> tuple[tuple[str, str], ...]:
    """The facts that move the set-up to the order's next document (its index and the id the
    service gave it), or none when the current one is the last."""
    following = document_index(flow) + 1
    ids = flow.facts.get("document_ids", "").split(",") if "document_ids" in flow.facts else []
    if following >= len(order_of(flow).documents):
        return ()
    if following >= len(ids):
        raise InvalidInput(
            f"flow {flow.id}: the request lists {len(ids)} documents, the order has "
            f"{len(order_of(flow).documents)}"
        )
    return (("document_id", ids[following]), ("document_index", str(following)))


def usable_url(flow: Flow, now: float) -> str | None:
    """The upload URL in hand, if it is not about to expire."""
    url = flow.upload_url
    expires = flow.facts.get("upload_url_expires_at")
    if url is None:
        return None
    if expires is not None:
        try:
            until = datetime.fromisoformat(expires.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return url
        if now >= until - UPLOAD_URL_MARGIN:
            return None
    return url


def request_id_of(flow: Flow) -> str:
    """The request the flow works on (the set-up's, once made), or refused."""
    request_id = flow.request_id
    if request_id is None:
        raise InvalidInput(f"flow {flow.id} has no request_id recorded: its request was not made")
    return request_id
