"""How the driver makes each set-up call: which of the flow's facts and order it passes.

The driver makes the one call a trigger's step declares (:mod:`fsm.machine.steps`); for the issuer's
set-up, the call's arguments come from what the flow learned (the ids the service gave, as
facts) and from its :class:`~fsm.machine.order.Order`. A fact or input that is missing is refused
with
an error that says what to do, before any call. The fallback's delivery takes the operator's
word instead of a call (:func:`delivery_answer`).
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

from ..errors import InvalidInput
from ..machine.answers import Answer, Kind, answer_of
from ..machine.order import Order
from ..machine.steps import ApiCall
from ..ports import SetupApi
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
    order = _order(flow)
    if order.expires_at is not None:
        base = datetime.fromisoformat(order.expires_at.replace("Z", "+00:00")).astimezone(UTC)
    else:  # the service's default, 90 days, from the flow's first record: the same every time
        started = flow.history[0].requested_at if flow.history else 0.0
        base = datetime.fromtimestamp(int(started), UTC) + timedelta(days=DEFAULT_EXPIRY_DAYS)
    mark = int(hashlib.sha256(flow.id.encode()).hexdigest()[:8], 16) % 1000
    return base.replace(microsecond=mark * 1000).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _refused_urls(flow: Flow) -> int:
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


def _need(flow: Flow, name: str) -> str:
    value = flow.facts.get(name)
    if value is None:
        raise InvalidInput(f"flow {flow.id} has no {name} recorded: its trail is not a set-up's")
    return value


def _order(flow: Flow) -> Order:
    if flow.order is None:
        raise InvalidInput(f"flow {flow.id} has no order: it was not started from a PDF")
    return flow.order


def _usable_url(flow: Flow, now: float) -> str | None:
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


async def setup_call(api: SetupApi, call: ApiCall, flow: Flow, *, now: float) -> Answer:
    """Make the set-up ``call`` for ``flow`` (``now``: the driver's clock)."""
    if call is ApiCall.FIND_SIGNER:
        fiscal_code = _order(flow).fiscal_code
        if fiscal_code is None:
            raise InvalidInput(
                f"flow {flow.id} needs the citizen's fiscal code to find the signer; it is held "
                f"in memory only and never stored: run `firmaio send` again with --id {flow.id}"
            )
        return await api.find_signer(fiscal_code)
    if call is ApiCall.VALIDATE_DOCUMENT:
        return await api.validate_document(_order(flow))
    if call is ApiCall.OPEN_DOSSIER:
        return await api.open_dossier(_order(flow))
    if call is ApiCall.CREATE_REQUEST:
        dossier, signer = _need(flow, "dossier_id"), _need(flow, "signer_id")
        return await api.create_request(_order(flow), dossier, signer, marked_expiry(flow))
    if call is ApiCall.FIND_CREATED_REQUEST:
        return await api.find_created_request(
            _need(flow, "dossier_id"), _need(flow, "signer_id"), marked_expiry(flow)
        )
    return await _document_call(api, call, flow, now)


async def _document_call(api: SetupApi, call: ApiCall, flow: Flow, now: float) -> Answer:
    request_id = flow.request_id
    if request_id is None:
        raise InvalidInput(f"flow {flow.id} has no request_id recorded: its request was not made")
    if call is ApiCall.MARK_READY:
        return await api.mark_ready(request_id)
    if call is ApiCall.FETCH_SIGNED:
        return await api.fetch_signed(request_id)
    document_id = _need(flow, "document_id")
    if call is ApiCall.GET_UPLOAD_URL:
        return await api.get_upload_url(request_id, document_id)
    if call is ApiCall.READ_DOCUMENT:
        return await api.read_document(request_id, document_id)
    if call is ApiCall.UPLOAD_DOCUMENT:
        url = _usable_url(flow, now)
        if url is None:  # lost in a restart, or about to expire: ask for another, upload nothing
            answer = Answer(
                Kind.UPLOAD_URL_EXPIRED,
                detail="no usable upload URL in hand (never recorded, or about to expire)",
            )
        else:
            answer = await api.upload_document(url, _order(flow))
        if answer.kind is Kind.UPLOAD_URL_EXPIRED and _refused_urls(flow) + 1 >= MAX_REFUSED_URLS:
            return Answer.refused(
                answer.http_status or 403,
                f"{MAX_REFUSED_URLS} upload URLs in a row could not be used ({answer.detail}): "
                "check the clock and the storage's network rules; nothing was uploaded",
            )
        return answer
    raise InvalidInput(f"{call} is not a set-up call")  # pragma: no cover - SETUP_CALLS guards
