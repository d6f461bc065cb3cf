"""Webhook delivery on a fake clock: signed as Standard Webhooks says, in order per flow, the
same id on every attempt, backoff while the receiver is down, dead after the cap, redelivered.

The receiver verifies each delivery with the ``standardwebhooks`` library, in-process (httpx's
transport); the real sockets are tests/process/test_webhook_receiver.py's."""

from __future__ import annotations

import asyncio
import random
import socket

import httpx
import pytest

from firmaio.adapters.webhooks import CONTENT_TYPE, Deliverer, WebhookTarget, default_retries
from firmaio.fsm.testing import ManualClock
from tests.webhook_helpers import SECRET, MemoryOutbox, Receiver, event

ENV = "FIRMAIO_TEST_WEBHOOK_SECRET"


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, SECRET)


def target(
    tenant: str = "default", url: str = "http://receiver.test/events", **kw: object
) -> WebhookTarget:
    return WebhookTarget(tenant, url, secret_env=ENV, **kw)  # type: ignore[arg-type]


def deliverer(
    outbox: MemoryOutbox, receiver: Receiver, clock: ManualClock, *targets: WebhookTarget
) -> Deliverer:
    return Deliverer(
        outbox, targets or (target(),), clock=clock, transport=receiver.transport(),
        rng=random.Random(7),
    )  # fmt: skip


def test_each_flow_gets_its_events_signed_in_order_with_their_ids() -> None:
    outbox, receiver, clock = MemoryOutbox(), Receiver(), ManualClock()
    outbox.add(*(event(flow, seq) for flow in ("f1", "f2") for seq in (3, 1, 2)))

    async def go() -> int:
        async with deliverer(outbox, receiver, clock) as sender:
            return await sender.drain()

    assert asyncio.run(go()) == 6
    assert receiver.refused == 0
    for flow in ("f1", "f2"):
        ids = [ident for ident, body in receiver.got if body["subject"] == flow]
        assert ids == [f"{flow}/1", f"{flow}/2", f"{flow}/3"]
    assert all(body["id"] == ident for ident, body in receiver.got)
    assert {h["content-type"] for h in receiver.headers} == {CONTENT_TYPE}
    assert {e.status for e in outbox.events.values()} == {"delivered"}
    assert all(row["status_code"] == 204 and row["error"] is None for row in outbox.log)


def test_a_wrong_secret_is_refused_by_the_receiver() -> None:
    """The receiver's check is real: a delivery signed with another secret does not verify."""
    other = "whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="
    outbox, receiver, clock = MemoryOutbox(), Receiver(secret=other), ManualClock()
    outbox.add(event("f1", 1))
    asyncio.run(deliverer(outbox, receiver, clock).deliver_due())
    assert receiver.refused == 1
    assert not receiver.got
    assert outbox.log[0]["error"] == "HTTP 401"


def test_a_receiver_down_for_a_while_gets_the_events_when_it_returns() -> None:
    outbox, clock = MemoryOutbox(), ManualClock()
    down = {"on": True}
    receiver = Receiver(answer=lambda: 503 if down["on"] else 200)
    outbox.add(event("f1", 1), event("f1", 2), event("f2", 1))
    sender = deliverer(outbox, receiver, clock, target(retries=(10.0, 100.0, 1000.0)))

    async def go() -> None:
        assert await sender.drain() == 2  # one per flow: each flow's first, refused
        assert await sender.drain() == 0  # nothing due before the first wait
        clock.advance(12.0)  # past 10 s + 20 % jitter
        assert await sender.drain() == 2  # the second attempts, same events, refused
        down["on"] = False
        clock.advance(120.0)
        assert await sender.drain() == 3  # back: f1/1, then f1/2 (its order kept), f2/1

    asyncio.run(go())
    waits = [row["next_attempt_at"] - row["at"] for row in outbox.log if row["outcome"] == "retry"]
    assert all(8 <= w <= 12 for w in waits[:2])
    assert all(80 <= w <= 120 for w in waits[2:])
    assert len(set(waits)) == len(waits)  # jittered: not every flow at the same second
    assert [i for i, _ in receiver.got] == ["f1/1", "f2/1", "f1/2"]
    ids = [h["webhook-id"] for h in receiver.headers if h["webhook-id"] == "f1/1"]
    assert len(ids) == 3  # the same id on every attempt
    assert [row["attempt"] for row in outbox.log if row["event_id"] == "f1/1"] == [1, 2, 3]


def test_a_receiver_failing_forever_makes_the_event_dead_then_redeliver_sends_it() -> None:
    outbox, clock = MemoryOutbox(), ManualClock()
    broken = {"on": True}
    receiver = Receiver(answer=lambda: 500 if broken["on"] else 200)
    outbox.add(event("f1", 1), event("f1", 2))
    sender = deliverer(outbox, receiver, clock, target(retries=(5.0, 5.0)))

    async def go() -> None:
        for _ in range(3):
            await sender.drain()
            clock.advance(10.0)
        dead = outbox.events["f1/1"]
        assert (dead.status, dead.attempts) == ("dead", 3)
        assert dead.last_error == "HTTP 500; attempt 3 of 3: given up"
        # f1/2 waited behind f1/1 until it was dead: then the flow's events went on
        assert [row["event_id"] for row in outbox.log][:3] == ["f1/1"] * 3
        assert outbox.events["f1/2"].status == "pending"
        broken["on"] = False
        clock.advance(10.0)
        await sender.drain()
        assert [i for i, _ in receiver.got] == ["f1/2"]
        outbox.redeliver(["f1/1"])
        await sender.drain()

    asyncio.run(go())
    assert [i for i, _ in receiver.got] == ["f1/2", "f1/1"]
    assert outbox.events["f1/1"].status == "delivered"
    assert [row["attempt"] for row in outbox.log if row["event_id"] == "f1/1"] == [1, 2, 3, 1]


def test_the_default_schedule_is_eight_attempts_over_about_a_day() -> None:
    retries = default_retries()
    assert len(retries) + 1 == 8
    assert 20 * 3600 <= sum(retries) <= 26 * 3600
    assert list(retries) == sorted(retries)
    assert max(retries) == 8 * 3600


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_no_receiver_listening_is_retried_and_the_error_keeps_the_url_out() -> None:
    """Over loopback: a port nobody listens on, with a credential in the URL."""
    outbox, clock = MemoryOutbox(), ManualClock()
    outbox.add(event("f1", 1))
    url = f"http://user:hunter2@127.0.0.1:{free_port()}/hook?token=hunter2"
    sender = Deliverer(outbox, [target(url=url)], clock=clock)
    asyncio.run(sender.drain())
    row = outbox.log[0]
    assert row["outcome"] == "retry"
    assert row["status_code"] is None
    assert row["error"] == "could not connect to the receiver"
    assert "hunter2" not in repr(outbox.log)
    assert "hunter2" not in repr(sender.targets)


def test_a_slow_receiver_holds_up_only_its_own_flow(monkeypatch: pytest.MonkeyPatch) -> None:
    """A receiver that does not answer within the timeout: its delivery fails after it, while
    another tenant's events are delivered meanwhile."""
    monkeypatch.setattr("firmaio.adapters.webhooks.delivery.TIMEOUT", 0.3)
    outbox, clock = MemoryOutbox(), ManualClock()
    outbox.add(event("slow", 1, tenant="t-slow"), event("fast", 1, tenant="t-fast"))
    delivered: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        if "slow" in str(request.url):
            await asyncio.sleep(30)
        delivered.append(request.headers["webhook-id"])
        return httpx.Response(200)

    sender = Deliverer(
        outbox,
        [target("t-slow", "http://slow.test/"), target("t-fast", "http://fast.test/")],
        clock=clock,
        transport=httpx.MockTransport(handler),
    )
    asyncio.run(asyncio.wait_for(sender.drain(), 5))
    assert delivered == ["fast/1"]
    slow = next(row for row in outbox.log if row["event_id"] == "slow/1")
    assert slow["error"] == "no answer within 0.3 s"
    assert slow["outcome"] == "retry"
