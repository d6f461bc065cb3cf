"""Status reads coalesced into the dossier listing: fewer calls, same outcomes.

Against a fake API (httpx's MockTransport), or the sandbox's app in-process (httpx's ASGI
transport) on the test's clock; the listing over loopback HTTP is in ``test_serve_listing.py``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from firmaio.adapters.batching import DossierStatusReader
from firmaio.adapters.client import IssuerClient, RetryPolicy
from firmaio.adapters.factory import Factory
from firmaio.adapters.pytest_plugin import AsgiSandbox
from firmaio.adapters.settings import Settings
from firmaio.adapters.store import AsyncStore, SqliteStore, open_async_store
from firmaio.fsm import ApiUnavailable, Kind
from firmaio.fsm.ports import StoredFlow
from firmaio.fsm.testing import ManualClock
from tests.conftest import FAST_RETRY

FAST = RetryPolicy(attempts=2, wait_initial=0.0, wait_max=0.0, wait_jitter=0.0)
DOSSIER = "01DOSSIER0000000000000000A"


def listing(ids: list[str]) -> tuple[list[str], httpx.MockTransport]:
    """A fake API whose dossier lists ``ids`` in pages of 100; it logs each path it serves."""
    served: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        served.append(request.url.path)
        if request.url.path.endswith("/signature-requests") and "dossiers" in request.url.path:
            start = int(request.url.params.get("continuationToken", "0"))
            page = [{"id": i, "status": "WAIT_FOR_SIGNATURE"} for i in ids[start : start + 100]]
            body: dict[str, object] = {"items": page}
            if start + 100 < len(ids):
                body["continuation_token"] = str(start + 100)
            return httpx.Response(200, json=body)
        return httpx.Response(
            200, json={"id": request.url.path.rsplit("/", 1)[1], "status": "READY"}
        )

    return served, httpx.MockTransport(handler)


def test_concurrent_reads_share_one_listing() -> None:
    """250 flows asking at once: three pages, no per-request read."""
    ids = [f"01REQUEST{n:017d}" for n in range(250)]
    served, transport = listing(ids)

    async def run() -> list[object]:
        async with IssuerClient(
            "k", base_url="https://api.test/v1", transport=transport, retry=FAST
        ) as c:
            reader = DossierStatusReader(c, DOSSIER)
            answers = await asyncio.gather(*(reader.read_status(i) for i in ids))
            assert reader.listings == 1
            return list(answers)

    answers = asyncio.run(run())
    assert {(a.kind, a.status) for a in answers} == {(Kind.REQUEST, "WAIT_FOR_SIGNATURE")}  # type: ignore[attr-defined]
    assert len(served) == 3


def test_a_request_outside_the_dossier_is_read_on_its_own() -> None:
    """The listing stops when everyone is found; a stranger gets its own GET."""
    ids = [f"01REQUEST{n:017d}" for n in range(150)]
    served, transport = listing(ids)

    async def run() -> tuple[object, object]:
        async with IssuerClient(
            "k", base_url="https://api.test/v1", transport=transport, retry=FAST
        ) as c:
            reader = DossierStatusReader(c, DOSSIER)
            return tuple(
                await asyncio.gather(reader.read_status(ids[0]), reader.read_status("01STRANGER"))
            )  # type: ignore[return-value]

    mine, stranger = asyncio.run(run())
    assert mine.status == "WAIT_FOR_SIGNATURE"  # type: ignore[attr-defined]
    assert stranger.status == "READY"  # type: ignore[attr-defined]
    assert served[-1].endswith("/signature-requests/01STRANGER")


def test_a_failed_listing_fails_every_waiting_read() -> None:
    """If the listing gives no usable answer, each reader gets the ApiError, none hangs."""
    transport = httpx.MockTransport(lambda _r: httpx.Response(503))

    async def run() -> None:
        async with IssuerClient(
            "k", base_url="https://api.test/v1", transport=transport, retry=FAST
        ) as c:
            reader = DossierStatusReader(c, DOSSIER)
            results = await asyncio.gather(
                *(reader.read_status(f"01R{n}") for n in range(3)), return_exceptions=True
            )
            assert all(isinstance(r, ApiUnavailable) for r in results)

    asyncio.run(run())


class CountingStore(SqliteStore):
    """A SQLite store that remembers every flow a driver opened (in ``opened``, shared)."""

    def __init__(self, path: str, opened: list[str]) -> None:
        super().__init__(path)
        self.opened = opened

    def load(self, flow_id: str) -> StoredFlow | None:
        self.opened.append(flow_id)
        return super().load(flow_id)


def test_a_dossier_batch_costs_about_one_call_per_flow(
    asgi: AsgiSandbox, clock: ManualClock, tmp_path: Path
) -> None:
    """30 flows of one dossier, 20 at a time: every one driven once and NOTIFIED once,
    in well under 1.5 calls each."""
    key = asgi.issuer.keys["sandbox-key"]
    from firmaio.adapters.sandbox import DEMO_DOSSIER

    dossier = asgi.issuer.create_dossier(key, DEMO_DOSSIER)["id"]
    ids = [
        asgi.issuer.create_ready_request("sandbox-key", f"BTCMRA80A01H{n:03d}Z", dossier)
        for n in range(30)
    ]
    before = sum(asgi.state.calls.values())

    async def run() -> None:
        opened: list[str] = []
        store = AsyncStore(lambda: CountingStore(str(tmp_path / "flows.sqlite"), opened))
        try:
            async with asgi.client(retry=FAST_RETRY, timeout=2.0) as client:
                reader = DossierStatusReader(client, dossier)
                factory = Factory(Settings(concurrency=20), clock, store)
                batch = factory.batch(client, ids, status_reader=reader)
                report = await batch.run()
            assert report.counts == {"NOTIFIED": 30}
            assert len(batch.driver.journal) == 0, "the driver kept flows it is done with"
            assert sorted(opened) == sorted(ids), "a flow was driven twice"
        finally:
            await store.close()

    asyncio.run(run())
    calls = sum(asgi.state.calls.values()) - before
    assert calls / len(ids) <= 1.5, f"{calls} calls for {len(ids)} flows"
    assert all(asgi.issuer.messages_sent(i) == 1 for i in ids)


@pytest.mark.parametrize("bad", ["a/b", ""])
def test_bad_dossier_id_is_refused(bad: str) -> None:
    """The dossier id is checked like any id."""
    from firmaio.fsm import InvalidRequestId

    client = IssuerClient("k", base_url="https://api.test/v1")
    with pytest.raises(InvalidRequestId):
        DossierStatusReader(client, bad)
    asyncio.run(client.aclose())


def test_a_flow_refused_short_of_rest_is_not_driven_again_in_the_run(
    asgi: AsgiSandbox, clock: ManualClock, tmp_path: Path
) -> None:
    """A notification that always answers 422 (and reads WAIT, not notified): reported, no loop."""
    from tests.sandbox_helpers import fault, ready_request

    stuck = ready_request(asgi)
    fault(asgi, "sendNotification", "status", status=422, times=1000)
    before = asgi.state.calls.get("sendNotification", 0)

    async def run() -> None:
        store = open_async_store(str(tmp_path / "flows.sqlite"))
        try:
            async with asgi.client(retry=FAST_RETRY, timeout=2.0) as client:
                factory = Factory(clock=clock, store=store)
                report = await factory.batch(client, [stuck]).run()
            assert list(report.unsettled) == [stuck]
            assert report.unsettled[stuck].startswith("WAIT_FOR_SIGNATURE: no guard held")
        finally:
            await store.close()

    asyncio.run(run())
    assert asgi.state.calls["sendNotification"] - before == 1, "one attempt, not a loop"
