"""The one JSON envelope every ``firmaio`` command prints under ``--json``, on every path.

``{"command", "exit_code", "failure", ...}``: ``failure`` is null or ``{"kind", "message"}``
(``kind`` an exit's name); a command about flows adds ``flow`` (one) or ``flows`` (many), each in
the one shape of :func:`flow_json` whose ``records`` are :func:`record_json`'s: times in ISO 8601,
the guards as an object, the flow id as ``flow_id`` and the request's as ``request_id``. Other
keys are the command's own (``db``, ``verdict``, ``events``...). ``envelope.schema.json`` beside
this module describes it (:data:`SCHEMA_PATH`); a test validates every command's output.

``main`` prints the envelope itself for an error no command printed (a bad argument, a setting
refused before the command ran), so a command added later gets that path without a line of its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from firmaio.fsm.driving import Flow
from firmaio.fsm.trail import AuditRecord

from .exits import Failure

SCHEMA_PATH = Path(__file__).with_name("envelope.schema.json")
"""The JSON Schema of the envelope, shipped in the package."""


def iso(epoch: float | None) -> str | None:
    """``epoch`` seconds as ISO 8601 UTC, to the millisecond (None stays None)."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="milliseconds")


def record_json(record: AuditRecord, hashes: tuple[str, str] | None = None) -> dict[str, Any]:
    """One audit record: its stored fields, the guards as ``{name: held}``, the facts as an object,
    the times in ISO 8601, and its chain's ``hash``/``prev_hash`` when read from a store."""
    fields = record.as_event_dict()
    fields["guards"] = dict(record.guards)
    fields["facts"] = dict(record.facts or ())
    fields["requested_at"] = iso(record.requested_at)
    fields["decided_at"] = iso(record.decided_at)
    fields.setdefault("actor", None)
    fields.setdefault("table_version", None)
    fields["hash"], fields["prev_hash"] = hashes if hashes is not None else (None, None)
    return fields


def flow_json(
    flow: Flow,
    *,
    files: Mapping[str, str] | None = None,
    next_attempt: float | None = None,
    hashes: Mapping[int, tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """One flow: ids, state, what it learned, its fallback (with the ``files`` written for it),
    when it is tried next, and its records."""
    fallback = flow.fallback
    return {
        "flow_id": flow.id,
        "request_id": flow.request_id,
        "state": str(flow.state),
        "io_message_id": flow.io_message_id,
        "unknown_status": flow.unknown_status,
        "reason": flow.failure,
        "fallback": None
        if fallback is None
        else {
            "reason": str(fallback.reason),
            "advice_it": fallback.advice_it,
            "advice_en": fallback.advice_en,
            "link": fallback.link,
            "qr_image_url": fallback.qr_image_url,
            "qr_png": (files or {}).get("png"),
            "qr_svg": (files or {}).get("svg"),
            "button_html": (files or {}).get("button"),
        },
        "next_attempt_at": iso(next_attempt),
        "records": [record_json(r, (hashes or {}).get(r.seq)) for r in flow.history],
    }


def flow_row(flow_id: str, state: str, records: int, request_id: str | None) -> dict[str, Any]:
    """A flow as a batch lists it: ids, state and how many records it has (not the records)."""
    return {"flow_id": flow_id, "request_id": request_id, "state": state, "record_count": records}


def envelope(
    command: str | None,
    exit_code: int,
    failure: Failure | None,
    *,
    flow: dict[str, Any] | None = None,
    flows: Iterable[dict[str, Any]] | None = None,
    **body: Any,
) -> dict[str, Any]:
    """The document: the command, its exit code and failure, then ``flow`` or ``flows``, then
    the command's own keys."""
    document: dict[str, Any] = {
        "command": command,
        "exit_code": exit_code,
        "failure": None if failure is None else failure.as_json(),
    }
    if flow is not None:
        document["flow"] = flow
    if flows is not None:
        document["flows"] = list(flows)
    return document | body


def dump(document: Mapping[str, Any], out: TextIO) -> None:
    """Print ``document`` as indented JSON and a newline."""
    json.dump(document, out, indent=2)
    out.write("\n")


def emit(
    args: Any,
    out: TextIO,
    exit_code: int,
    failure: Failure | None = None,
    **body: Any,
) -> None:
    """Print the envelope of the command ``args`` parsed (``main`` notes its name), and note
    that it was printed, so ``main`` does not print another on the way out."""
    dump(envelope(getattr(args, "invocation", None), exit_code, failure, **body), out)
    args.enveloped = True
