"""The journal of a durable driver: each step written to a :class:`~fsm.ports.FlowStore`.

The :class:`~fsm.driving.driver.Driver` calls its journal at the step's boundaries, after the
step's one check of what is allowed:

* :meth:`Journal.begin`, before the call: a step that opens an intent (the notification, the
  request's creation, the upload: :mod:`fsm.machine.steps`) refuses to start while another intent
  is open, then writes its own; ``before_call``.
* :meth:`Journal.keep`, after an answer: ``after_call``; the record and the flow's new state are
  written in one transaction, as a compare-and-set on the flow's record count (so two processes
  never both win a step), closing the intent when the step closes one; ``after_write``.
* :meth:`Journal.lost`, after a call with no usable answer: ``after_call``; its ERROR record is
  written with the intent left open (the call may have had its effect).

A write that another process's write got ahead of raises :class:`StaleFlow` and takes the record
off the flow again: reload it to go on. ``on_boundary(point, flow, trigger)`` is called at each of
the three points: crash tests kill the process there.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import InvalidInput, StaleFlow
from ..machine.steps import Steps
from ..ports import Clock, FlowStore
from ..trail.record import AuditRecord, fold
from .flow import Flow

Boundary = Callable[[str, Flow, str], None]
"""Called with the point (``before_call``, ``after_call``, ``after_write``), the flow and the
trigger."""

DueOf = Callable[[Flow, str | None, float | None], float | None]
"""When a flow is next due, given its open intent and when that was opened
(:func:`fsm.driving.due.due_at`): written with each record and intent, in its transaction."""


class Journal:
    """Writes a driver's steps to ``store`` (see the module docstring), and keeps each flow's
    open intent between steps."""

    def __init__(
        self,
        store: FlowStore,
        clock: Clock,
        steps: Steps,
        on_boundary: Boundary | None = None,
        *,
        due: DueOf,
    ) -> None:
        self.store, self.clock, self.steps = store, clock, steps
        self.on_boundary = on_boundary
        self.due = due
        """Each write's due time, from the flow as it will stand once written."""
        self._intents: dict[str, str | None] = {}
        self._intent_at: dict[str, float] = {}

    def __len__(self) -> int:
        """How many flows it keeps anything of (see :meth:`forget`)."""
        return len(self._intents)

    def intent(self, flow_id: str) -> str | None:
        """The trigger of the flow's open intent, if any."""
        return self._intents.get(flow_id)

    def intent_at(self, flow_id: str) -> float | None:
        """When the flow's open intent was opened, if it has one."""
        return self._intent_at.get(flow_id) if self._intents.get(flow_id) else None

    def unknown_since(self, flow_id: str, errored: float | None) -> float | None:
        """Since when the outcome of the flow's call with effects is unknown, given when its
        last ERROR record was made (``errored``): with an open intent, the later of when it was
        opened and that record (the grace counts from the last moment the call could have had
        its effect); else ``errored``."""
        if self._intents.get(flow_id) is None:
            return errored
        opened = self._intent_at.get(flow_id, 0.0)
        return opened if errored is None else max(opened, errored)

    def loaded(self, flow_id: str, intent: str | None, at: float | None = None) -> None:
        """Keep the intent a flow was stored (or created) with."""
        self._intents[flow_id] = intent
        if intent is not None and at is not None:
            self._intent_at[flow_id] = at

    def forget(self, flow_id: str) -> None:
        """Drop what it keeps of a flow between steps; the next load reads the store again."""
        self._intents.pop(flow_id, None)
        self._intent_at.pop(flow_id, None)

    async def begin(self, flow: Flow, trigger: str) -> int:
        """Before the call of ``trigger`` (already allowed): open its intent if it opens one.
        Returns the flow's record count, which the step's write expects."""
        expected = len(flow.history)
        if self.steps[trigger].opens_intent:
            opened = self._intents.get(flow.id)
            if opened is not None:
                what = "notification" if opened == self.steps.notification else opened
                raise InvalidInput(
                    f"flow {flow.id} has an open {what} intent: fire "
                    f"{self.steps.recovery_of.get(opened, 'its recovery')} first (advance() does)"
                )
            now = self.clock.now()
            due = self.due(flow, str(trigger), now)
            await self.store.open_intent(
                flow.id, str(trigger), expected_seq=expected, now=now, due_at=due
            )
            self._intents[flow.id] = str(trigger)
            self._intent_at[flow.id] = now
        self._boundary("before_call", flow, trigger)
        return expected

    async def keep(self, flow: Flow, trigger: str, record: AuditRecord, expected: int) -> None:
        """After an answer: write ``record``, closing the flow's open intent if ``trigger``
        closes one."""
        self._boundary("after_call", flow, trigger)
        closes = self._intents.get(flow.id) is not None and self.steps.closes_intent(trigger)
        await self._write(flow, record, expected, close_intent=closes)
        if closes:
            self._intents[flow.id] = None
        self._boundary("after_write", flow, trigger)

    async def lost(
        self, flow: Flow, trigger: str, record: AuditRecord | None, expected: int
    ) -> None:
        """After a call with no usable answer: write its ERROR ``record`` (if the driver made
        one), the intent left open."""
        self._boundary("after_call", flow, trigger)
        if record is not None:
            await self._write(flow, record, expected, close_intent=False)

    def _boundary(self, point: str, flow: Flow, trigger: str) -> None:
        if self.on_boundary is not None:
            self.on_boundary(point, flow, trigger)

    async def _write(
        self, flow: Flow, record: AuditRecord, expected: int, *, close_intent: bool
    ) -> None:
        intent = None if close_intent else self._intents.get(flow.id)
        due = self.due(flow, intent, self._intent_at.get(flow.id) if intent else None)
        try:
            await self.store.append(
                record, expected_seq=expected, close_intent=close_intent, now=self.clock.now(),
                due_at=due,
            )  # fmt: skip
        except StaleFlow:
            del flow.history[expected:]  # forget what was not written; reload to go on
            flow.state = fold(flow.history, flow.initial)
            raise
