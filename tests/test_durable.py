"""Durable flows in-process: each step written, crashes at each boundary, conflicts refused."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from firmaio.adapters.store import Store
from firmaio.fsm import Answer, ApiUnavailable, Outcome, State, Trigger
from firmaio.fsm.durable import DurableDriver
from firmaio.fsm.engine import Flow
from firmaio.fsm.errors import InvalidInput, StaleFlow
from firmaio.fsm.testing import EXAMPLE_IO_MESSAGE_ID, ManualClock, ScriptedApi

RID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
WAITING = Answer.request("WAIT_FOR_SIGNATURE")
NOTIFIED_SEEN = Answer.request("WAIT_FOR_SIGNATURE", io_message_id=EXAMPLE_IO_MESSAGE_ID)
Opener = Callable[[], Store]


class Crash(BaseException):
    """Stands for SIGKILL: nothing after it runs in this 'process'."""


def crash_at(point: str, trigger: Trigger) -> Callable[[str, Flow, Trigger], None]:
    def hook(at: str, _flow: Flow, fired: Trigger) -> None:
        if (at, fired) == (point, trigger):
            raise Crash(point)

    return hook


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
    open_db: Opener, point: str, after_crash: list[Answer], recovered_by: str | None
) -> None:
    """Killed around the notification, a resumed flow reads first and sends only if needed."""
    api, clock = ScriptedApi([WAITING, Answer.sent(EXAMPLE_IO_MESSAGE_ID)]), ManualClock()
    first = DurableDriver(api, clock, open_db(), on_boundary=crash_at(point, Trigger.NOTIFY))
    with pytest.raises(Crash):
        asyncio.run(first.advance(first.open(RID)))
    resumed = ScriptedApi(after_crash)
    second = DurableDriver(resumed, clock, open_db())  # a new process: a new connection
    flow = second.open(RID)
    assert second.intent(flow) == (None if point == "after_write" else "notify")
    assert asyncio.run(second.advance(flow)) is State.NOTIFIED
    assert sends(api) + sends(resumed) == 1
    assert resumed.remaining == 0
    recover = [r for r in flow.history if r.trigger is Trigger.RECOVER_NOTIFICATION]
    assert [r.guard for r in recover] == ([recovered_by] if recovered_by else [])
    assert second.intent(flow) is None
    reloaded = DurableDriver(api, clock, open_db()).open(RID)
    assert reloaded.history == flow.history


def test_a_stale_driver_cannot_notify(open_db: Opener) -> None:
    """Two processes on one flow: the second to open the intent loses before calling the API."""
    clock = ManualClock()
    api_a, api_b = ScriptedApi([WAITING, Answer.sent("M1")]), ScriptedApi([WAITING])
    a, b = DurableDriver(api_a, clock, open_db()), DurableDriver(api_b, clock, open_db())
    flow_a = a.open(RID)
    asyncio.run(a.step(flow_a, Trigger.CHECK_ACTIVATION))
    flow_b = b.open(RID)  # loaded at WAIT_FOR_SIGNATURE
    asyncio.run(a.step(flow_a, Trigger.NOTIFY))
    with pytest.raises(StaleFlow):
        asyncio.run(b.step(flow_b, Trigger.NOTIFY))
    assert sends(api_b) == 0
    assert flow_b.state is State.WAIT_FOR_SIGNATURE, "the loser forgets what it did not write"


def test_a_lost_write_is_forgotten_in_memory(open_db: Opener) -> None:
    """The loser of a race on a read keeps nothing it could not write."""
    clock = ManualClock()
    a = DurableDriver(ScriptedApi([WAITING]), clock, open_db())
    b = DurableDriver(ScriptedApi([Answer.request("READY")]), clock, open_db())
    flow_a, flow_b = a.open(RID), b.open(RID)
    asyncio.run(a.step(flow_a, Trigger.CHECK_ACTIVATION))
    with pytest.raises(StaleFlow):
        asyncio.run(b.step(flow_b, Trigger.CHECK_ACTIVATION))
    assert (flow_b.state, flow_b.history) == (State.READY, [])
    assert [r.target for r in b.open(RID).history] == [State.WAIT_FOR_SIGNATURE]


def test_an_unanswered_notification_keeps_its_intent(open_db: Opener) -> None:
    """ApiUnavailable on the notification: its ERROR record is stored and the intent stays open."""
    api, clock = ScriptedApi([WAITING, ApiUnavailable("503 after 5 attempts")]), ManualClock()
    driver = DurableDriver(api, clock, open_db())
    flow = driver.open(RID)
    with pytest.raises(ApiUnavailable):
        asyncio.run(driver.advance(flow))
    stored = DurableDriver(api, clock, open_db()).open(RID)
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


def test_statuses_come_from_the_reader_but_recovery_reads_the_request(open_db: Opener) -> None:
    """check_activation goes to the StatusReader; recover_notification always to the API."""
    reader = RecordingReader(WAITING)
    api, clock = ScriptedApi([Answer.sent("M1")]), ManualClock()
    crashing = DurableDriver(
        api,
        clock,
        open_db(),
        status_reader=reader,
        on_boundary=crash_at("after_call", Trigger.NOTIFY),
    )
    with pytest.raises(Crash):
        asyncio.run(crashing.advance(crashing.open(RID)))
    assert reader.asked == [RID]
    resumed_api = ScriptedApi([NOTIFIED_SEEN])
    resumed = DurableDriver(resumed_api, clock, open_db(), status_reader=RecordingReader())
    flow = resumed.open(RID)
    assert asyncio.run(resumed.advance(flow)) is State.NOTIFIED
    assert resumed_api.calls == [("get_request", RID)]


@pytest.mark.parametrize(("later", "waited"), [(1.0, [4.0]), (10.0, [])])
def test_an_open_intent_is_left_to_settle_before_recovery(
    open_db: Opener, later: float, waited: list[float]
) -> None:
    """Resumed 1 s after the intent, the driver waits the rest of the 5 s grace; after 10 s, not."""
    api, clock = ScriptedApi([WAITING, Answer.sent("M1")]), ManualClock()
    first = DurableDriver(api, clock, open_db(), on_boundary=crash_at("after_call", Trigger.NOTIFY))
    with pytest.raises(Crash):
        asyncio.run(first.advance(first.open(RID)))
    clock.advance(later)
    clock.sleeps.clear()
    resumed = DurableDriver(ScriptedApi([NOTIFIED_SEEN]), clock, open_db())
    assert asyncio.run(resumed.advance(resumed.open(RID))) is State.NOTIFIED
    assert clock.sleeps == pytest.approx(waited)
