"""Audit records: one frozen record for every attempt to fire a trigger.

A record is made whether the attempt was accepted (the state changed, or a row kept it), refused
(no guard held; the state is unchanged) or failed (the API gave no usable answer). The engine
keeps the records on the flow and emits each as one structlog event with flat fields, so folding
a flow's records from its initial state gives its current state (:func:`fold`). A record's
flat fields (:meth:`AuditRecord.as_event_dict`) are what is stored; :func:`from_event_dict` reads
them back. The hash chain that links a flow's stored records is :mod:`fsm.trail.chain`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any, NamedTuple

from ..machine.answers import Kind, is_known
from ..machine.states import ENTRIES, INITIAL, TERMINAL, State, Trigger


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


class AuditRecord(NamedTuple):
    """One attempt on one flow. Times come from the injected clock (seconds).

    A named tuple, so a record cannot change once made; it is one because it is made on every
    fire, and a tuple is built five times faster than a frozen dataclass (see bench/).
    """

    flow_id: str
    seq: int
    trigger: str
    """A :class:`~fsm.machine.states.Trigger` (or a trigger of your own table's)."""
    source: State
    target: State
    outcome: Outcome
    guards: tuple[tuple[str, bool], ...]
    """The guards evaluated, in order, with their results."""
    answer: str | None
    """The kind of the API's answer (:class:`fsm.machine.answers.Kind`), if a call was made."""
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
    actor: str | None = None
    """Who made the attempt (a worker's or a tenant's name), if the driver was told; never a key.
    Stored only when set, so records written before it existed keep their hashes."""
    facts: tuple[tuple[str, str], ...] | None = None
    """What the answer taught the flow, as sorted (name, value) pairs: the ids the issuer gave
    (``signer_id``, ``dossier_id``, ``request_id``...), a file's SHA-256, a fallback's channel;
    on a flow's first record from a PDF, its order (``order.*``). Never personal data or a
    secret. Stored only when set, like :attr:`actor`."""
    table_version: int | None = None
    """The version of the table that wrote it (:mod:`fsm.machine.versions`), set by the engine;
    ``None``: written before versions were recorded, by version 1. Stored only when set."""

    @property
    def guard(self) -> str | None:
        """The guard that held, if any."""
        for name, held in self.guards:
            if held:
                return name
        return None

    def as_event_dict(self) -> dict[str, Any]:
        """The record as flat fields, the way it is stored: :data:`STORED_FIELDS`, every one,
        ``None`` included, except the optional ones (:data:`OPTIONAL_FIELDS`), kept only when
        set: a record without an actor is stored, and hashed, exactly as before actors existed.

        ``guards`` becomes ``"name=True,name=False"`` and ``guard`` is added. The enums are
        ``StrEnum`` members: they are strings.
        """
        fields: dict[str, Any] = dict(zip(self._fields, self, strict=True))
        if self.facts is not None:
            fields["facts"] = dict(self.facts)
        fields["guards"] = _guards_text(self.guards)
        fields["guard"] = self.guard
        for name in OPTIONAL_FIELDS:
            if fields[name] is None:
                del fields[name]
        return fields

    def log_fields(self) -> dict[str, Any]:
        """The fields of the structlog event: :data:`LOGGED_FIELDS`, without the empty ones.

        The full guard trace, the QR URL and the clock times stay in the record (and the
        store): a polling flow logs an event every few seconds, and log pipelines stamp their
        own time.
        """
        fields = {  # the fields always set, then the others that are (a record is a tuple)
            "flow_id": self[0], "seq": self[1], "trigger": self[2], "source": self[3],
            "target": self[4], "outcome": self[5],
        }  # fmt: skip
        for name, index in _LOGGED_IF_SET:
            value = self[index]
            if value is not None:
                fields[name] = value
        for name, held in self.guards:
            if held:
                fields["guard"] = name
        return fields


STORED_FIELDS: tuple[str, ...] = (*AuditRecord._fields, "guard")
"""The fields of a stored record (:meth:`AuditRecord.as_event_dict`): every field, and the guard
that held."""

OPTIONAL_FIELDS: tuple[str, ...] = ("actor", "facts", "table_version")
"""Stored fields left out of a record's stored form while they are ``None`` (added after stored
chains existed: leaving them out keeps those chains verifiable)."""

NOT_LOGGED = frozenset(
    {"guards", "qr_code_url", "requested_at", "decided_at", "facts", "table_version"}
)
"""Stored but not logged: the guard trace (the guard that held is), the QR URL, the times, the
facts (an order's file path and fields are for the trail, not for every log line), the table's
version (the same on every record a process writes)."""

LOGGED_FIELDS: tuple[str, ...] = tuple(f for f in STORED_FIELDS if f not in NOT_LOGGED)
"""The fields a structlog event may carry (:meth:`AuditRecord.log_fields`), derived from
:data:`STORED_FIELDS`."""

_LOGGED_OWN = tuple(f for f in LOGGED_FIELDS if f in AuditRecord._fields)
_LOGGED_ALWAYS = ("flow_id", "seq", "trigger", "source", "target", "outcome")
_LOGGED_IF_SET = tuple((f, AuditRecord._fields.index(f)) for f in _LOGGED_OWN[6:])
"""The logged fields after the six always set, with their places in a record (the event is
built on every fire: a dict display and indexes are the cheapest way)."""
if _LOGGED_OWN[:6] != _LOGGED_ALWAYS or AuditRecord._fields[:6] != _LOGGED_ALWAYS:
    raise ImportError("AuditRecord.log_fields expects the six fields always set first")


def _guards_text(guards: tuple[tuple[str, bool], ...]) -> str:
    return ",".join([f"{name}={held}" for name, held in guards])


def fold(records: Iterable[AuditRecord], initial: State | None = None) -> State:
    """The state a flow reaches by replaying its records from ``initial``.

    Without ``initial``, a trail starts where its first record does if that is a state a flow
    may start in (:data:`~fsm.machine.states.ENTRIES`: READY, or RECEIVED for a flow from a PDF),
    else
    in READY. Raises ValueError if an accepted record does not start where the previous one
    ended: such a trail is not one flow's history.
    """
    records = list(records)
    if initial is None:
        first = records[0].source if records else INITIAL
        initial = first if first in ENTRIES else INITIAL
    state = initial
    for record in records:
        if record.source != state:
            raise ValueError(f"record {record.seq} starts in {record.source}, not in {state}")
        if record.outcome is Outcome.ACCEPTED:
            state = record.target
    return state


def unknown_status(records: Iterable[AuditRecord]) -> str | None:
    """The status the table does not know that a flow's last read of its request found, while
    the flow is open: it needs a person's attention (the flow waits, watched, and never closes
    on it). ``None`` when the last read found a documented status, or the flow is closed."""
    status: str | None = None
    state: State | None = None
    for record in records:
        if record.outcome is Outcome.ACCEPTED:
            state = record.target
        if record.answer == Kind.REQUEST:
            status = None if is_known(record.request_status) else record.request_status
    return None if state in TERMINAL else status


def from_event_dict(fields: dict[str, Any]) -> AuditRecord:
    """Rebuild a record from :meth:`AuditRecord.as_event_dict` (e.g. stored JSON)."""
    guards: list[tuple[str, bool]] = []
    if fields.get("guards"):
        for item in str(fields["guards"]).split(","):
            name, _, held = item.partition("=")
            guards.append((name, held == "True"))
    return AuditRecord(
        flow_id=fields["flow_id"],
        seq=int(fields["seq"]),
        trigger=_trigger(str(fields["trigger"])),
        source=State(fields["source"]),
        target=State(fields["target"]),
        outcome=Outcome(fields["outcome"]),
        guards=tuple(guards),
        answer=fields.get("answer"),
        http_status=fields.get("http_status"),
        request_status=fields.get("request_status"),
        io_message_id=fields.get("io_message_id"),
        qr_code_url=fields.get("qr_code_url"),
        detail=fields.get("detail"),
        reason=fields.get("reason"),
        requested_at=float(fields["requested_at"]),
        decided_at=float(fields["decided_at"]),
        actor=fields.get("actor"),
        facts=_facts(fields.get("facts")),
        table_version=v if isinstance(v := fields.get("table_version"), int) else None,
    )


def _facts(value: object) -> tuple[tuple[str, str], ...] | None:
    if not isinstance(value, dict):
        return None
    return tuple(sorted((str(k), str(v)) for k, v in value.items()))


def _trigger(name: str) -> str:
    """A built-in trigger as its :class:`Trigger` member; a trigger of another table as is."""
    try:
        return Trigger(name)
    except ValueError:
        return name
