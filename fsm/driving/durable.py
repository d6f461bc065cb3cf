"""Durable flows: every attempt written to a :class:`~fsm.ports.FlowStore` as it happens.

:class:`DurableDriver` is a :class:`~fsm.driving.driver.Driver` whose steps are persisted:

* each attempt's record and the flow's new state are written in one transaction, as a
  compare-and-set on the flow's record count, so two processes never both win a step;
* before a call whose step opens an intent (the notification, :mod:`fsm.machine.steps`), the flow
  records its **intent**; the intent is closed in the same write as the answer's record. A flow
  loaded with an open intent may have sent its message before the process died: it fires the
  step that recovers intents (``recover_notification``) first, which reads the request, and only
  a request with no notification is notified again.

``on_boundary(point, flow, trigger)`` is called at ``before_call`` (any intent written, no call),
``after_call`` (answer in memory, not written) and ``after_write``: crash tests kill the process
there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from ..errors import ApiError, InvalidInput, StaleFlow
from ..machine.answers import Answer
from ..machine.order import Order
from ..ports import Clock, FlowStore, SetupApi, SignatureApi, StatusReader, StepTracer
from ..redact import redact_text
from ..trail.record import AuditRecord, fold
from .driver import RECOVERY_GRACE, Driver, PollingPolicy
from .engine import Engine, Flow
from .hooks import Hooks
from .resend import ResendPolicy

Boundary = Callable[[str, Flow, str], None]


class DurableDriver(Driver):
    """A driver whose every step is written to ``store`` before it counts."""

    def __init__(
        self,
        api: SignatureApi,
        clock: Clock,
        store: FlowStore,
        *,
        engine: Engine | None = None,
        policy: PollingPolicy | None = None,
        on_boundary: Boundary | None = None,
        status_reader: StatusReader | None = None,
        recovery_grace: float = RECOVERY_GRACE,
        resend: ResendPolicy | None = None,
        hooks: Hooks | None = None,
        tracer: StepTracer | None = None,
        actor: str | None = None,
        setup: SetupApi | None = None,
    ) -> None:
        super().__init__(
            api,
            clock,
            engine=engine,
            policy=policy,
            status_reader=status_reader,
            resend=resend,
            hooks=hooks,
            tracer=tracer,
            actor=actor,
            setup=setup,
        )
        self.store = store
        self.on_boundary = on_boundary
        self.recovery_grace = recovery_grace
        """Seconds an open intent is left to settle before it is recovered (see
        :data:`RECOVERY_GRACE`)."""
        self._intents: dict[str, str | None] = {}
        self._intent_at: dict[str, float] = {}

    async def open(
        self,
        request_id: str,
        *,
        tenant: str | None = None,
        order: Order | None = None,
        create: bool = True,
    ) -> Flow:
        """The stored flow for ``request_id``, created in READY (for ``tenant``) if the store has
        none. A stored flow of another tenant is refused (:class:`InvalidInput`, nothing
        called or written): this driver's API key is not its tenant's.

        With ``order`` (a PDF to have signed), ``request_id`` is the flow's own id: a new flow
        starts in RECEIVED; a stored one is resumed, and must have been started from the same
        PDF (its SHA-256), or it is refused. The order's fiscal code is held in memory only.
        With ``create=False`` a flow the store does not have is refused, nothing written."""
        if order is not None:
            return await self._open_order(request_id, order, tenant)
        stored = await self.store.load(request_id)
        if stored is None and not create:
            raise InvalidInput(f"no stored flow {request_id}: nothing was done")
        if stored is not None and stored.tenant != tenant:
            raise InvalidInput(
                f"flow {request_id} belongs to tenant {stored.tenant or 'default'!r}, not "
                f"{tenant or 'default'!r}: name its tenant (--tenant) to drive it with its key; "
                "nothing was done"
            )
        if stored is None:
            flow = self.new_flow(request_id)
            created = await self.store.create(
                flow.id,
                activation_deadline=flow.activation_deadline,
                now=self.clock.now(),
                tenant=tenant,
            )
            if created:
                self._intents[flow.id] = None
                return flow
            stored = await self.store.load(request_id)
            if stored is None:  # pragma: no cover - a store that loses what it just refused
                raise StaleFlow(request_id, 0)
        flow = self.engine.restore(
            stored.flow_id, stored.activation_deadline, stored.records, initial=stored.initial
        )
        self._intents[flow.id] = stored.intent
        if stored.intent is not None and stored.intent_at is not None:
            self._intent_at[flow.id] = stored.intent_at
        return flow

    async def _open_order(self, flow_id: str, order: Order, tenant: str | None) -> Flow:
        flow = self.new_order_flow(flow_id, order)  # checks the order before anything is written
        stored = await self.store.load(flow_id)
        if stored is None:
            created = await self.store.create(
                flow.id,
                activation_deadline=flow.activation_deadline,
                now=self.clock.now(),
                tenant=tenant,
                initial=flow.initial,
            )
            if created:
                self._intents[flow.id] = None
                return flow
        resumed = await self.open(flow_id, tenant=tenant)
        known = resumed.order
        if resumed.initial is not flow.initial or (
            known is not None and _what_is_asked(known) != _what_is_asked(order)
        ):
            raise InvalidInput(
                f"flow {flow_id} exists for another document, other fields or another request: "
                "choose another --id; nothing was done"
            )
        # the path given now (its SHA-256 is the stored one): a stored path may be masked
        resumed.order = (
            order if known is None else replace(known, fiscal_code=order.fiscal_code, pdf=order.pdf)
        )
        if not resumed.history:
            resumed.entered_at = flow.entered_at
        return resumed

    def forget(self, flow_id: str) -> None:
        """Drop what this driver keeps of a flow between steps (its intent, as last read or
        written). A long-lived driver calls it when done with a flow, so it keeps nothing of
        the flows it is not on; :meth:`open` reads the store again."""
        self._intents.pop(flow_id, None)
        self._intent_at.pop(flow_id, None)

    def intent(self, flow: Flow) -> str | None:
        """The open intent of ``flow``, if any."""
        return self._intents.get(flow.id)

    def _boundary(self, point: str, flow: Flow, trigger: str) -> None:
        if self.on_boundary is not None:
            self.on_boundary(point, flow, trigger)

    async def step(self, flow: Flow, trigger: str, given: Answer | None = None) -> AuditRecord:
        """Fire ``trigger`` and write its record; see the module docstring for the intent."""
        trigger = self.engine.check_allowed(flow, trigger)
        steps = self.engine.steps
        expected = len(flow.history)
        intent_open = self._intents.get(flow.id) is not None
        if steps[trigger].opens_intent:
            if intent_open:
                opened = self._intents.get(flow.id) or ""
                what = "notification" if opened == steps.notification else opened
                raise InvalidInput(
                    f"flow {flow.id} has an open {what} intent: fire "
                    f"{steps.recovery_of.get(opened, 'its recovery')} first (advance() does)"
                )
            intent = str(trigger)
            await self.store.open_intent(
                flow.id, intent, expected_seq=expected, now=self.clock.now()
            )
            self._intents[flow.id] = intent
            self._intent_at[flow.id] = self.clock.now()
            intent_open = True
        self._boundary("before_call", flow, trigger)
        try:
            record = await self._fire_step(flow, trigger, given)
        except ApiError as error:
            self._boundary("after_call", flow, trigger)
            if error.record is not None:  # outcome unknown: the intent stays open
                await self._write(flow, error.record, expected, close_intent=False)
                if self.hooks:
                    await self.hooks.emit(flow, error.record)
            raise
        self._boundary("after_call", flow, trigger)
        closes = intent_open and steps.closes_intent(trigger)
        await self._write(flow, record, expected, close_intent=closes)
        if closes:
            self._intents[flow.id] = None
        self._boundary("after_write", flow, trigger)
        if self.hooks:
            await self.hooks.emit(flow, record)
        return record

    async def _write(
        self, flow: Flow, record: AuditRecord, expected: int, *, close_intent: bool
    ) -> None:
        try:
            await self.store.append(
                record, expected_seq=expected, close_intent=close_intent, now=self.clock.now()
            )
        except StaleFlow:
            del flow.history[expected:]  # forget what was not written; reload to go on
            flow.state = fold(flow.history, flow.initial)
            raise

    def unknown_call(self, flow: Flow) -> str | None:
        """The open intent's trigger, if any; else as :class:`Driver`."""
        return self._intents.get(flow.id) or super().unknown_call(flow)

    def unknown_since(self, flow: Flow) -> float | None:
        """With an open intent: the later of when it was opened and when the intent's call last
        ended with no usable answer (the grace counts from the last moment a message could have
        gone out); else as :class:`Driver`."""
        if self._intents.get(flow.id) is None:
            return super().unknown_since(flow)
        opened = self._intent_at.get(flow.id, 0.0)
        errored = super().unknown_since(flow)
        return max(opened, errored) if errored is not None else opened


def _what_is_asked(order: Order) -> dict[str, str]:
    """What an order asks, as recorded (masked): the document, its fields, the titles, the
    dossier, the expiry. Where the PDF lies and the timeouts are the stored order's when a flow
    is resumed."""
    return {
        name: redact_text(value) for name, value in order.facts() if name not in _RESUMED_AS_STORED
    }


_RESUMED_AS_STORED = frozenset(
    {"order.pdf", "order.validation_timeout", "order.activation_timeout"}
)
