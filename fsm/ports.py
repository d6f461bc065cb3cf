"""The ports: what the core needs from the outside world, as small Protocols.

``fsm`` imports no adapter: it is handed objects that fit these shapes. ``fsm.testing`` has
fakes for tests; ``adapters`` has the real issuer-API client and the SQLite and PostgreSQL
stores. Every call that may wait on the network or a disk is ``async``: a store runs its
blocking work off the event loop, so one slow write never stalls the other flows in flight.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from .machine.answers import Answer
from .machine.order import Order
from .machine.states import State
from .trail.chain import ChainLink
from .trail.record import AuditRecord


class SignatureApi(Protocol):
    """The three calls of the Firma con IO issuer API a flow makes.

    Every answer the API gives on purpose comes back as an :class:`Answer`; when no usable answer
    can be had, the call raises an :class:`fsm.errors.ApiError`. An implementation must never send
    a second IO message for one request: when the outcome of a notification is unknown, it reads
    the request before sending again.
    """

    async def get_request(self, request_id: str) -> Answer:
        """``GET /signature-requests/{id}``: an ``Answer`` of kind REQUEST or NOT_FOUND."""
        ...

    async def send_notification(self, request_id: str) -> Answer:
        """``PUT /signature-requests/{id}/notification`` with an empty body."""
        ...

    async def cancel_request(self, request_id: str) -> Answer:
        """``PUT /signature-requests/{id}/status`` with ``"CANCELLED"``."""
        ...


class SetupApi(Protocol):
    """The issuer's set-up calls, from a PDF to READY, and the signed documents after SIGNED.

    Like :class:`SignatureApi`: every answer the API gives on purpose is an :class:`Answer` (its
    facts carry the ids it gave), and a call with no usable answer raises an
    :class:`fsm.errors.ApiError`. ``firmaio.adapters.client.IssuerSetup`` is the real one.
    """

    async def find_signer(self, fiscal_code: str) -> Answer:
        """``POST /signers``: SIGNER (fact ``signer_id``), NO_IO_PROFILE or REFUSED. The fiscal
        code must not appear in the answer, a log or an exception."""
        ...

    async def validate_document(self, order: Order) -> Answer:
        """``POST /validate-document`` with the order's PDF and fields: DOCUMENT_VALID or
        DOCUMENT_INVALID (the violations, one per line, as detail)."""
        ...

    async def open_dossier(self, order: Order) -> Answer:
        """``POST /dossiers`` for a new dossier, ``GET /dossiers/{id}`` for the order's
        existing one: DOSSIER (fact ``dossier_id``), NOT_FOUND or REFUSED."""
        ...

    async def create_request(
        self, order: Order, dossier_id: str, signer_id: str, expires_at: str
    ) -> Answer:
        """``POST /signature-requests`` expiring at ``expires_at`` (the order's expiry with the
        flow's mark in its milliseconds): CREATED (facts ``request_id``, ``document_id``)."""
        ...

    async def find_created_request(
        self, dossier_id: str, signer_id: str, expires_at: str
    ) -> Answer:
        """The request a lost answer made: in the dossier's listing, of ``signer_id``, still
        DRAFT, expiring exactly at ``expires_at`` (the flow's mark). CREATED, NOT_FOUND if there
        is none, REFUSED if more than one could be it."""
        ...

    async def get_upload_url(self, request_id: str, document_id: str) -> Answer:
        """``GET .../upload_url``: UPLOAD_URL (:attr:`Answer.upload_url`; fact
        ``upload_url_expires_at``), NOT_FOUND or REFUSED."""
        ...

    async def upload_document(self, upload_url: str, order: Order) -> Answer:
        """``PUT`` the order's PDF (its SHA-256 checked first) to ``upload_url``: UPLOADED, or
        UPLOAD_URL_EXPIRED when the blob store refuses the URL."""
        ...

    async def read_document(self, request_id: str, document_id: str) -> Answer:
        """The request's document: DOCUMENT (its status; the reasons if REJECTED), NOT_FOUND."""
        ...

    async def mark_ready(self, request_id: str) -> Answer:
        """``PUT .../status "READY"``: MARKED_READY, NOT_FOUND or REFUSED."""
        ...

    async def fetch_signed(self, request_id: str) -> Answer:
        """Download a SIGNED request's documents: FETCHED (facts: each file's name, size and
        SHA-256). A download of the wrong type or size raises, and leaves no file."""
        ...


@dataclass(frozen=True, slots=True)
class KeptDocument:
    """A document a :class:`DocumentSink` holds whole: where, its size, its SHA-256 as kept."""

    where: str
    size: int
    sha256: str


class DocumentDraft(Protocol):
    """One document on its way into a sink: bytes written in order, then kept whole or dropped.
    Until :meth:`keep` returns, nothing is visible under the document's name."""

    def write(self, data: bytes, /) -> object:
        """Add ``data`` to the document."""
        ...

    async def keep(self) -> KeptDocument:
        """Put the whole document in its place, durably; the same bytes already there: left as
        they are. What is kept."""
        ...

    def discard(self) -> None:
        """Drop what was written; nothing is kept."""
        ...


class DocumentSink(Protocol):
    """Where signed documents are kept (a folder, an object store), each under one name derived
    from its folder and name alone, so a document is never kept twice under two names."""

    def draft(self, folder: str, name: str) -> DocumentDraft:
        """A new draft of document ``name`` (``<document id>.pdf``) of ``folder`` (the
        request's id); names that would leave the sink are refused before anything is written."""
        ...


class StatusReader(Protocol):
    """Where a driver may read a request's status from, instead of one ``GET`` per flow: for
    ``check_activation`` and ``check_status``; ``recover_notification`` reads the request."""

    async def read_status(self, request_id: str) -> Answer:
        """An ``Answer`` of kind REQUEST (status, maybe without notification) or NOT_FOUND."""
        ...


class Clock(Protocol):
    """Time, injected so that tests never sleep for real."""

    def now(self) -> float:
        """Seconds since the epoch."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""
        ...


class StepSpan(Protocol):
    """One step being traced: told the step's record once it exists."""

    def record(self, record: AuditRecord) -> None:
        """The step's record (accepted, refused or error)."""


class StepTracer(Protocol):
    """Traces each step a driver makes (``firmaio.adapters.observability.OtelTracing`` does it
    with OpenTelemetry); the API call runs inside the span it opens."""

    def step(self, flow_id: str, trigger: str) -> AbstractContextManager[StepSpan]:
        """A span around one step of one flow."""
        ...


@dataclass(frozen=True, slots=True)
class StoredFlow:
    """A flow as a store keeps it: enough to rebuild it with :meth:`fsm.Engine.restore`."""

    flow_id: str
    activation_deadline: float
    intent: str | None
    """``"notify"`` while a notification may be under way: resume must read before sending."""
    records: tuple[AuditRecord, ...]
    intent_at: float | None = None
    """When the intent was opened (or last touched), by the driver's clock."""
    tenant: str | None = None
    """The administration the flow belongs to (whose API key drives it); None: the default."""
    dossier_id: str | None = None
    """The request's dossier, where known: its status can be read from the dossier's listing."""
    initial: State | None = None
    """Where a flow with no record yet stands (READY, or RECEIVED for a PDF); None: its first
    record says."""
    table_version: int | None = None
    """The table version the flow started on (None: 1, before versions were recorded); each
    record is read from its own version as the running table names it (:mod:`fsm.trail.reading`)."""
    checked_at: float | None = None
    """Its last status check that found nothing new (and so wrote no record), if any."""


@dataclass(frozen=True, slots=True)
class FlowRow:
    """A flow's own row, as ``audit verify`` and a batch run's summary read it."""

    flow_id: str
    state: str
    seq: int
    intent: str | None
    head_hash: str
    tenant: str | None = None
    dossier_id: str | None = None
    due_at: float | None = None
    """When the flow is next due (:mod:`fsm.driving.due`), where the read says."""


class FlowStore(Protocol):
    """Where flows and their audit trails are kept, atomically.

    Writes are compare-and-set on the flow's record count (``expected_seq``): of two processes
    writing the same flow, one wins and the other gets :class:`fsm.errors.StaleFlow` with nothing
    written. A record and the flow's new state are written in one transaction.
    """

    async def create(
        self,
        flow_id: str,
        *,
        activation_deadline: float,
        now: float,
        due_at: float | None,
        tenant: str | None = None,
        initial: State = State.READY,
    ) -> bool:
        """Add a flow in ``initial`` (READY, or RECEIVED for a flow from a PDF), of ``tenant``,
        due at ``due_at``; False if it already exists (then nothing changes)."""
        ...

    async def load(self, flow_id: str) -> StoredFlow | None:
        """The stored flow, or None."""
        ...

    async def open_intent(
        self, flow_id: str, intent: str, *, expected_seq: int, now: float, due_at: float | None
    ) -> None:
        """Record that a call with effects (``"notify"``) is about to be made, and the flow's
        due time (:mod:`fsm.driving.due`), in one write."""
        ...

    async def append(
        self, record: AuditRecord, *, expected_seq: int, close_intent: bool, now: float,
        due_at: float | None,
    ) -> None:  # fmt: skip
        """Add ``record``, move the flow to ``record.target`` (if accepted) and set its due
        time (None: never), atomically."""
        ...

    async def checked(
        self, flow_id: str, *, expected_seq: int, at: float, due_at: float | None
    ) -> bool:
        """A check that found nothing new at ``at``: last-checked and due time, one write."""
        ...


class BatchStore(Protocol):
    """What a batch run needs beside the flow port: registering many flows, counting the rest.

    Which process drives which flow is not the store's business: one process drives a batch
    (:class:`~firmaio.adapters.runner.BatchRun`), and many share flows through a task queue
    (:mod:`firmaio.adapters.queue`). Two drivers on one flow still never both win a step: every
    write is a compare-and-set.
    """

    async def create_many(
        self,
        flow_ids: Sequence[str],
        *,
        activation_deadline: float,
        now: float,
        tenant: str | None = None,
        dossier_id: str | None = None,
    ) -> None:
        """Register many flows in READY at once (of ``tenant``, in ``dossier_id``); existing
        flows are left as they are."""
        ...

    async def pending(self, ids: Sequence[str] | None = None) -> int:
        """How many flows (of ``ids``) still need driving."""
        ...


class DueReader(Protocol):
    """Which flows are due, for the long-running modes: only the due rows are read."""

    async def due(
        self,
        now: float,
        *,
        tenant: str | None = None,
        every_tenant: bool = False,
        after: tuple[float, str] | None = None,
        limit: int = 500,
    ) -> list[FlowRow]:
        """Flows due by ``now`` (of ``tenant``), by due time then id, a page of at most
        ``limit`` after ``after`` (the last row's due time and id)."""
        ...

    async def refile(self, flow_id: str, *, expected_seq: int, due_at: float | None) -> bool:
        """Set a flow's due time unless it was written since (``expected_seq``) or has an open
        intent; whether it was set."""
        ...


class TrailReader(Protocol):
    """Reading the stored trails back, for ``audit verify``, ``audit show`` and summaries."""

    async def rows(self, ids: Sequence[str] | None = None) -> list[FlowRow]:
        """The flows' own rows (of ``ids``), by id."""
        ...

    async def links(self, flow_id: str) -> list[ChainLink]:
        """A flow's stored records with their hashes, as stored."""
        ...

    async def trail_page(
        self, after: str | None = None, limit: int = 500
    ) -> list[tuple[FlowRow, list[ChainLink]]]:
        """Up to ``limit`` flows with ids after ``after`` (from the first when ``None``), by
        id, each with its records: the whole store read a bounded page at a time."""
        ...

    async def orphan_flow_ids(self) -> list[str]:
        """Ids of records whose flow row is gone."""
        ...

    async def store_id(self) -> str:
        """The store's own id, kept in the store: what a checkpoint names."""
        ...


class Store(FlowStore, BatchStore, DueReader, TrailReader, Protocol):
    """A whole store, as a batch run and the ``firmaio`` command use it."""

    async def close(self) -> None:
        """Release the store's connections and threads."""
        ...
