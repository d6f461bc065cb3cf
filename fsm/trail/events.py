"""Events: every stored record as a CloudEvent (1.0, JSON format), what the outbox keeps.

A store writes a record's event in the record's own transaction (the outbox), so a record and
its event are never one without the other. The event's ``id`` is the flow's id and the record's
sequence number (``<flow_id>/<seq>``): the same on every delivery and every replay. Its ``type``
is one per kind of record (:func:`event_type`): a record that moved the flow is named by the
state it reached (``flow.signed``), one that kept the state by its trigger (``documents.fetched``),
an attempt refused or failed as such. Its ``data`` carries the record's public evidence only:
never a fiscal code (masked), a URL (an upload URL or a download URL is a bearer credential), a
key, or the order a flow from a PDF was started with.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..machine.states import State, Trigger
from ..redact import redact_text
from .record import AuditRecord, Outcome

PREFIX = "it.pagopa.firmaio."
"""What every event type starts with (reverse-DNS, as CloudEvents recommends)."""

SPECVERSION = "1.0"

KEPT: Mapping[str, str] = {
    Trigger.FETCH_DOCUMENTS: "documents.fetched",
    Trigger.DELIVER_FALLBACK: "fallback.delivered",
    Trigger.CHECK_ACTIVATION: "flow.activation_checked",
    Trigger.CHECK_STATUS: "flow.status_checked",
    Trigger.CHECK_VALIDATION: "flow.validation_checked",
    Trigger.RECOVER_NOTIFICATION: "flow.notification_checked",
    Trigger.RECOVER_REQUEST: "flow.request_checked",
}
"""The names of accepted records that keep the flow's state, by trigger (a trigger not here,
of a table of your own: ``flow.<trigger>``)."""

REFUSED = "attempt.refused"
"""No guard held: nothing changed but the record (the flow stays where it was)."""
FAILED_ATTEMPT = "attempt.failed"
"""The API gave no usable answer: nothing changed but the record (the flow tries again)."""

PUBLIC_FIELDS = (
    "answer",
    "http_status",
    "request_status",
    "io_message_id",
    "reason",
    "detail",
    "actor",
)
"""The record's fields an event carries, besides its transition and guard (never the QR code's
URL: the data of an event holds no URL)."""

_PRIVATE_FACTS = ("order.",)
"""Facts an event leaves out: the order a flow from a PDF was started with (its file's path,
its fields) is the issuer's input, not evidence."""


def type_name(source: State | str, trigger: str, target: State | str) -> str:
    """The name (without :data:`PREFIX`) of an accepted record's event."""
    if str(target) != str(source):
        return f"flow.{str(target).lower()}"
    return KEPT.get(str(trigger), f"flow.{trigger}")


def event_type(record: AuditRecord) -> str:
    """The CloudEvents ``type`` of ``record``'s event."""
    if record.outcome is Outcome.REFUSED:
        return PREFIX + REFUSED
    if record.outcome is Outcome.ERROR:
        return PREFIX + FAILED_ATTEMPT
    return PREFIX + type_name(record.source, record.trigger, record.target)


def event_id(flow_id: str, seq: int) -> str:
    """The event's id: stable, the same on every delivery and replay."""
    return f"{flow_id}/{seq}"


def rfc3339(seconds: float) -> str:
    """``seconds`` since the epoch as an RFC 3339 UTC time, to the millisecond."""
    moment = datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")
    return moment.replace("+00:00", "Z")


def public(value: str) -> str | None:
    """``value`` as an event may carry it: a fiscal code masked; ``None`` for a URL."""
    return None if "://" in value else redact_text(value)


def evidence(record: AuditRecord) -> dict[str, Any]:
    """The record's public evidence: :data:`PUBLIC_FIELDS` that are set, and its facts but
    the order's, with every text masked and every URL left out."""
    found: dict[str, Any] = {}
    for name in PUBLIC_FIELDS:
        value = getattr(record, name)
        if isinstance(value, str):
            value = public(value)
        if value is not None:
            found[name] = value
    facts = {
        name: shown
        for name, value in record.facts or ()
        if not name.startswith(_PRIVATE_FACTS) and (shown := public(value)) is not None
    }
    if facts:
        found["facts"] = facts
    return found


def cloud_event(
    record: AuditRecord,
    *,
    source: str,
    tenant: str | None = None,
    request_id: str | None = None,
    dossier_id: str | None = None,
    batch_id: str | None = None,
) -> dict[str, Any]:
    """``record``'s event, as a CloudEvents 1.0 JSON object; ``data.batch_id`` only for a flow
    of a batch (``firmaio send --manifest``)."""
    facts = dict(record.facts or ())
    event: dict[str, Any] = {
        "specversion": SPECVERSION,
        "id": event_id(record.flow_id, record.seq),
        "source": source,
        "type": event_type(record),
        "subject": record.flow_id,
        "time": rfc3339(record.decided_at),
        "datacontenttype": "application/json",
        "data": {
            "tenant": tenant,
            "request_id": request_id or facts.get("request_id"),
            "dossier_id": dossier_id or facts.get("dossier_id"),
            "seq": record.seq,
            "transition": {
                "from": str(record.source),
                "trigger": str(record.trigger),
                "to": str(record.target),
            },
            "outcome": str(record.outcome),
            "guard": record.guard,
            "evidence": evidence(record),
        },
    }
    if batch_id is not None:
        event["data"]["batch_id"] = batch_id
    return event


def event_body(event: Mapping[str, Any]) -> str:
    """An event as stored and sent: compact JSON, keys sorted."""
    return json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def store_source(store_id: str) -> str:
    """The default ``source`` of a store's events: the store's own id, as a URN."""
    return f"urn:firmaio:store:{store_id}"


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as the outbox keeps it, with its delivery's state."""

    position: int
    """Its place in the store's feed: increasing, the cursor a reader keeps."""
    id: str
    flow_id: str
    seq: int
    tenant: str | None
    type: str
    time: float
    body: str
    """The CloudEvent, as JSON (:meth:`cloud_event` reads it)."""
    status: str
    """``pending``, ``delivered`` or ``dead`` (given up after the retries, with the reason)."""
    attempts: int
    next_attempt_at: float | None
    last_error: str | None

    def cloud_event(self) -> dict[str, Any]:
        """The CloudEvent, as a JSON object."""
        event: dict[str, Any] = json.loads(self.body)
        return event


def event_types(
    rows: Iterable[tuple[State | str, str, State | str]],
) -> dict[str, list[tuple[str, str, str]]]:
    """Every event type the rows ``(source, trigger, target)`` can write, with the rows that
    write it, in the rows' order; then the two kinds of attempt that keep nothing."""
    types: dict[str, list[tuple[str, str, str]]] = {}
    for source, trigger, target in rows:
        row = (str(source), str(trigger), str(target))
        found = types.setdefault(PREFIX + type_name(source, trigger, target), [])
        if row not in found:
            found.append(row)
    types[PREFIX + REFUSED] = []
    types[PREFIX + FAILED_ATTEMPT] = []
    return types


def events_markdown(rows: Iterable[tuple[State | str, str, State | str]]) -> str:
    """The manual's table of event types (docs/events.md, between ``<!-- BEGIN
    generated:events -->`` and its end marker): each type, and the records that write it (a
    trigger, and the states it is fired from), as Markdown."""
    out = ["| Type | Written by a record of |", "|---|---|"]
    for name, written in event_types(rows).items():
        by: dict[str, list[str]] = {}
        for source, trigger, _target in written:
            if source not in by.setdefault(trigger, []):
                by[trigger].append(source)
        what = "; ".join(
            f"`{trigger}` from " + ", ".join(f"`{s}`" for s in sources)
            for trigger, sources in by.items()
        )
        if not written:
            what = _ATTEMPTS[name.removeprefix(PREFIX)]
        out.append(f"| `{name.removeprefix(PREFIX)}` | {what} |")
    return "\n".join(out) + "\n"


_ATTEMPTS = {
    REFUSED: "any trigger whose guards all failed: nothing changed but the record",
    FAILED_ATTEMPT: "any trigger whose call got no usable answer: the flow will try again",
}
