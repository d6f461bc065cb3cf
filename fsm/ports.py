"""The ports: what the core needs from the outside world, as small Protocols.

``fsm`` imports no adapter: it is handed objects that fit these shapes. ``fsm.testing`` has
fakes for tests; ``adapters`` has the real issuer-API client and the SQLite and PostgreSQL
stores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .answers import Answer
from .audit import AuditRecord


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


class FlowStore(Protocol):
    """Where flows and their audit trails are kept, atomically.

    Writes are compare-and-set on the flow's record count (``expected_seq``): of two processes
    writing the same flow, one wins and the other gets :class:`fsm.errors.StaleFlow` with nothing
    written. A record and the flow's new state are written in one transaction.
    """

    def create(self, flow_id: str, *, activation_deadline: float, now: float) -> bool:
        """Add a flow in READY; False if it already exists (then nothing changes)."""
        ...

    def load(self, flow_id: str) -> StoredFlow | None:
        """The stored flow, or None."""
        ...

    def open_intent(self, flow_id: str, intent: str, *, expected_seq: int, now: float) -> None:
        """Record that a call with effects (``"notify"``) is about to be made."""
        ...

    def append(
        self, record: AuditRecord, *, expected_seq: int, close_intent: bool, now: float
    ) -> None:
        """Add ``record`` and move the flow to ``record.target`` (if accepted), atomically."""
        ...
