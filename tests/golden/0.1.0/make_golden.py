"""Write the golden stores of firmaio-fsm 0.1.0: what this release leaves in a store, kept so
every later release proves it drives them on (tests/store/test_golden.py; docs/upgrades.md).

Run it from the repository's root, with PostgreSQL reachable at ``FIRMAIO_TEST_POSTGRES``::

    .venv/bin/python tests/golden/0.1.0/make_golden.py

It drives flows against the in-process sandbox (over ASGI, on a fake clock) into a SQLite store
and, separately, a PostgreSQL one, and leaves in this folder: ``flows.sqlite``, ``flows.sql`` (the
PostgreSQL store as plain SQL), one manifest per store (``sqlite.json``, ``postgres.json``: the
sandbox's world to seed, and each flow with where it rests and its true outcome) and the PDF the
set-up flows were asked to have signed (``modulo.pdf``). The flows rest in every state of table
version 1 but RECEIVED (a flow there is driven on only with the citizen's fiscal code, which is
never stored: ``firmaio send --id`` again, not a store alone), in each step of the set-up, and
with each intent open (notify, create_request, upload_document; the call made or not). The
fiscal codes are made up, of the sandbox's own pattern; an X first means messages are off.

Later releases copy this script to their own folder and adapt it; this one is never run again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import sqlite3
import sys
import tempfile
import uuid
from contextlib import chdir
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import structlog

from firmaio.adapters import SlidingWindow
from firmaio.adapters.client import IssuerClient, IssuerSetup, RetryPolicy, order_from_pdf
from firmaio.adapters.sandbox import DEMO_DOSSIER, SAMPLE_PDF_FIELDS, Sandbox
from firmaio.adapters.sandbox.records import iso
from firmaio.adapters.store import MIGRATIONS, open_async_store, open_store
from firmaio.adapters.store.schema import VERSION_TABLE
from firmaio.fsm import DurableDriver, Flow, PollingPolicy, State
from firmaio.fsm.machine import DEFAULT_STEPS, TABLE_VERSION, Order
from firmaio.fsm.testing import ManualClock

RELEASE = "0.1.0"
HERE = Path(__file__).resolve().parent
PDF = Path(__file__).resolve().parents[3] / "adapters" / "sandbox" / "modulo.pdf"
START = 1_800_000_000.0
ACTIVATION_DELAY = 1.0
"""The sandbox's seconds from READY to WAIT_FOR_SIGNATURE, here and when the stores are replayed."""
KEY = "sandbox-key"
ORDER = {
    "fields": tuple(SAMPLE_PDF_FIELDS),
    "document_title": "Modulo di adesione",
    "dossier_title": f"Golden store {RELEASE}",
}
"""What every set-up flow was asked (``modulo.pdf``, named relative to this folder)."""


class Crash(BaseException):
    """Stands for SIGKILL at a step's boundary: nothing after it runs."""


class World:
    """The sandbox, its fake clock, a client of it and the store being written."""

    def __init__(self, db: str) -> None:
        self.clock = ManualClock(START)
        self.sandbox = Sandbox(activation_delay=ACTIVATION_DELAY, validation_delay=0.5)
        self.issuer = self.sandbox.issuer
        self.issuer.now = self.clock.now
        self.issuer.base_url = self.sandbox.url  # its blob URLs on the API's own origin
        self.client = IssuerClient(
            KEY, base_url=self.sandbox.url, transport=httpx.ASGITransport(app=self.sandbox.app),
            retry=RetryPolicy(attempts=2, wait_initial=0.01, wait_max=0.01, wait_jitter=0),
            rate_limit=SlidingWindow(100_000, 5.0),
        )  # fmt: skip
        self.setup = IssuerSetup(self.client, tempfile.mkdtemp(prefix="golden-signed-"))
        self.store = open_async_store(db)
        self.dossier = self.issuer.create_dossier(self.issuer.issuer_of(KEY), DEMO_DOSSIER)["id"]
        self.flows: list[dict[str, Any]] = []
        self._codes = iter(range(1, 1000))
        self._ids = iter(range(1, 1000))

    def new_id(self) -> str:
        """A flow's own id (a flow from a PDF is named before its request exists)."""
        return f"01GLDN{RELEASE.replace('.', '')}{next(self._ids):017d}"

    def citizen(self, messages_on: bool = True) -> str:
        """A made-up citizen, declared to the sandbox."""
        code = f"{'G' if messages_on else 'X'}LDAAA80A01H{next(self._codes):03d}U"
        self.issuer.add_citizen(code, messages_on=messages_on)
        return code

    def driver(self, crash: tuple[str, str] | None = None) -> DurableDriver:
        """A driver of this world, killed at ``crash`` (a boundary and a trigger) if given."""

        def hook(point: str, _flow: Flow, trigger: str) -> None:
            if crash == (point, str(trigger)):
                raise Crash(point)

        driver = DurableDriver(
            self.client, self.clock, self.store, setup=self.setup, on_boundary=hook,
            policy=PollingPolicy(activation_timeout=3600), actor=f"golden-{RELEASE}",
        )  # fmt: skip
        driver.recovery_grace = 0.0
        return driver

    def ready_request(self, messages_on: bool = True) -> str:
        return self.issuer.create_ready_request(KEY, self.citizen(messages_on), self.dossier)

    def keep(self, flow: Flow, expect: str, why: str, **counts: int) -> None:
        """Note ``flow`` for the manifest: where it rests now, its true outcome, and the counts
        the replay checks (``messages`` to its request, ``requests`` of its signer, ``uploads``
        of its document during the replay)."""
        self.flows.append({"id": flow.id, "expect": expect, "why": why, **counts})


def the_order(**values: Any) -> Order:
    return order_from_pdf("modulo.pdf", **{**ORDER, **values})


async def to(driver: DurableDriver, flow: Flow, state: State, crash: bool = False) -> None:
    """Step ``flow`` as ``advance`` would until it stands in ``state``; with ``crash``, until the
    driver's crash, which must come first."""
    try:
        while flow.state is not state:
            record = await driver.step(flow, DEFAULT_STEPS.next_step[flow.state])
            if record.target is record.source:  # still waiting: let the sandbox's time pass
                driver.clock.advance(ACTIVATION_DELAY)  # type: ignore[attr-defined]
    except Crash:
        if crash:
            return
        raise
    assert not crash, f"flow {flow.id} reached {state} without its crash"


async def spine(world: World) -> None:
    """Flows of requests made READY by the issuer: the page's own path."""
    d = world.driver
    ready = await d().open(world.ready_request())
    world.keep(ready, "NOTIFIED", "registered, never driven: activated, then notified", messages=1)
    polled = await d().open(world.ready_request())
    await d().step(polled, "check_activation")  # still READY: the activation takes a second
    world.keep(polled, "NOTIFIED", "read once while still READY", messages=1)
    waiting = await d().open(world.ready_request())
    world.clock.advance(ACTIVATION_DELAY)
    await d().step(waiting, "check_activation")
    world.keep(waiting, "NOTIFIED", "activated, not notified yet", messages=1)
    for point, why in (
        ("before_call", "notify intent open, killed before the call: notified once"),
        ("after_call", "notify intent open, killed after the message went out: not again"),
    ):
        flow = await d().open(world.ready_request())
        await to(d(), flow, State.WAIT_FOR_SIGNATURE)
        await to(d((point, "notify")), flow, State.NOTIFIED, crash=True)
        world.keep(flow, "NOTIFIED", why, messages=1)
    for expect, close in (("SIGNED", "SIGNED"), ("NOTIFIED", None)):
        flow = await d().open(world.ready_request())
        await to(d(), flow, State.NOTIFIED)
        if close:
            world.issuer.close(flow.id, close)
        world.keep(flow, expect, f"NOTIFIED; the request is {close or 'still open'}", messages=1)
    refused = await d().open(world.ready_request(messages_on=False))
    await to(d(("after_write", "notify")), refused, State.FALLBACK_SUGGESTED, crash=True)
    world.keep(refused, "FALLBACK_SUGGESTED", "refused, killed before the fallback", messages=0)
    fallback = await d().open(world.ready_request(messages_on=False))
    await to(d(), fallback, State.FALLBACK_SUGGESTED)
    world.issuer.close(fallback.id, "REJECTED")
    world.keep(fallback, "REJECTED", "fallback given; the QTSP then rejected it", messages=0)


async def closed(world: World) -> None:
    """Flows that closed: nothing to drive, their trails to read and verify."""
    d = world.driver
    for status in ("SIGNED", "REJECTED"):
        flow = await d().open(world.ready_request())
        await to(d(), flow, State.NOTIFIED)
        world.issuer.close(flow.id, status)
        await d().step(flow, "check_status")
        world.keep(flow, status, f"closed {status}", messages=1)
    cancelled = await d().open(world.ready_request())
    await to(d(), cancelled, State.NOTIFIED)
    await d().step(cancelled, "cancel")
    world.keep(cancelled, "CANCELLED", "cancelled by the issuer", messages=1)
    unknown = await d().open("01GLDNUNKNOWNREQUEST0000001")
    await d().step(unknown, "check_activation")
    world.keep(unknown, "FAILED", "a request the service does not have", messages=0)
    refused = await d().open(world.new_id(), order=the_order(fields=BAD_FIELDS).with_fiscal_code(
        world.citizen()
    ))  # fmt: skip
    await to(d(), refused, State.DOCUMENT_REFUSED)
    world.keep(refused, "DOCUMENT_REFUSED", "a field the PDF does not have")


BAD_FIELDS = ({**SAMPLE_PDF_FIELDS[0], "attrs": {"unique_name": "not_in_the_pdf"}},)


async def expired(world: World) -> None:
    """A request that expired unsigned (first: it moves the clock two days on)."""
    d = world.driver
    expiry = iso_of(START + 86_400)
    flow = await d().open(world.new_id(), order=the_order(expires_at=expiry).with_fiscal_code(
        world.citizen()
    ))  # fmt: skip
    await to(d(), flow, State.NOTIFIED)
    world.clock.advance(2 * 86_400)
    await d().step(flow, "check_status")
    world.keep(flow, "EXPIRED", "read unsigned after its expiry", messages=1)


async def set_up(world: World) -> None:
    """Flows from the PDF, resting after each step of the set-up, and with its intents open."""
    d = world.driver
    for state, crash, why, uploads in (
        (State.SIGNER_FOUND, None, "signer found", 1),
        (State.DOCUMENT_CHECKED, None, "document checked", 1),
        (State.DOSSIER_CHOSEN, None, "dossier chosen", 1),
        (State.DOSSIER_CHOSEN, ("before_call", "create_request"), "creation intent, none", 1),
        (State.DOSSIER_CHOSEN, ("after_call", "create_request"), "creation intent, made", 1),
        (State.DRAFT_CREATED, None, "request created, in DRAFT", 1),
        (State.UPLOAD_URL_ISSUED, None, "upload URL in hand (never stored)", 1),
        (State.UPLOAD_URL_ISSUED, ("before_call", "upload_document"), "upload intent, none", 1),
        (State.UPLOAD_URL_ISSUED, ("after_call", "upload_document"), "upload intent, done", 0),
        (State.DOCUMENT_UPLOADED, None, "uploaded, validation under way", 0),
        (State.DOCUMENT_VALIDATED, None, "validated, not marked READY", 0),
    ):
        order = the_order().with_fiscal_code(world.citizen())
        flow = await d().open(world.new_id(), order=order)
        if crash is None:
            await to(d(), flow, state)
        else:
            await to(d(crash), flow, State.READY, crash=True)
        world.keep(flow, "NOTIFIED", why, messages=1, requests=1, uploads=uploads)


def iso_of(epoch: float) -> str:
    return iso(datetime.fromtimestamp(epoch, UTC))


def world_of(world: World) -> dict[str, Any]:
    """The sandbox's citizens, dossiers and requests, as ``POST /__sandbox/seed`` takes them."""
    issuer = world.issuer
    world.clock.advance(5)  # every validation under way is over
    for request in issuer.requests.values():
        issuer._settle(request)
    return {
        "citizens": [
            {"fiscal_code": c.fiscal_code, "has_profile": c.has_profile,
             "messages_on": c.messages_on, "push_on": c.push_on}
            for c in issuer.citizens.values()
        ],
        "dossiers": [
            {"id": d["id"], "title": d["title"], "documents_metadata": d["documents_metadata"]}
            for d in issuer.dossiers.values()
        ],
        "requests": [
            {"id": r.id, "dossier_id": r.dossier_id, "fiscal_code": issuer._signers[r.signer_id],
             "status": r.status, "created_at": iso(r.created_at), "expires_at": iso(r.expires_at),
             "documents": [{"id": d.id, "status": d.status} for d in r.documents],
             "io_message_id": r.io_message_id}
            for r in issuer.requests.values()
        ],
    }  # fmt: skip


async def write(db: str) -> dict[str, Any]:
    """Every flow of the golden store in ``db``; the manifest that goes with it."""
    world = World(db)
    try:
        async with world.client:
            for scenario in (expired, spine, closed, set_up):
                await scenario(world)
        store = world.store
        rows = {row.flow_id: row for row in await store.rows()}
        for flow in world.flows:
            row = rows[flow["id"]]
            flow.update(rests_in=row.state, intent=row.intent, records=row.seq)
    finally:
        await world.store.close()
    return {
        "release": RELEASE, "table_version": TABLE_VERSION, "schema_version": len(MIGRATIONS),
        "clock": world.clock.now() + 5, "activation_delay": ACTIVATION_DELAY, "key": KEY,
        "order": {**ORDER, "fields": list(ORDER["fields"]), "pdf": "modulo.pdf"},
        "states": [str(state) for state in State],
        "intents": [str(step.trigger) for step in DEFAULT_STEPS if step.opens_intent],
        "world": world_of(world), "flows": world.flows,
    }  # fmt: skip


def postgres_dump(url: str) -> str:
    """The PostgreSQL store at ``url`` as plain SQL: this release's schema, then its rows."""
    import psycopg
    from psycopg import sql

    lines = [f"-- firmaio-fsm {RELEASE}: a golden PostgreSQL store (tests/golden/{RELEASE})"]
    lines += [f"{s};" for m in MIGRATIONS for s in m.statements] + [f"{VERSION_TABLE};"]
    with psycopg.connect(url) as conn:
        for table, order in (
            ("firmaio_schema", "1"),
            ("firmaio_store", "1"),
            ("flows", "id"),
            ("audit_records", "1, 2"),
        ):
            cur = conn.execute(sql.SQL("SELECT * FROM {} ORDER BY " + order).format(
                sql.Identifier(table)
            ))  # fmt: skip
            names = [c.name for c in cur.description or ()]
            for row in cur.fetchall():
                values = sql.SQL(", ").join(map(sql.Literal, row)).as_string(conn)
                lines.append(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({values});")
    return "\n".join(lines) + "\n"


def main() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    base = os.environ.get("FIRMAIO_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
    shutil.copy(PDF, HERE / "modulo.pdf")
    for name in ("flows.sqlite", "flows.sqlite-wal", "flows.sqlite-shm"):
        (HERE / name).unlink(missing_ok=True)
    with chdir(HERE):  # the set-up flows record the PDF as modulo.pdf, not a path of this machine
        manifest = asyncio.run(write("flows.sqlite"))
        (HERE / "sqlite.json").write_text(json.dumps(manifest, indent=1) + "\n")
        import psycopg

        schema = f"golden_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f"CREATE SCHEMA {schema}")
        url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
        try:
            manifest = asyncio.run(write(url))
            (HERE / "postgres.json").write_text(json.dumps(manifest, indent=1) + "\n")
            (HERE / "flows.sql").write_text(postgres_dump(url))
        finally:
            with psycopg.connect(base, autocommit=True) as admin:
                admin.execute(f"DROP SCHEMA {schema} CASCADE")
    store = open_store(str(HERE / "flows.sqlite"), read_only=True)  # a store of this release
    store.close()
    with sqlite3.connect(HERE / "flows.sqlite") as check:
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    for name in ("flows.sqlite-wal", "flows.sqlite-shm"):
        (HERE / name).unlink(missing_ok=True)
    print(f"golden stores of {RELEASE} written in {HERE}", file=sys.stderr)


if __name__ == "__main__":
    main()
