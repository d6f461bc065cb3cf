"""How the driver makes each API call: the call registry.

A step (:mod:`fsm.machine.steps`) names its call; :data:`CALLS` maps each name to a
:class:`Call`: which of the driver's ports it is made on (:class:`Port`) and how it is made from
the flow and the clock's now (the arguments a call takes from the flow: :mod:`.inputs`). The
engine holds a registry (``Engine(calls=...)``, this one by default) and refuses a step whose
call has no entry: a program of its own adds a call by adding an entry, without touching the
driver.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, Generic, Protocol, TypeVar

from ..errors import InvalidDefinition, InvalidInput
from ..machine.answers import Answer, Kind
from ..machine.states import State
from ..machine.steps import ApiCall
from ..ports import SetupApi, SignatureApi, StatusReader
from .flow import Flow
from .inputs import (
    MAX_REFUSED_URLS,
    current_document,
    document_index,
    marked_expiry,
    need,
    next_document,
    order_of,
    refused_urls,
    request_id_of,
    usable_url,
)

P = TypeVar("P")


class Ports(Protocol):
    """What a driver holds: the ports its calls are made on (a
    :class:`~fsm.driving.driver.Driver` is one)."""

    @property
    def api(self) -> SignatureApi: ...

    @property
    def setup(self) -> SetupApi | None: ...

    @property
    def status_reader(self) -> StatusReader | None: ...


class Port(enum.StrEnum):
    """Which of the driver's ports a call is made on."""

    SIGNATURE = "signature"
    """The driver's ``api``, a :class:`~fsm.ports.SignatureApi` (or your own port's object)."""
    SETUP = "setup"
    """The driver's ``setup``, a :class:`~fsm.ports.SetupApi`; a driver without one refuses the
    call (:class:`~fsm.errors.InvalidInput`), before anything is called."""
    STATUS = "status"
    """The driver's ``status_reader``, a :class:`~fsm.ports.StatusReader`; without one, the
    status is read with the ``api``'s ``get_request``."""

    def of(self, ports: Ports, flow: Flow, call: str) -> Any:
        """The object of ``ports`` that ``call`` is made on, for ``flow``."""
        if self is Port.SIGNATURE:
            return ports.api
        if self is Port.STATUS:
            reader = ports.status_reader
            return reader if reader is not None else _ReadByRequest(ports.api)
        if ports.setup is None:
            raise InvalidInput(
                f"flow {flow.id} needs the issuer's set-up calls ({call}): give the driver "
                "a SetupApi (setup=)"
            )
        return ports.setup


@dataclass(frozen=True, slots=True)
class _ReadByRequest:
    """A status reader over a :class:`~fsm.ports.SignatureApi`: one ``GET`` per read."""

    api: SignatureApi

    def read_status(self, request_id: str) -> Awaitable[Answer]:
        return self.api.get_request(request_id)


@dataclass(frozen=True, slots=True)
class Call(Generic[P]):
    """How the driver makes one API call: on which of its ports, with what from the flow."""

    port: Port
    make: Callable[[P, Flow, float], Awaitable[Answer]]
    """Makes the call on the port's object for the flow, given the driver clock's now: the
    answer, or an :class:`~fsm.errors.ApiError` raised when none is usable. What the flow lacks
    for the call is refused with :class:`~fsm.errors.InvalidInput`, before any call."""
    summary: str = ""
    """What the call is (its HTTP operation, say), as the manual's table of triggers shows it."""


def _request_id(flow: Flow) -> str:
    request_id = flow.request_id
    if request_id is None:  # pragma: no cover - the table fires these only after READY
        raise InvalidInput(f"flow {flow.id} has no signature request yet")
    return request_id


# -- the card's spine (SignatureApi, StatusReader) -----------------------------------------------


def _read_status(reader: StatusReader, flow: Flow, _now: float) -> Awaitable[Answer]:
    return reader.read_status(_request_id(flow))


def _get_request(api: SignatureApi, flow: Flow, _now: float) -> Awaitable[Answer]:
    return api.get_request(_request_id(flow))


def _send_notification(api: SignatureApi, flow: Flow, _now: float) -> Awaitable[Answer]:
    return api.send_notification(_request_id(flow))


def _cancel_request(api: SignatureApi, flow: Flow, _now: float) -> Awaitable[Answer]:
    return api.cancel_request(_request_id(flow))


# -- the issuer's set-up, and after SIGNED (SetupApi) --------------------------------------------


def _find_signer(api: SetupApi, flow: Flow, _now: float) -> Awaitable[Answer]:
    fiscal_code = order_of(flow).fiscal_code
    if fiscal_code is None:
        raise InvalidInput(
            f"flow {flow.id} needs the citizen's fiscal code to find the signer; it is held "
            f"in memory only and never stored: run `firmaio send` again with --id {flow.id}"
        )
    return api.find_signer(fiscal_code)


def _validate_document(api: SetupApi, flow: Flow, _now: float) -> Awaitable[Answer]:
    return api.validate_document(order_of(flow))


def _open_dossier(api: SetupApi, flow: Flow, _now: float) -> Awaitable[Answer]:
    return api.open_dossier(order_of(flow))


def _create_request(api: SetupApi, flow: Flow, _now: float) -> Awaitable[Answer]:
    dossier, signer = need(flow, "dossier_id"), need(flow, "signer_id")
    return api.create_request(order_of(flow), dossier, signer, marked_expiry(flow))


def _find_created_request(api: SetupApi, flow: Flow, _now: float) -> Awaitable[Answer]:
    return api.find_created_request(
        need(flow, "dossier_id"), need(flow, "signer_id"), marked_expiry(flow)
    )


def _get_upload_url(api: SetupApi, flow: Flow, _now: float) -> Awaitable[Answer]:
    request_id = request_id_of(flow)
    return api.get_upload_url(request_id, need(flow, "document_id"))


async def _read_document(api: SetupApi, flow: Flow, _now: float) -> Answer:
    """The current document's status. While the set-up waits for its validation, a READY
    document with another after it carries the next one's id and index (the row back to
    DRAFT_CREATED reads them); a REJECTED one of several is named."""
    request_id = request_id_of(flow)
    answer = await api.read_document(request_id, need(flow, "document_id"))
    if flow.state is not State.DOCUMENT_UPLOADED or answer.kind is not Kind.DOCUMENT:
        return answer
    order = order_of(flow)
    if answer.status == "READY":
        following = next_document(flow)
        return replace(answer, facts=answer.facts + following) if following else answer
    if answer.status == "REJECTED" and len(order.documents) > 1:
        said = f"{order.describe(document_index(flow))}: {answer.detail or 'no reason given'}"
        return replace(answer, detail=said)
    return answer


def _mark_ready(api: SetupApi, flow: Flow, _now: float) -> Awaitable[Answer]:
    return api.mark_ready(request_id_of(flow))


def _fetch_signed(api: SetupApi, flow: Flow, _now: float) -> Awaitable[Answer]:
    return api.fetch_signed(request_id_of(flow))


async def _upload_document(api: SetupApi, flow: Flow, now: float) -> Answer:
    request_id_of(flow)
    need(flow, "document_id")
    url = usable_url(flow, now)
    if url is None:  # lost in a restart, or about to expire: ask for another, upload nothing
        answer = Answer(
            Kind.UPLOAD_URL_EXPIRED,
            detail="no usable upload URL in hand (never recorded, or about to expire)",
        )
    else:
        answer = await api.upload_document(url, current_document(flow))
    if answer.kind is Kind.UPLOAD_URL_EXPIRED and refused_urls(flow) + 1 >= MAX_REFUSED_URLS:
        return Answer.refused(
            answer.http_status,  # None when the last URL was given up here, never sent
            f"{MAX_REFUSED_URLS} upload URLs in a row could not be used ({answer.detail}): "
            "check the clock and the storage's network rules; nothing was uploaded",
        )
    return answer


_GET = "`GET /signature-requests/{id}`"

CALLS: Mapping[str, Call[Any]] = MappingProxyType(
    {
        ApiCall.READ_STATUS: Call(
            Port.STATUS, _read_status, f"{_GET} (or the dossier listing, batched)"
        ),
        ApiCall.GET_REQUEST: Call(Port.SIGNATURE, _get_request, _GET),
        ApiCall.SEND_NOTIFICATION: Call(
            Port.SIGNATURE, _send_notification, "`PUT /signature-requests/{id}/notification`"
        ),
        ApiCall.CANCEL_REQUEST: Call(
            Port.SIGNATURE, _cancel_request, '`PUT /signature-requests/{id}/status` `"CANCELLED"`'
        ),
        ApiCall.FIND_SIGNER: Call(Port.SETUP, _find_signer, "`POST /signers`"),
        ApiCall.VALIDATE_DOCUMENT: Call(
            Port.SETUP, _validate_document, "`POST /validate-document`"
        ),
        ApiCall.OPEN_DOSSIER: Call(
            Port.SETUP, _open_dossier, "`POST /dossiers` (or `GET /dossiers/{id}`, an existing one)"
        ),
        ApiCall.CREATE_REQUEST: Call(Port.SETUP, _create_request, "`POST /signature-requests`"),
        ApiCall.FIND_CREATED_REQUEST: Call(
            Port.SETUP,
            _find_created_request,
            "`GET /dossiers/{id}/signature-requests`, then the request found there",
        ),
        ApiCall.GET_UPLOAD_URL: Call(
            Port.SETUP, _get_upload_url, "`GET .../documents/{documentId}/upload_url`"
        ),
        ApiCall.UPLOAD_DOCUMENT: Call(
            Port.SETUP, _upload_document, "`PUT` of the PDF to the upload URL (the blob store)"
        ),
        ApiCall.READ_DOCUMENT: Call(Port.SETUP, _read_document, f"{_GET}, for its document"),
        ApiCall.MARK_READY: Call(
            Port.SETUP, _mark_ready, '`PUT /signature-requests/{id}/status` `"READY"`'
        ),
        ApiCall.FETCH_SIGNED: Call(
            Port.SETUP, _fetch_signed, f"{_GET}, then each signed document from its URL"
        ),
    }
)
"""The built-in calls, by name (each :class:`~fsm.machine.steps.ApiCall`): what an
:class:`~fsm.driving.engine.Engine` holds unless given a registry of its own."""


def registry(calls: Mapping[str, Call[Any]]) -> Mapping[str, Call[Any]]:
    """``calls`` as an engine holds it: read-only (a copy, so a later change of the caller's
    mapping cannot bypass the engine's checks), each entry a :class:`Call`, or refused with
    :class:`~fsm.errors.InvalidDefinition` naming the entries that are not."""
    if calls is CALLS:
        return CALLS
    wrong = [f"{name!r} ({type(call).__name__})" for name, call in calls.items()
             if not isinstance(call, Call)]  # fmt: skip
    if wrong:
        raise InvalidDefinition([f"call registry entries that are not a Call: {', '.join(wrong)}"])
    return MappingProxyType(dict(calls))
