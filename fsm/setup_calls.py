"""How the driver makes each set-up call: which of the flow's facts and order it passes.

The driver makes the one call a trigger's step declares (:mod:`fsm.steps`); for the issuer's
set-up, the call's arguments come from what the flow learned (the ids the service gave, as
facts) and from its :class:`~fsm.order.Order`. A fact or input that is missing is refused with
an error that says what to do, before any call. The fallback's delivery takes the operator's
word instead of a call (:func:`delivery_answer`).
"""

from __future__ import annotations

import re
from datetime import datetime

from .answers import Answer, Kind, answer_of
from .errors import InvalidInput
from .flow import Flow
from .order import Order
from .ports import SetupApi
from .redact import redact_text
from .steps import ApiCall

UPLOAD_URL_MARGIN = 5.0
"""Seconds before its expiry an upload URL is no longer used: an upload must not start on a URL
that expires mid-way."""

CREATION_SKEW = 120.0
"""Seconds of clock difference allowed when looking for a request made since an intent."""

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


async def setup_call(
    api: SetupApi, call: ApiCall, flow: Flow, *, now: float, since: float | None
) -> Answer:
    """Make the set-up ``call`` for ``flow``; ``since`` is when a creation whose outcome is
    unknown may have happened (for ``recover_request``)."""
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
        return await api.create_request(_order(flow), dossier, signer)
    if call is ApiCall.FIND_CREATED_REQUEST:
        start = (since if since is not None else now) - CREATION_SKEW
        return await api.find_created_request(
            _need(flow, "dossier_id"), _need(flow, "signer_id"), start
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
            return Answer(
                Kind.UPLOAD_URL_EXPIRED,
                detail="no usable upload URL in hand (never recorded, or about to expire)",
            )
        return await api.upload_document(url, _order(flow))
    raise InvalidInput(f"{call} is not a set-up call")  # pragma: no cover - SETUP_CALLS guards
