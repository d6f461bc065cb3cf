"""Audit records: one frozen record for every attempt to fire a trigger.

A record is made whether the attempt was accepted (the state changed, or a row kept it), refused
(no guard held; the state is unchanged) or failed (the API gave no usable answer). The engine
keeps the records on the flow and emits each as one structlog event with flat fields, so folding
a flow's records from its initial state gives its current state (:func:`fold`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from fsm.states import State, Trigger


class Outcome(enum.StrEnum):
    """How an attempt ended."""

    ACCEPTED = "accepted"
    """A row's guard held; the flow is now in ``target`` (which may equal ``source``)."""
    REFUSED = "refused"
    """No guard held; nothing changed but the record itself."""
    ERROR = "error"
    """The API gave no usable answer; nothing changed but the record itself."""


EVENT_NAMES = {
    Outcome.ACCEPTED: "fsm.transition",
    Outcome.REFUSED: "fsm.transition_refused",
    Outcome.ERROR: "fsm.transition_failed",
}


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One attempt on one flow. Times come from the injected clock (seconds)."""

    flow_id: str
    seq: int
    trigger: Trigger
    source: State
    target: State
    outcome: Outcome
    guards: tuple[tuple[str, bool], ...]
    """The guards evaluated, in order, with their results."""
    answer: str | None
    """The kind of the API's answer (:class:`fsm.answers.Kind`), if a call was made."""
    http_status: int | None
    request_status: str | None
    io_message_id: str | None
    qr_code_url: str | None
    detail: str | None
    """The API's problem detail, or the error, with personal data masked."""
    reason: str | None
    """Why the flow is where it is: a refusal or failure reason, for a reviewer to read."""
    requested_at: float
    decided_at: float

    @property
    def guard(self) -> str | None:
        """The guard that held, if any."""
        return next((name for name, held in self.guards if held), None)

    def as_event_dict(self) -> dict[str, Any]:
        """The record as flat fields, the way it is logged and stored."""
        fields = asdict(self)
        fields["trigger"] = str(self.trigger)
        fields["source"] = str(self.source)
        fields["target"] = str(self.target)
        fields["outcome"] = str(self.outcome)
        fields["guards"] = ",".join(f"{name}={held}" for name, held in self.guards)
        fields["guard"] = self.guard
        return fields


def fold(records: Iterable[AuditRecord], initial: State = State.READY) -> State:
    """The state a flow reaches by replaying its records from ``initial``.

    Raises ValueError if an accepted record does not start where the previous one ended: such a
    trail is not one flow's history.
    """
    state = initial
    for record in records:
        if record.source != state:
            raise ValueError(f"record {record.seq} starts in {record.source}, not in {state}")
        if record.outcome is Outcome.ACCEPTED:
            state = record.target
    return state
