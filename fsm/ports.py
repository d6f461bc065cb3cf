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

from .answers import Answer
from .audit import AuditRecord, ChainLink


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


class StatusReader(Protocol):
    """Where a driver may read a request's status from, instead of one ``GET`` per flow.

    Used for the triggers whose guards need the status only (``check_activation``,
    ``check_status``); ``recover_notification`` always reads the whole request.
    """

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


class FlowStore(Protocol):
    """Where flows and their audit trails are kept, atomically.

    Writes are compare-and-set on the flow's record count (``expected_seq``): of two processes
    writing the same flow, one wins and the other gets :class:`fsm.errors.StaleFlow` with nothing
    written. A record and the flow's new state are written in one transaction.
    """

    async def create(
        self, flow_id: str, *, activation_deadline: float, now: float, tenant: str | None = None
    ) -> bool:
        """Add a flow in READY, of ``tenant``; False if it already exists (then nothing
        changes)."""
        ...

    async def load(self, flow_id: str) -> StoredFlow | None:
        """The stored flow, or None."""
        ...

    async def open_intent(
        self, flow_id: str, intent: str, *, expected_seq: int, now: float
    ) -> None:
        """Record that a call with effects (``"notify"``) is about to be made."""
        ...

    async def append(
        self, record: AuditRecord, *, expected_seq: int, close_intent: bool, now: float
    ) -> None:
        """Add ``record`` and move the flow to ``record.target`` (if accepted), atomically."""
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


class TrailReader(Protocol):
    """Reading the stored trails back, for ``audit verify``, ``audit show`` and summaries."""

    async def rows(self, ids: Sequence[str] | None = None) -> list[FlowRow]:
        """The flows' own rows (of ``ids``), by id."""
        ...

    async def links(self, flow_id: str) -> list[ChainLink]:
        """A flow's stored records with their hashes, as stored."""
        ...

    async def orphan_flow_ids(self) -> list[str]:
        """Ids of records whose flow row is gone."""
        ...


class Store(FlowStore, BatchStore, TrailReader, Protocol):
    """A whole store, as a batch run and the ``firmaio`` command use it."""

    async def close(self) -> None:
        """Release the store's connections and threads."""
        ...
