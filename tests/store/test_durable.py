"""Durable flows in-process: each step written, crashes at each boundary, conflicts refused."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from firmaio.adapters.store import AsyncStore
from firmaio.fsm import Answer, ApiUnavailable, Outcome, State, Trigger
from firmaio.fsm.driving.durable import DurableDriver
from firmaio.fsm.driving.engine import Flow
from firmaio.fsm.errors import InvalidInput, StaleFlow
from firmaio.fsm.testing import EXAMPLE_IO_MESSAGE_ID, ManualClock, ScriptedApi

RID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
WAITING = Answer.request("WAIT_FOR_SIGNATURE")
NOTIFIED_SEEN = Answer.request("WAIT_FOR_SIGNATURE", io_message_id=EXAMPLE_IO_MESSAGE_ID)
Opener = Callable[[], AsyncStore]


class Crash(BaseException):
    """Stands for SIGKILL: nothing after it runs in this 'process'."""


def crash_at(point: str, trigger: Trigger) -> Callable[[str, Flow, str], None]:
    def hook(at: str, _flow: Flow, fired: str) -> None:
        if (at, fired) == (point, trigger):
            raise Crash(point)

    return hook


@pytest.fixture
def adb(open_async_db: Opener) -> Opener:
    """Opens a store on the test's database, as a new process would."""
    return open_async_db


def opened(driver: DurableDriver) -> Flow:
    """The driver's stored flow, loaded (or created) as a new process would."""
    return asyncio.run(driver.open(RID))


def sends(api: ScriptedApi) -> int:
    return sum(1 for method, _ in api.calls if method == "send_notification")


@pytest.mark.parametrize(
    ("point", "after_crash", "recovered_by"),
    [
        ("before_call", [WAITING, Answer.sent(EXAMPLE_IO_MESSAGE_ID)], "is_waiting_for_signature"),
        ("after_call", [NOTIFIED_SEEN], "was_already_notified"),
        ("after_write", [], None),
    ],
)
def test_a_crash_at_each_boundary_never_sends_twice(
    adb: Opener, point: str, after_crash: list[Answer], recovered_by: str | None
) -> None:
    """Killed around the notification, a resumed flow reads first and sends only if needed."""
    api, clock = ScriptedApi([WAITING, Answer.sent(EXAMPLE_IO_MESSAGE_ID)]), ManualClock()
    first = DurableDriver(api, clock, adb(), on_boundary=crash_at(point, Trigger.NOTIFY))
    with pytest.raises(Crash):
        asyncio.run(first.advance(opened(first)))
    resumed = ScriptedApi(after_crash)
    second = DurableDriver(resumed, clock, adb())  # a new process: a new connection
    flow = opened(second)
    assert second.intent(flow) == (None if point == "after_write" else "notify")
    assert asyncio.run(second.advance(flow)) is State.NOTIFIED
    assert sends(api) + sends(resumed) == 1
    assert resumed.remaining == 0
    recover = [r for r in flow.history if r.trigger is Trigger.RECOVER_NOTIFICATION]
    assert [r.guard for r in recover] == ([recovered_by] if recovered_by else [])
    assert second.intent(flow) is None
    reloaded = opened(DurableDriver(api, clock, adb()))
    assert reloaded.history == flow.history


def test_a_stale_driver_cannot_notify(adb: Opener) -> None:
    """Two processes on one flow: the second to open the intent loses before calling the API."""
    clock = ManualClock()
    api_a, api_b = ScriptedApi([WAITING, Answer.sent("M1")]), ScriptedApi([WAITING])
    a, b = (
        DurableDriver(api_a, clock, adb()),
        DurableDriver(api_b, clock, adb()),
    )
    flow_a = opened(a)
    asyncio.run(a.step(flow_a, Trigger.CHECK_ACTIVATION))
    flow_b = opened(b)  # loaded at WAIT_FOR_SIGNATURE
    asyncio.run(a.step(flow_a, Trigger.NOTIFY))
    with pytest.raises(StaleFlow):
        asyncio.run(b.step(flow_b, Trigger.NOTIFY))
    assert sends(api_b) == 0
    assert flow_b.state is State.WAIT_FOR_SIGNATURE, "the loser forgets what it did not write"


def test_a_lost_write_is_forgotten_in_memory(adb: Opener) -> None:
    """The loser of a race on a read keeps nothing it could not write."""
    clock = ManualClock()
    a = DurableDriver(ScriptedApi([WAITING]), clock, adb())
    b = DurableDriver(ScriptedApi([Answer.request("READY")]), clock, adb())
    flow_a, flow_b = opened(a), opened(b)
    asyncio.run(a.step(flow_a, Trigger.CHECK_ACTIVATION))
    with pytest.raises(StaleFlow):
        asyncio.run(b.step(flow_b, Trigger.CHECK_ACTIVATION))
    assert (flow_b.state, flow_b.history) == (State.READY, [])
    assert [r.target for r in opened(b).history] == [State.WAIT_FOR_SIGNATURE]


def test_an_unanswered_notification_keeps_its_intent(adb: Opener) -> None:
    """ApiUnavailable on the notification: its ERROR record is stored and the intent stays open."""
    api, clock = ScriptedApi([WAITING, ApiUnavailable("503 after 5 attempts")]), ManualClock()
    driver = DurableDriver(api, clock, adb())
    flow = opened(driver)
    with pytest.raises(ApiUnavailable):
        asyncio.run(driver.advance(flow))
    stored = opened(DurableDriver(api, clock, adb()))
    assert stored.history[-1].outcome is Outcome.ERROR
    with pytest.raises(InvalidInput, match="open notification intent"):
        asyncio.run(driver.step(flow, Trigger.NOTIFY))
    api.script(WAITING, Answer.sent("M1"))
    assert asyncio.run(driver.advance(flow)) is State.NOTIFIED
    assert [r.trigger for r in flow.history][-2:] == [Trigger.RECOVER_NOTIFICATION, Trigger.NOTIFY]


class RecordingReader:
    """A StatusReader that answers from a script and records what it was asked."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    async def read_status(self, request_id: str) -> Answer:
        self.asked.append(request_id)
        return self.answers.pop(0)


def test_statuses_come_from_the_reader_but_recovery_reads_the_request(
    adb: Opener,
) -> None:
    """check_activation goes to the StatusReader; recover_notification always to the API."""
    reader = RecordingReader(WAITING)
    api, clock = ScriptedApi([Answer.sent("M1")]), ManualClock()
    crashing = DurableDriver(
        api,
        clock,
        adb(),
        status_reader=reader,
        on_boundary=crash_at("after_call", Trigger.NOTIFY),
    )
    with pytest.raises(Crash):
        asyncio.run(crashing.advance(opened(crashing)))
    assert reader.asked == [RID]
    resumed_api = ScriptedApi([NOTIFIED_SEEN])
    resumed = DurableDriver(resumed_api, clock, adb(), status_reader=RecordingReader())
    flow = opened(resumed)
    assert asyncio.run(resumed.advance(flow)) is State.NOTIFIED
    assert resumed_api.calls == [("get_request", RID)]


@pytest.mark.parametrize(("later", "waited"), [(1.0, [39.0]), (41.0, [])])
def test_an_open_intent_is_left_to_settle_before_recovery(
    adb: Opener, later: float, waited: list[float]
) -> None:
    """Resumed 1 s after the intent, the driver waits the rest of the 40 s grace (the call's
    timeout and the time a lost answer is left to settle); after 41 s, not."""
    api, clock = ScriptedApi([WAITING, Answer.sent("M1")]), ManualClock()
    first = DurableDriver(api, clock, adb(), on_boundary=crash_at("after_call", Trigger.NOTIFY))
    with pytest.raises(Crash):
        asyncio.run(first.advance(opened(first)))
    clock.advance(later)
    clock.sleeps.clear()
    resumed = DurableDriver(ScriptedApi([NOTIFIED_SEEN]), clock, adb())
    assert asyncio.run(resumed.advance(opened(resumed))) is State.NOTIFIED
    assert clock.sleeps == pytest.approx(waited)


def test_the_recovery_grace_counts_from_the_last_lost_answer_not_the_intent(adb: Opener) -> None:
    """A notification whose retries took 90 s, then gave no usable answer: a rerun at once waits
    the whole grace from that moment (its last attempt may still be under way), then reads."""
    from tests.unit.test_unknown_outcome import SlowFailure

    clock = ManualClock()
    seen = Answer.request("WAIT_FOR_SIGNATURE", io_message_id="M1")
    api = SlowFailure(clock, 90.0, WAITING, seen)
    first = DurableDriver(api, clock, adb())
    with pytest.raises(ApiUnavailable):
        asyncio.run(first.advance(opened(first)))
    clock.sleeps.clear()
    resumed = DurableDriver(api, clock, adb())
    assert asyncio.run(resumed.advance(opened(resumed))) is State.NOTIFIED
    assert clock.sleeps == pytest.approx([resumed.recovery_grace])
    assert sends(api) == 1


def test_a_read_made_before_the_lock_that_failed_is_recorded_under_it_as_the_check_s_error(
    adb: Opener,
) -> None:
    """``read_alone`` reads and writes nothing; its failure, given to ``check_with`` (a worker's
    read made before it took the flow's lock), is the check's ERROR record, dated from the read,
    and is raised; nothing else changes."""

    async def run() -> tuple[int, int, Any]:
        store = adb()
        try:
            clock, api = ManualClock(), ScriptedApi()
            driver = DurableDriver(api, clock, store)
            api.script(WAITING, Answer.sent(EXAMPLE_IO_MESSAGE_ID))
            flow = await driver.open(RID)
            assert await driver.advance(flow) is State.NOTIFIED
            before = len((await store.load(RID)).records)  # type: ignore[union-attr]
            read_at = clock.now() + 10
            clock.advance(10)
            api.script(ApiUnavailable("timed out"))
            with pytest.raises(ApiUnavailable) as failed:
                await driver.read_alone(flow)
            unwritten = len((await store.load(RID)).records)  # type: ignore[union-attr]
            clock.advance(5)
            with pytest.raises(ApiUnavailable):
                await driver.check_with(flow, failed.value, read_at=read_at)
            stored = await store.load(RID)
            assert stored is not None
            return before, unwritten, stored.records[-1]
        finally:
            await store.close()

    before, unwritten, last = asyncio.run(run())
    assert unwritten == before, "a read alone writes nothing"
    assert (last.seq, last.trigger, last.source, last.target) == (
        before + 1, "check_status", "NOTIFIED", "NOTIFIED"
    )  # fmt: skip
    assert last.outcome == Outcome.ERROR
    assert last.requested_at == ManualClock().now() + 10, "dated from the read"
