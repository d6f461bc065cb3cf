"""A step checks what is allowed once; a durable driver's journal writes it at its boundaries."""

from __future__ import annotations

import asyncio
import inspect
from dataclasses import dataclass, field

import pytest
from structlog.testing import capture_logs

from firmaio.fsm import (
    Answer,
    ApiUnavailable,
    AuditRecord,
    Driver,
    DurableDriver,
    Engine,
    Flow,
    InvalidInput,
    StaleFlow,
    State,
    StoredFlow,
    TransitionNotAllowed,
    Trigger,
)
from firmaio.fsm.driving import DriverOptions
from firmaio.fsm.testing import EXAMPLE_IO_MESSAGE_ID, ManualClock, ScriptedApi

RID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
WAITING = Answer.request("WAIT_FOR_SIGNATURE")


class SpyingEngine(Engine):
    """The built-in table's engine, counting each check of what a flow may fire."""

    def __init__(self) -> None:
        super().__init__()
        self.checks: list[str] = []

    def check_allowed(self, flow: Flow, trigger: str) -> str:
        self.checks.append(str(trigger))
        return super().check_allowed(flow, trigger)


@dataclass
class MemoryStore:
    """A FlowStore in memory, one flow; it notes each write, and can lose a race."""

    writes: list[str] = field(default_factory=list)
    records: list[AuditRecord] = field(default_factory=list)
    intent: str | None = None
    created: bool = False
    behind: bool = False
    """Set it: the next write finds another process's record there first."""

    async def create(self, flow_id: str, **_: object) -> bool:
        self.writes.append("create")
        self.created = True
        return True

    async def load(self, flow_id: str) -> StoredFlow | None:
        if not self.created:
            return None
        return StoredFlow(flow_id, 1e12, self.intent, tuple(self.records))

    async def open_intent(
        self, flow_id: str, intent: str, *, expected_seq: int, **_: object
    ) -> None:
        assert expected_seq == len(self.records)
        self.writes.append(f"intent {intent}")
        self.intent = intent

    async def append(
        self, record: AuditRecord, *, expected_seq: int, close_intent: bool, **_: object
    ) -> None:
        if self.behind:
            raise StaleFlow(record.flow_id, expected_seq)
        assert expected_seq == len(self.records)
        self.writes.append(f"record {record.trigger}" + (" closing" if close_intent else ""))
        self.records.append(record)
        if close_intent:
            self.intent = None


def durable(api: ScriptedApi, store: MemoryStore, points: list[str]) -> DurableDriver:
    def boundary(point: str, _flow: Flow, trigger: str) -> None:
        points.append(f"{point} {trigger}")
        store.writes.append(point)

    return DurableDriver(api, ManualClock(), store, engine=SpyingEngine(), on_boundary=boundary)


def test_each_step_of_a_durable_driver_checks_what_is_allowed_once() -> None:
    """READY to NOTIFIED, then a status check: one check per record, never two."""
    api = ScriptedApi([WAITING, Answer.sent(EXAMPLE_IO_MESSAGE_ID), WAITING])
    driver = durable(api, MemoryStore(), [])
    engine = driver.engine
    assert isinstance(engine, SpyingEngine)
    with capture_logs():
        flow = asyncio.run(driver.open(RID))
        asyncio.run(driver.advance(flow))
        asyncio.run(driver.step(flow, Trigger.CHECK_STATUS))
    assert flow.state is State.NOTIFIED
    assert engine.checks == [str(r.trigger) for r in flow.history]
    assert engine.checks == ["check_activation", "notify", "check_status"]


def test_each_step_of_a_plain_driver_checks_once_and_a_refused_one_calls_nothing() -> None:
    """The fallback's steps (no call, the operator's input) included; a trigger the state does
    not allow is checked once and refused before any call."""
    api = ScriptedApi([WAITING, Answer.messages_disabled()])
    engine = SpyingEngine()
    driver = Driver(api, ManualClock(), engine=engine)
    flow = driver.new_flow(RID)
    with capture_logs():
        asyncio.run(driver.advance(flow))
        asyncio.run(driver.deliver_fallback(flow, "letter"))
    assert engine.checks == [str(r.trigger) for r in flow.history]
    assert len(engine.checks) == 4
    calls = len(api.calls)
    with pytest.raises(TransitionNotAllowed):
        asyncio.run(driver.step(flow, Trigger.CHECK_ACTIVATION))
    assert engine.checks[4:] == ["check_activation"]
    assert len(api.calls) == calls


def test_the_journal_writes_the_intent_before_the_call_and_closes_it_with_the_answer() -> None:
    """The order a crash test relies on: intent, before_call, after_call, the record closing the
    intent, after_write; a step with no intent writes only its record."""
    store, points = MemoryStore(), []
    api = ScriptedApi([WAITING, Answer.sent(EXAMPLE_IO_MESSAGE_ID)])
    driver = durable(api, store, points)
    with capture_logs():
        flow = asyncio.run(driver.open(RID))
        asyncio.run(driver.advance(flow))
    assert store.writes == [
        "create",
        "before_call", "after_call", "record check_activation", "after_write",
        "intent notify", "before_call", "after_call", "record notify closing", "after_write",
    ]  # fmt: skip
    assert store.intent is None
    assert driver.intent(flow) is None


def test_a_call_with_no_usable_answer_is_written_with_its_intent_left_open() -> None:
    """No after_write, the ERROR record written, the intent still open: the next advance must
    recover it (read) before anything is sent again."""
    store, points = MemoryStore(), []
    api = ScriptedApi([WAITING, ApiUnavailable("timed out")])
    driver = durable(api, store, points)
    with capture_logs():
        flow = asyncio.run(driver.open(RID))
        asyncio.run(driver.step(flow, Trigger.CHECK_ACTIVATION))
        with pytest.raises(ApiUnavailable):
            asyncio.run(driver.step(flow, Trigger.NOTIFY))
    assert points[-2:] == ["before_call notify", "after_call notify"]
    assert store.writes[-1] == "record notify"
    assert store.intent == "notify"
    assert driver.unknown_call(flow) == "notify"
    with pytest.raises(InvalidInput, match="open notification intent"):
        asyncio.run(driver.step(flow, Trigger.NOTIFY))
    assert store.writes[-1] == "record notify", "a second notification was started"


def test_a_write_another_process_got_ahead_of_leaves_the_flow_as_stored() -> None:
    store = MemoryStore()
    driver = durable(ScriptedApi([WAITING]), store, [])
    with capture_logs():
        flow = asyncio.run(driver.open(RID))
        store.behind = True
        with pytest.raises(StaleFlow):
            asyncio.run(driver.step(flow, Trigger.CHECK_ACTIVATION))
    assert flow.history == []
    assert flow.state is State.READY


def test_a_durable_driver_takes_every_keyword_of_a_driver_but_the_journal() -> None:
    """DriverOptions, what a DurableDriver passes on to Driver, keeps up with Driver."""
    parameters = inspect.signature(Driver.__init__).parameters.values()
    keywords = {p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY}
    assert set(DriverOptions.__annotations__) == keywords - {"journal"}
