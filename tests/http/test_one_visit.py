"""One visit at a time on a flow inside one worker process, too.

PostgreSQL's advisory locks are re-entrant within a session, and a worker takes every flow's lock
on one connection: without a guard of the process's own, a second job of a flow (the stalled
job a task queue hands back after an outage, while the first still runs) took the lock again and
ran beside the first. The second visit's read before the lock then dropped the first's open
notification intent from the driver it shares, so the first recorded NOTIFIED with the intent
left open in the store (a CI run of ``test_store_restart`` found one such flow).

Over the sandbox on loopback, a worker's runtime on a fake clock, PostgreSQL for the flows and
their locks: the notification is slow (the sandbox's ``latency`` fault); while it is under way,
a second visit of the same flow is told the flow is busy and calls nothing; the first records
NOTIFIED with its intent closed, one message sent.
"""

from __future__ import annotations

import asyncio

import pytest

from firmaio.adapters.flow_locks import FlowLocks
from firmaio.adapters.sandbox import Sandbox
from firmaio.adapters.sandbox.faults import Fault
from tests.http.test_watch_lock import requests, worker_runtime

HOUR = 3600.0


def test_a_second_visit_of_a_flow_in_the_same_worker_is_told_busy_and_calls_nothing(
    sandbox: Sandbox, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIRMAIO_API_KEY", "sandbox-key")
    monkeypatch.setenv("FIRMAIO_BASE_URL", sandbox.url)
    [flow_id], dossier = requests(sandbox, 1)
    slow = Fault(operation="sendNotification", kind="latency", seconds=3.0, request_id=flow_id)
    sandbox.state.faults.append(slow)

    async def scenario() -> tuple[str, str, str | None, dict[str, int]]:
        async with worker_runtime(sandbox, postgres_url, [flow_id], dossier) as (runtime, _):
            sent = sandbox.state.calls.get("sendNotification", 0)  # the sandbox is shared
            first = asyncio.create_task(runtime.tend(flow_id))
            while sandbox.state.calls.get("sendNotification", 0) == sent:
                await asyncio.sleep(0.01)  # the notification is under way at the service
            calls = dict(sandbox.state.calls)
            second = await runtime.tend(flow_id)
            during = {
                name: count - calls.get(name, 0)
                for name, count in sandbox.state.calls.items()
                if count != calls.get(name, 0)
            }
            tended = await asyncio.wait_for(first, 30)
            after = await runtime.store.load(flow_id)
            assert after is not None
            return second.did, tended.state, after.intent, during

    busy, state, intent, during = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert busy == "busy", "the first visit is on it"
    assert during == {}, "the second visit called nothing"
    assert state == "NOTIFIED"
    assert intent is None, "the first visit's record closed its intent"
    assert sandbox.issuer.messages_sent(flow_id) == 1


def test_a_process_holds_a_flow_once_and_lets_no_other_task_of_its_own_take_it(
    postgres_url: str,
) -> None:
    async def run() -> tuple[bool, set[str], set[str], bool]:
        locks, other = FlowLocks(postgres_url), FlowLocks(postgres_url)
        try:
            async with locks.hold("a") as took:
                assert took
                async with locks.hold("a") as again:
                    pass
                async with locks.hold_many(["a", "b"]) as page:
                    free = await locks.free(["a", "c"])
                    taken = set(page)
            async with other.hold("a") as after:  # let go: another process takes it
                return again, taken, free, after
        finally:
            await locks.aclose()
            await other.aclose()

    again, taken, free, after = asyncio.run(run())
    assert not again, "a second task of the process holding it is told no"
    assert taken == {"b"}, "a page leaves the flow a visit of its own process holds"
    assert free == {"c"}, "free() does not name a flow its own process holds"
    assert after, "let go once its one holder is done"
