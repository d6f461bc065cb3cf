"""After a notification whose outcome is unknown, the next advance reads before it sends again,
and only once the attempt had time to settle, counted from when its outcome became unknown."""

from __future__ import annotations

import asyncio

import pytest

from firmaio.fsm import Answer, ApiUnavailable, Driver, Engine, State
from firmaio.fsm.testing import EXAMPLE_IO_MESSAGE_ID, ManualClock, ScriptedApi


class SlowFailure(ScriptedApi):
    """The notification takes ``seconds`` of the clock, then gives no usable answer."""

    def __init__(self, clock: ManualClock, seconds: float, *answers: Answer) -> None:
        super().__init__(answers)
        self.clock, self.seconds = clock, seconds

    async def send_notification(self, request_id: str) -> Answer:
        if not any(method == "send_notification" for method, _ in self.calls):
            self.calls.append(("send_notification", request_id))
            self.clock.advance(self.seconds)
            raise ApiUnavailable("sendNotification: ReadTimeout after 5 attempt(s)")
        return await super().send_notification(request_id)


def test_the_next_advance_waits_from_the_loss_then_reads_first(engine: Engine) -> None:
    clock = ManualClock()
    seen = Answer.request("WAIT_FOR_SIGNATURE", io_message_id=EXAMPLE_IO_MESSAGE_ID)
    api = SlowFailure(clock, 90.0, Answer.request("WAIT_FOR_SIGNATURE"), seen)
    driver = Driver(api, clock, engine=engine)
    flow = driver.new_flow("R1")
    with pytest.raises(ApiUnavailable):
        asyncio.run(driver.advance(flow))
    lost_at = flow.history[-1].decided_at
    assert driver.unknown_since(flow) == lost_at
    clock.sleeps.clear()
    assert asyncio.run(driver.advance(flow)) is State.NOTIFIED
    assert clock.sleeps == [driver.recovery_grace]  # the whole grace, counted from the loss
    assert [method for method, _ in api.calls] == [
        "get_request",
        "send_notification",
        "get_request",
    ]
    assert flow.io_message_id == EXAMPLE_IO_MESSAGE_ID


def test_a_read_that_finds_nothing_sent_lets_the_notification_go(engine: Engine) -> None:
    clock = ManualClock()
    api = SlowFailure(
        clock,
        12.0,
        Answer.request("WAIT_FOR_SIGNATURE"),
        Answer.request("WAIT_FOR_SIGNATURE"),
        Answer.sent(EXAMPLE_IO_MESSAGE_ID),
    )
    driver = Driver(api, clock, engine=engine)
    flow = driver.new_flow("R1")
    with pytest.raises(ApiUnavailable):
        asyncio.run(driver.advance(flow))
    assert asyncio.run(driver.advance(flow)) is State.NOTIFIED
    assert [m for m, _ in api.calls].count("send_notification") == 2
    assert [r.trigger for r in flow.history][-2:] == ["recover_notification", "notify"]


class BlockingClock(ManualClock):
    """A clock whose sleep really waits (for as long as asked), so a stop can cut it short."""

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await asyncio.sleep(seconds)
        self._now += seconds


@pytest.mark.parametrize("waiting", ["the recovery grace", "the backoff between checks"])
def test_a_stop_cuts_a_wait_short_and_makes_no_call(engine: Engine, waiting: str) -> None:
    """Told to stop while it waits (a grace of an hour, a check's backoff), the driver returns at
    once, at that step boundary: no call is made, the flow stays where it was (an unknown
    outcome stays unknown, for the next process to recover)."""
    clock = BlockingClock()
    answers = [Answer.request("READY")] * 3
    if waiting == "the recovery grace":
        answers = [Answer.request("WAIT_FOR_SIGNATURE")]
    api = SlowFailure(clock, 5.0, *answers)
    driver = Driver(api, clock, engine=engine, recovery_grace=3600.0)
    flow = driver.new_flow("R1")
    if waiting == "the recovery grace":
        with pytest.raises(ApiUnavailable):
            asyncio.run(driver.advance(flow))  # the notification's outcome is now unknown
    calls, records = len(api.calls), len(flow.history)

    async def stopped_meanwhile() -> float:
        advancing = asyncio.create_task(driver.advance(flow))
        await asyncio.sleep(0.1 if waiting == "the recovery grace" else 0.3)
        driver.stop_requested = True
        started = asyncio.get_running_loop().time()
        await asyncio.wait_for(advancing, 5)
        return asyncio.get_running_loop().time() - started

    took = asyncio.run(stopped_meanwhile())
    assert took < 0.1, f"the stop waited {took:.2f} s"
    if waiting == "the recovery grace":
        assert clock.sleeps[-1] == 3600.0  # cut short
        assert (len(api.calls), len(flow.history)) == (calls, records)
        assert driver.unknown_call(flow) == "notify"
    else:
        assert clock.sleeps[-1] in (0.25, 0.5, 1.0)  # PollingPolicy's backoff
        assert flow.state is State.READY
