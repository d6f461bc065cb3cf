"""Target 9: one watch interval over 100,000 open flows costs about one call per 100 of them.

:func:`run` builds, with :mod:`bench.due_bench`'s generator, a SQLite store of ``FLOWS`` flows
resting in NOTIFIED across 10 dossiers, every one due for its status check, and seeds the
matching requests (same ids, same dossiers, WAIT_FOR_SIGNATURE, notified) into an in-process
sandbox. Then, during the watch interval, it makes changes in the sandbox (1,000 requests
signed, 100 rejected, 50 cancelled) and runs one watch interval: one ``serve`` pass over a real
:class:`~firmaio.adapters.client.IssuerClient`, over httpx's ASGI transport to the sandbox.

Time is a :class:`~firmaio.fsm.testing.ManualClock`'s, for the driver, the client's rate window
(150 calls per 5 s, the watch's share 20%) and the sandbox's gateway alike: a wait for the window
passes at once, and the gateway refuses with 429 on the same clock, so "0 x 429" and "within the
interval" are measured as the gateway would see them, while the run takes CPU time only.

It reports the calls made (listing pages and single reads, as the sandbox counted them), the
bound (requests listed / 100 + 10), the changes recorded and whether each was recorded once,
the 429s, the interval's length on the clock, and the CPU time of the pass.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.due_bench import DOSSIERS, NOW, WATCH, build_sqlite

FLOWS = 100_000
CHANGES = {"SIGNED": 1_000, "REJECTED": 100, "CANCELLED": 50}
KEY = "sandbox-key"
FISCAL_CODES = [f"BNCMRA80A01H{n:03d}Z" for n in range(100)]


@dataclass
class Found:
    flows: int
    listed: int
    pages: int
    single: int
    throttled: int
    recorded: dict[str, int]
    records_each: bool
    quiet: int
    interval: float
    cpu: float
    built: float

    @property
    def calls(self) -> int:
        return self.pages + self.single

    @property
    def bound(self) -> int:
        return self.listed // 100 + 10


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, tz=UTC).isoformat().replace("+00:00", "Z")


def flow_ids(count: int) -> list[str]:
    """The generator's open flows' ids, in order (each of ``DOSSIERS[n % 10]``)."""
    return [f"01JBENCH{n:018d}" for n in range(count)]


def seed(sandbox: Any, ids: list[str]) -> None:
    """The requests of ``ids`` in the sandbox, as the flows left them: notified, waiting."""
    from firmaio.adapters.sandbox import DEMO_DOSSIER

    metadata = DEMO_DOSSIER["documents_metadata"]
    world = {
        "citizens": [{"fiscal_code": code} for code in FISCAL_CODES],
        "dossiers": [
            {"id": d, "title": "Contratti", "documents_metadata": metadata, "key": KEY}
            for d in DOSSIERS
        ],
        "requests": [
            {
                "id": flow_id,
                "key": KEY,
                "dossier_id": DOSSIERS[n % len(DOSSIERS)],
                "fiscal_code": FISCAL_CODES[n % len(FISCAL_CODES)],
                "status": "WAIT_FOR_SIGNATURE",
                "documents": [
                    {"id": f"doc-{n}-{i}", "status": "READY"} for i in range(len(metadata))
                ],
                "created_at": iso(NOW - 10 * 86_400),
                "expires_at": iso(NOW + 80 * 86_400),
                "io_message_id": f"01JMSG{n:020d}",
            }
            for n, flow_id in enumerate(ids)
        ],
    }
    sandbox.issuer.seed(world)


def change(sandbox: Any, ids: list[str], now: float) -> dict[str, str]:
    """Sign, reject and cancel :data:`CHANGES`' counts of requests, spread over the dossiers."""
    issuer, changed = sandbox.issuer, {}
    at = datetime.fromtimestamp(now, tz=UTC)
    chosen = iter(ids[3 :: max(1, len(ids) // (sum(CHANGES.values()) + 1))])
    for status, count in CHANGES.items():
        for _ in range(count):
            request_id = next(chosen)
            if status == "CANCELLED":  # the issuer's own cancel, as PUT .../status would do
                request = issuer.requests[request_id]
                request.status, request.cancelled_at, request.updated_at = status, at, at
            else:
                issuer.close(request_id, status)
            changed[request_id] = status
    return changed


def run(work: Path, flows: int = FLOWS) -> Found:
    import httpx

    from firmaio.adapters.client import IssuerClient, RetryPolicy
    from firmaio.adapters.factory import Factory
    from firmaio.adapters.ratelimit import SlidingWindow
    from firmaio.adapters.sandbox.server import Sandbox
    from firmaio.adapters.serve import Service
    from firmaio.adapters.settings import Settings
    from firmaio.adapters.store import open_async_store, open_store
    from firmaio.adapters.watch_share import WatchShare, watch_calls
    from firmaio.fsm.testing import ManualClock

    db = str(work / "watch.sqlite")
    built = build_sqlite(db, flows, 0, due=flows)  # every open flow due for its check
    ids = flow_ids(flows)
    clock = ManualClock(NOW)

    async def sleep(seconds: float) -> None:  # time passes once, however many wait at once
        until = clock.now() + seconds
        await asyncio.sleep(0)
        clock.advance(max(0.0, until - clock.now()))

    def window(calls: int) -> SlidingWindow:
        return SlidingWindow(calls, 5.0, now=clock.now, sleep=sleep)

    sandbox = Sandbox(activation_delay=0.0, validation_delay=0.0)
    sandbox.issuer.now = clock.now
    sandbox.state.windows[KEY] = SlidingWindow(150, 5.0, now=clock.now)  # the gateway's
    seed(sandbox, ids)
    listed = sum(1 for r in sandbox.issuer.requests.values() if r.dossier_id in DOSSIERS)
    changed = change(sandbox, ids, clock.now())
    calls_before = dict(sandbox.state.calls)
    reader = open_store(db)
    try:
        seq_before = {r.flow_id: r.seq for r in reader.rows(list(changed))}
    finally:
        reader.close()

    async def interval() -> tuple[Any, float, float]:
        store = open_async_store(db)
        share = WatchShare(window(150), window(watch_calls(150, 0.2)))
        client = IssuerClient(
            KEY, base_url=sandbox.url, transport=httpx.ASGITransport(app=sandbox.app),
            rate_limit=share, retry=RetryPolicy(),
        )  # fmt: skip
        try:
            service = Service(Factory(Settings(watch_every=WATCH), clock, store), client)
            started, cpu = clock.now(), time.process_time()
            await service._pass()
            return service.report, clock.now() - started, time.process_time() - cpu
        finally:
            await client.aclose()
            await store.close()

    report, length, cpu = asyncio.run(interval())
    calls = {k: v - calls_before.get(k, 0) for k, v in sandbox.state.calls.items()}
    reader = open_store(db)
    try:
        rows = {r.flow_id: r for r in reader.rows(list(changed))}
    finally:
        reader.close()
    recorded: dict[str, int] = {}
    for request_id, status in changed.items():
        if rows[request_id].state == status:
            recorded[status] = recorded.get(status, 0) + 1
    each_once = all(rows[i].seq == seq_before[i] + 1 for i in changed)  # one record more
    return Found(
        flows, listed, calls.get("getRequestsByDossier", 0), calls.get("getSignatureRequest", 0),
        sandbox.state.throttled, recorded, each_once, report.quiet, length, cpu, built,
    )  # fmt: skip


def result() -> Any:
    """Target 9's line for ``make bench`` (:mod:`bench.run`)."""
    import structlog

    from bench.run import Result, discard_logs

    discard_logs()
    with tempfile.TemporaryDirectory() as work:
        found = run(Path(work))
    structlog.reset_defaults()
    wanted = sum(CHANGES.values())
    got = sum(found.recorded.values())
    met = (
        found.calls <= found.bound and got == wanted and found.records_each
        and found.throttled == 0 and found.interval < WATCH
    )  # fmt: skip
    return Result(
        "9 watch budget",
        f"{found.calls:,} calls ({found.pages:,} listing pages, {found.single:,} single reads) "
        f"for {found.flows:,} open flows, {found.listed:,} requests listed (bound "
        f"{found.bound:,}); changes recorded {got:,}/{wanted:,} "
        f"({', '.join(f'{n:,} {s}' for s, n in found.recorded.items())}, each once: "
        f"{found.records_each}), {found.quiet:,} checks with no record; "
        f"{found.throttled} x 429; the interval took {found.interval:.0f} s of the key's clock "
        f"(of {WATCH:.0f}), {found.cpu:.1f} s CPU ({found.cpu / found.flows * 1e3:.2f} ms a flow)",
        "<= listed/100 + 10 calls, every change recorded within the interval, 0 x 429",
        met,
        f"before: one GET per flow ({found.flows:,} calls); SQLite store built in "
        f"{found.built:.0f} s; sandbox in-process (ASGI), seeded; the key's window, the watch's "
        "20% share and the gateway on one fake clock",
    )


if __name__ == "__main__":
    print(result().line())
