"""``firmaio cancel --db`` beside a worker that watches every flow every 0.2 s, with 20 ms added
to each round trip between the command and PostgreSQL (a proxy in front of it): the command takes
the flow's lock before it loads it, so each of 20 cancels makes exactly one cancel call, records
CANCELLED itself with its actor, and exits 0; a cancel the service refuses exits 5, as
documented.

The worker keeps the default watch share (20% of the key's window): a watch every 0.2 s wants
far more, so its visits wait for their watch slots, and they wait before taking the flow's
lock (the read comes first), so no cancel waits for them."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from firmaio.adapters.cli import exits, main
from firmaio.adapters.sandbox import Sandbox
from firmaio.adapters.store import open_store
from tests.process.test_queue_workers import (
    KEYS,
    at_rest,
    enqueue,
    limited,
    request,
    start_worker,
    stop,
    tenants,
    wait_for,
)

__all__ = ["limited", "tenants"]  # the fixtures, shared

CANCELS = 20
DELAY = 0.01
"""Seconds added to every piece of data between the command and PostgreSQL, each way: 20 ms a
round trip."""


class DelayProxy:
    """A TCP proxy on loopback that holds every piece of data ``delay`` seconds, in order."""

    def __init__(self, host: str, port: int, delay: float) -> None:
        self.target, self.delay = (host, port), delay
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> DelayProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        return self

    def __exit__(self, *_exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._pipe_both, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        for writer in list(self._writers):
            with contextlib.suppress(Exception):
                await writer.wait_closed()
        await self._server.wait_closed()

    async def _pipe_both(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._writers |= {writer, up_writer}
        try:
            await asyncio.gather(
                self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
            )
        finally:
            for each in (writer, up_writer):
                each.close()
                with contextlib.suppress(Exception):
                    await each.wait_closed()
                self._writers.discard(each)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await asyncio.sleep(self.delay)
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()


@pytest.fixture
def slow_db(postgres_url: str) -> Iterator[str]:
    """``postgres_url`` through a proxy that adds :data:`DELAY` each way."""
    parts = urlsplit(postgres_url)
    with DelayProxy(parts.hostname or "127.0.0.1", parts.port or 5432, DELAY) as proxy:
        login = parts.netloc.rpartition("@")[0]
        netloc = f"{login}@127.0.0.1:{proxy.port}" if login else f"127.0.0.1:{proxy.port}"
        yield urlunsplit(parts._replace(netloc=netloc))


def cancel(db: str, request_id: str) -> tuple[int, dict[str, object]]:
    out = io.StringIO()
    argv = ["cancel", request_id, "--db", db, "--tenant", "comune-a", "--actor", "desk-7"]
    code = main([*argv, "--json"], out=out)
    return code, json.loads(out.getvalue())


def test_twenty_cancels_beside_a_watching_worker_each_cancel_once_and_record_it(
    limited: Sandbox,
    postgres_url: str,
    slow_db: str,
    tenants: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = [request(limited, "comune-a") for _ in range(CANCELS + 1)]
    enqueue(postgres_url, tenants, "comune-a", ids)
    worker = start_worker(limited, postgres_url, tenants, "--watch-every", "0.2")
    monkeypatch.setenv("FIRMAIO_API_KEY", KEYS["comune-a"])
    monkeypatch.setenv("FIRMAIO_BASE_URL", limited.url)
    try:
        wait_for(at_rest(postgres_url, ids, {"NOTIFIED"}), 60, "every flow NOTIFIED")
        before = limited.state.calls.get("setSignatureRequestStatus", 0)
        outcomes = [cancel(slow_db, request_id) for request_id in ids[:CANCELS]]
        cancel_calls = limited.state.calls.get("setSignatureRequestStatus", 0) - before
    finally:
        stop(worker)
    failed = [(n, code, shown["failure"]) for n, (code, shown) in enumerate(outcomes) if code]
    assert not failed, failed
    assert cancel_calls == CANCELS, "a request got two cancel calls"
    assert all(limited.issuer.requests[i].status == "CANCELLED" for i in ids[:CANCELS])
    store = open_store(postgres_url)
    try:
        for request_id in ids[:CANCELS]:
            stored = store.load(request_id)
            assert stored is not None
            last = stored.records[-1]
            assert (last.trigger, last.target, last.actor) == (
                "cancel", "CANCELLED", "desk-7 (firmaio cancel)"
            ), request_id  # fmt: skip
            assert [r.trigger for r in stored.records].count("cancel") == 1
    finally:
        store.close()
    refused = ids[CANCELS]  # signed at the service, the worker gone: the store says NOTIFIED
    limited.issuer.close(refused, "SIGNED")
    code, shown = cancel(slow_db, refused)
    assert code == exits.NOT_ALLOWED.code == 5
    assert shown["flow"]["state"] == "NOTIFIED"
    assert shown["failure"] is None
    history = shown["flow"]["records"]
    assert isinstance(history, list)
    assert (history[-1]["outcome"], history[-1]["http_status"]) == ("refused", 400)
