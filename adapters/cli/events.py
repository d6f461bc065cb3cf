"""``firmaio events``: the outbox's events and their deliveries, the pull feed, redelivery.

``firmaio events`` lists events in commit order with their delivery status and attempts
(filters: ``--tenant``, ``--flow``, ``--type``, ``--status`` or ``--dead``, ``--since`` and
``--until``; ``--after`` a cursor); ``--json`` adds each event and its delivery log.
``--follow`` is the pull feed: every event after ``--after``, then each new one, as JSON lines
with its position (the cursor to go on from), until SIGINT or SIGTERM. ``firmaio events
redeliver EVENT_ID...`` (or ``--dead-since TIME``) puts dead events back to pending.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import time
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from firmaio.fsm.errors import InvalidInput
from firmaio.fsm.machine import TABLE
from firmaio.fsm.trail.events import PREFIX, StoredEvent, event_types

from ..feed import POLL, follow_events
from ..store import AsyncStore, store_name
from ..store.failures import missing
from ..tenants import DEFAULT_TENANT
from . import exits
from .argtypes import count, delay, positive_seconds, tenant
from .envelope import emit
from .options import need_db
from .output import iso_utc
from .wiring import POSTGRES_SCHEMES, flow_store

TYPES = tuple(event_types((r.source, r.trigger, r.target) for r in TABLE))
"""Every event type the built-in table writes."""


def event_type(text: str) -> str:
    """An event type, with or without its prefix (``flow.signed``): one the table writes."""
    full = text if text.startswith(PREFIX) else PREFIX + text
    if full not in TYPES:
        names = ", ".join(t.removeprefix(PREFIX) for t in TYPES)
        raise argparse.ArgumentTypeError(f"{text!r} is not an event type; the types: {names}")
    return full


def moment(text: str) -> float:
    """A time: ISO-8601 with its zone (``2026-12-06T09:00:00+01:00``), or how long ago
    (``90m``, ``24h``, ``7d``)."""
    try:
        return time.time() - delay(text)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time: ISO-8601 with its zone, or how long ago (90m, 24h, 7d)"
        ) from None
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r}: give the time's zone (Z, +01:00)")
    return parsed.timestamp()


def cursor(text: str) -> int:
    """A feed's cursor: an event's position, 0 for the start."""
    if text.strip() == "0":
        return 0
    return count(text)


def add_events_command(sub: Any) -> None:
    """Add ``events`` (and ``events redeliver``) to ``firmaio``'s subparsers."""
    events = sub.add_parser(
        "events", help="the outbox's events: list, follow (the pull feed), redeliver"
    )
    events.add_argument("--db", help="SQLite file or postgresql:// URL (needed)")
    events.add_argument("--tenant", type=tenant, help=f"this tenant's ({DEFAULT_TENANT}: none)")
    events.add_argument("--flow", metavar="ID", help="this flow's events")
    events.add_argument("--type", type=event_type, help="this type (e.g. flow.signed)")
    status = events.add_mutually_exclusive_group()
    status.add_argument("--status", choices=("pending", "delivered", "dead"))
    status.add_argument("--dead", action="store_true", help="the dead ones (--status dead)")
    events.add_argument("--since", type=moment, help="at or after TIME (ISO-8601, or 24h ago)")
    events.add_argument("--until", type=moment, help="before TIME")
    events.add_argument("--after", type=cursor, help="after this position (a feed's cursor)")
    events.add_argument("--limit", type=count, default=1000, help="at most this many (%(default)d)")
    events.add_argument(
        "--follow",
        action="store_true",
        help="print every event after --after, then each new one, as JSON lines, until SIGINT",
    )
    events.add_argument(
        "--interval",
        type=positive_seconds,
        default=POLL,
        help="with --follow, seconds between reads that found nothing (%(default)g)",
    )
    events.add_argument("--json", action="store_true", help="print the events as JSON")
    events.set_defaults(func=cmd_events)
    events_sub = events.add_subparsers(dest="events_command")
    redeliver = events_sub.add_parser("redeliver", help="dead events back to pending")
    redeliver.add_argument("event_ids", nargs="*", metavar="EVENT_ID")
    redeliver.add_argument(
        "--dead-since", type=moment, metavar="TIME", help="every event dead since TIME"
    )
    # given before or after `redeliver`, --db and --json mean the same
    redeliver.add_argument("--db", default=argparse.SUPPRESS, help="as for events")
    redeliver.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print it as JSON"
    )
    redeliver.set_defaults(func=cmd_redeliver)


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    chosen = {"flow_id": args.flow, "type": args.type}
    if args.tenant is not None:
        chosen["tenant"] = None if args.tenant == DEFAULT_TENANT else args.tenant
    return chosen


def _as_json(event: StoredEvent, deliveries: list[tuple[Any, ...]]) -> dict[str, Any]:
    return {
        "position": event.position,
        "id": event.id,
        "flow_id": event.flow_id,
        "seq": event.seq,
        "tenant": event.tenant,
        "type": event.type,
        "time": iso_utc(event.time),
        "status": event.status,
        "attempts": event.attempts,
        "next_attempt_at": None
        if event.next_attempt_at is None
        else iso_utc(event.next_attempt_at),
        "last_error": event.last_error,
        "deliveries": [
            {"attempt": a, "at": iso_utc(at), "status_code": code, "latency_ms": ms, "error": e}
            for a, at, code, ms, e in deliveries
        ],
        "event": event.cloud_event(),
    }


def _line(event: StoredEvent) -> str:
    tenant_name = event.tenant or DEFAULT_TENANT
    said = f"  last error: {event.last_error}" if event.last_error else ""
    return (
        f"{event.position:>6}  {iso_utc(event.time)}  {event.status:<9} {event.attempts:>2} "
        f"attempt(s)  {event.type.removeprefix(PREFIX):<26} {event.id}  {tenant_name}{said}"
    )


def _dump(document: object, out: TextIO) -> None:
    json.dump(document, out, indent=2)
    out.write("\n")


def _failing(args: argparse.Namespace, out: TextIO, error: Exception) -> None:
    failure = exits.failure_of(error)
    if failure is not None and getattr(args, "json", False):
        emit(args, out, failure.exit.code, failure, db=store_name(args.db))


def cmd_events(args: argparse.Namespace, out: TextIO) -> int:
    """List events (or, with ``--follow``, print them as they come)."""
    need_db(args)
    if args.follow:
        given = [f"--{n}" for n in ("status", "dead", "since", "until") if getattr(args, n)]
        if given:
            refused = InvalidInput(
                f"firmaio events --follow serves every event in order; it takes --tenant, "
                f"--flow, --type and --after, not {', '.join(given)}"
            )
            _failing(args, out, refused)
            raise refused
        return _follow(args, out)
    status = "dead" if args.dead else args.status

    async def read() -> list[tuple[StoredEvent, list[tuple[Any, ...]]]]:
        store = flow_store(args.db, read_only=True)
        try:
            found = await store.events(
                after=args.after, status=status, since=args.since, until=args.until,
                limit=args.limit, **_filters(args),
            )  # fmt: skip
            logs = [await store.deliveries(e.id) for e in found] if args.json else []
            return list(zip(found, logs or [[] for _ in found], strict=True))
        finally:
            await store.close()

    try:
        listed = asyncio.run(read())
    except Exception as error:
        _failing(args, out, error)
        raise
    if args.json:
        events = [_as_json(event, log) for event, log in listed]
        after = listed[-1][0].position if listed else args.after
        emit(args, out, exits.OK.code, db=store_name(args.db), events=events, next_after=after)
        return exits.OK.code
    for event, _log in listed:
        print(_line(event), file=out)
    print(f"{len(listed)} event(s) in {store_name(args.db)}", file=out)
    return exits.OK.code


def _follow(args: argparse.Namespace, out: TextIO) -> int:
    """The pull feed as JSON lines, until SIGINT or SIGTERM (exit 0 either way)."""

    async def feed() -> None:
        store: AsyncStore = flow_store(args.db, read_only=True)
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, task.cancel)
        try:
            async for event in follow_events(
                store, after=args.after, poll=args.interval, **_filters(args)
            ):
                line = {"position": event.position, "status": event.status}
                out.write(json.dumps({**line, "event": event.cloud_event()}) + "\n")
                out.flush()
        finally:
            await store.close()

    with contextlib.suppress(asyncio.CancelledError, KeyboardInterrupt):
        asyncio.run(feed())
    return exits.OK.code


def cmd_redeliver(args: argparse.Namespace, out: TextIO) -> int:
    """Dead events back to pending: the ones named, or every one dead since a time."""
    need_db(args)
    if bool(args.event_ids) == (args.dead_since is not None):
        raise InvalidInput(
            "firmaio events redeliver: give EVENT_ID... or --dead-since TIME (one of the two)"
        )

    async def redeliver() -> int:
        if not args.db.startswith(POSTGRES_SCHEMES) and not Path(args.db).is_file():
            raise missing(args.db)  # an event to redeliver is in a store that exists
        store = flow_store(args.db)
        try:
            return await store.redeliver(args.event_ids or None, dead_since=args.dead_since)
        finally:
            await store.close()

    try:
        moved = asyncio.run(redeliver())
    except Exception as error:
        _failing(args, out, error)
        raise
    if args.json:
        emit(args, out, exits.OK.code, db=store_name(args.db), redelivered=moved)
    else:
        print(f"{moved} dead event(s) back to pending in {store_name(args.db)}", file=out)
    return exits.OK.code
