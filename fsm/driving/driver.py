"""The driver: makes the one API call a trigger needs, then fires the trigger with the answer.

:meth:`Driver.step` is one trigger on one flow, written by its journal if it has one;
:meth:`Driver.advance` takes a flow to its next resting state (NOTIFIED, FALLBACK_SUGGESTED or
terminal), waiting between activation checks with a bounded backoff through the injected clock.
"""

from __future__ import annotations

from structlog.contextvars import bound_contextvars

from ..errors import ApiError, TransitionNotAllowed
from ..logs import get_logger
from ..machine.answers import Answer
from ..machine.order import Order
from ..machine.states import State, Trigger
from ..ports import Clock, SetupApi, SignatureApi, StatusReader, StepSpan, StepTracer
from ..trail.record import AuditRecord, Outcome
from .engine import Engine, Flow, default_engine
from .hooks import Hooks
from .inputs import delivery_answer
from .journal import Journal
from .resend import ResendPolicy
from .waits import RECOVERY_GRACE, PollingPolicy, StopSignal

__all__ = ["RECOVERY_GRACE", "Driver", "PollingPolicy"]


class Driver:
    """Drives flows against a :class:`SignatureApi`, one call per trigger."""

    def __init__(
        self,
        api: SignatureApi,
        clock: Clock,
        *,
        engine: Engine | None = None,
        policy: PollingPolicy | None = None,
        status_reader: StatusReader | None = None,
        resend: ResendPolicy | None = None,
        hooks: Hooks | None = None,
        tracer: StepTracer | None = None,
        actor: str | None = None,
        setup: SetupApi | None = None,
        recovery_grace: float = RECOVERY_GRACE,
        journal: Journal | None = None,
    ) -> None:
        self.api = api
        self.setup = setup
        """The issuer's set-up calls, for flows started from a PDF (and fetching signed
        documents); None: this driver drives flows from READY only."""
        self.clock = clock
        self.engine = engine if engine is not None else default_engine()
        self.policy = policy if policy is not None else PollingPolicy()
        self.status_reader = status_reader
        self.resend = resend if resend is not None else ResendPolicy()
        self.hooks = hooks if hooks is not None else Hooks()
        """Called after each record is kept (:mod:`fsm.driving.hooks`)."""
        self.tracer = tracer
        """Opens a span around each step, if given (:class:`~fsm.ports.StepTracer`)."""
        self.recovery_grace = recovery_grace
        """Seconds a call with effects whose outcome is unknown (an open intent, an ERROR
        record) is left to settle before the request is read back (see :data:`RECOVERY_GRACE`)."""
        self.journal = journal
        """Writes each step before it counts (:mod:`fsm.driving.journal`); None: in memory."""
        self.actor = actor
        """Stamped on every record this driver makes (a worker's or tenant's name; never a
        key), or ``None``."""
        self._stop = StopSignal()

    @property
    def stop_requested(self) -> bool:
        """Set it to make :meth:`advance` return at the next step boundary (a clean stop: the
        call under way finishes and its record is written; nothing new starts). A wait under
        way (a recovery grace, the backoff between checks, a later attempt not yet due) ends
        at once, its step not made."""
        return self._stop.requested

    @stop_requested.setter
    def stop_requested(self, value: bool) -> None:
        self._stop.requested = value

    async def _pause(self, seconds: float) -> bool:
        """Wait ``seconds`` on the clock unless a stop comes first; whether it all passed."""
        return await self._stop.pause(self.clock, seconds)

    def new_flow(self, request_id: str) -> Flow:
        """A new flow for ``request_id``, with this driver's activation deadline."""
        return self.engine.new_flow(
            request_id, now=self.clock.now(), activation_timeout=self.policy.activation_timeout
        )

    def new_order_flow(self, flow_id: str, order: Order) -> Flow:
        """A new flow for ``order`` (a PDF to have signed), in RECEIVED."""
        return self.engine.new_order_flow(flow_id, order, now=self.clock.now())

    async def _call(self, call: str, flow: Flow) -> Answer:
        """Make ``call`` for ``flow`` as the engine's call registry says (:mod:`.calls`)."""
        entry = self.engine.calls[call]
        return await entry.make(entry.port.of(self, flow, call), flow, self.clock.now())

    async def step(self, flow: Flow, trigger: str, given: Answer | None = None) -> AuditRecord:
        """Fire ``trigger`` on ``flow``: one check that it is allowed, at most one API call,
        then one audit record, written by the :attr:`journal` (if any) before the :attr:`hooks`
        that want it are called. If the API gives no usable answer, the attempt is recorded as an
        ERROR and the :class:`ApiError` is raised with the record attached (``error.record``).
        ``given``: the operator's input, for a step that takes it; for a step with a call, the
        answer recorded instead of making the call (collecting that gives up, say)."""
        trigger = self.engine.check_allowed(flow, trigger)  # the step's one check
        journal = self.journal
        expected = 0 if journal is None else await journal.begin(flow, trigger)
        try:
            record = await self._fire_step(flow, trigger, given)
        except ApiError as error:
            if journal is not None:
                await journal.lost(flow, trigger, error.record, expected)
            if error.record is not None and self.hooks:
                await self.hooks.emit(flow, error.record)
            raise
        if journal is not None:
            await journal.keep(flow, trigger, record, expected)
        if self.hooks:
            await self.hooks.emit(flow, record)
        return record

    async def _fire_step(
        self, flow: Flow, trigger: str, given: Answer | None = None
    ) -> AuditRecord:
        """:meth:`step` after its check, without journal or hooks: the call, then the record (in
        a span if traced). ``given``: the operator's input, for a step that takes it."""
        if self.tracer is None:
            return await self._call_and_fire(flow, trigger, given)
        with self.tracer.step(flow.id, str(trigger)) as span:
            try:
                record = await self._call_and_fire(flow, trigger, given)
            except ApiError as error:
                if error.record is not None:
                    _traced(span, error.record)
                raise
            _traced(span, record)
            return record

    async def _call_and_fire(
        self, flow: Flow, trigger: str, given: Answer | None = None
    ) -> AuditRecord:
        engine, actor = self.engine, self.actor
        call = engine.steps.call_of(trigger)
        started = self.clock.now()
        if call is None or given is not None:  # an input, or an answer given for the call
            return engine.fire(flow, trigger, given, now=started, actor=actor, checked=True)
        try:
            with bound_contextvars(flow_id=flow.id):  # on the client's log events too
                answer = await self._call(call, flow)
        except ApiError as error:
            error.record = engine.fire(
                flow, trigger, error, now=self.clock.now(), requested_at=started, actor=actor,
                checked=True,
            )  # fmt: skip
            raise
        return engine.fire(
            flow, trigger, answer, now=self.clock.now(), requested_at=started, actor=actor,
            checked=True,
        )  # fmt: skip

    async def advance(self, flow: Flow) -> State:
        """Take ``flow`` to its next resting state, or stop at the first refused attempt.

        From each state that still needs driving it fires the step declared for that state
        (:mod:`fsm.machine.steps`). A step that leaves the flow where it was (a READY request still
        READY) is tried again after :class:`PollingPolicy`'s bounded backoff; the activation
        deadline turns a request that stays READY into a FAILED flow.

        A flow already at rest in FALLBACK_SUGGESTED after a refusal that :class:`ResendPolicy`
        retries gets its next later attempt, once it is due (see :meth:`next_attempt`).
        """
        if self.stop_requested:
            return flow.state
        await self._recover(flow)
        if self.stop_requested:  # a recovery grace cut short: the intent stays for the next
            return flow.state
        if flow.state not in self.engine.steps.next_step:
            record = await self._resend(flow)
            if record is None or record.outcome is Outcome.REFUSED:
                return flow.state
        return await self._drive(flow)

    async def renotify(self, flow: Flow) -> State:
        """Try the notification again now, from a flow resting after a refusal (the citizen says
        they turned messages on, say), whatever :class:`ResendPolicy` would wait for; then on to
        the next resting state. From any other state it raises :class:`TransitionNotAllowed`
        and calls nothing."""
        trigger = self.engine.steps.notification
        recovered = await self._recover(flow)
        if self.stop_requested or (recovered and not self.can_renotify(flow)):
            return flow.state  # stopped in the grace, or the lost attempt's message went out
        if trigger is None or not self.can_renotify(flow):
            raise TransitionNotAllowed(
                str(trigger), flow.state, tuple(map(str, self.engine.allowed(flow.state)))
            )
        if (await self.step(flow, trigger)).outcome is Outcome.REFUSED:
            return flow.state
        return await self._drive(flow)

    def can_renotify(self, flow: Flow) -> bool:
        """Whether :meth:`renotify` may try ``flow``'s notification again now."""
        trigger = self.engine.steps.notification
        return (
            trigger is not None
            and flow.refusal is not None
            and flow.state in self.engine.steps.resting
            and trigger in self.engine.allowed(flow.state)
        )

    def unknown_since(self, flow: Flow) -> float | None:
        """When the flow's last call with effects (the notification, the request's creation,
        the upload) ended with its outcome unknown (an ERROR record: no usable answer), if that
        is where the flow stands; else ``None``. With an open intent, see
        :meth:`~fsm.driving.journal.Journal.unknown_since`."""
        last = flow.history[-1] if flow.history else None
        errored = None
        if (
            last is not None
            and last.outcome is Outcome.ERROR
            and last.trigger in self.engine.steps.recovery_of
        ):
            errored = last.decided_at
        return errored if self.journal is None else self.journal.unknown_since(flow.id, errored)

    def unknown_call(self, flow: Flow) -> str | None:
        """The trigger whose outcome is unknown (the journal's open intent, or as
        :meth:`unknown_since`), if any."""
        if self.journal is not None and self.journal.intent(flow.id) is not None:
            return self.journal.intent(flow.id)
        last = flow.history[-1] if flow.history else None
        if last is not None and last.outcome is Outcome.ERROR:
            return last.trigger if last.trigger in self.engine.steps.recovery_of else None
        return None

    async def _recover(self, flow: Flow) -> bool:
        """Before anything else on a flow whose last call with effects has an unknown outcome:
        let it settle ``recovery_grace`` seconds, then read (the recovery step), so a message
        that went out, a request that was made, an upload that arrived is kept and never made
        twice. Whether it recovered."""
        since, opener = self.unknown_since(flow), self.unknown_call(flow)
        recovery = None if opener is None else self.engine.steps.recovery_of.get(opener)
        if since is None or recovery is None or recovery not in self.engine.allowed(flow.state):
            return False
        settle = since + self.recovery_grace - self.clock.now()
        if settle > 0 and not await self._pause(settle):
            return False  # stopped while it settles: the next process recovers it
        await self.step(flow, recovery)
        return True

    async def _drive(self, flow: Flow) -> State:
        """Fire the declared steps until the flow rests (the loop of :meth:`advance`)."""
        delays = self.policy.delays()
        next_step = self.engine.steps.next_step
        seen = {_place(flow)}
        while flow.state in next_step and not self.stop_requested:
            record = await self.step(flow, next_step[flow.state])
            if record.outcome is Outcome.REFUSED:
                break
            if record.target is record.source or _place(flow) in seen:
                # still waiting, or back where it was on the same document (a new upload URL
                # after a refused one; the next document is progress): the bounded backoff
                # keeps a cycle from calling the API in a hot loop
                await self._pause(next(delays))
            seen.add(_place(flow))
        return flow.state

    def next_attempt(self, flow: Flow) -> float | None:
        """When :meth:`advance` will next try the notification of a flow resting after a passing
        refusal (clock time; it waits until then), or ``None`` if it will not."""
        resend = self.engine.steps.notification
        if resend is None or resend not in self.engine.allowed(flow.state):
            return None
        return self.resend.next_attempt(flow.state, flow.history)

    async def _resend(self, flow: Flow) -> AuditRecord | None:
        due = self.next_attempt(flow)
        resend = self.engine.steps.notification
        if due is None or resend is None:
            return None
        wait = due - self.clock.now()
        if wait > 0 and not await self._pause(wait):
            return None  # stopped before it was due
        return await self.step(flow, resend)

    async def deliver_fallback(self, flow: Flow, channel: str, note: str | None = None) -> State:
        """Record that the fallback reached the citizen through ``channel`` (``email``,
        ``letter``, ``desk``, ``pec``...), with an optional short ``note``: no API call. Only
        from FALLBACK_SUGGESTED; a bad channel or note is refused before anything is written."""
        await self.step(flow, Trigger.DELIVER_FALLBACK, delivery_answer(channel, note))
        return flow.state

    async def fetch_documents(self, flow: Flow) -> AuditRecord:
        """Download a SIGNED flow's signed documents (through :attr:`setup`); the record keeps
        each file's name, size and SHA-256. A download of the wrong type or size raises its
        :class:`~fsm.errors.ApiError`, recorded as an ERROR: the flow stays SIGNED."""
        return await self.step(flow, Trigger.FETCH_DOCUMENTS)

    async def watch(self, flow: Flow, *, interval: float = 5.0, max_checks: int = 720) -> State:
        """Check the status of an activated flow until it closes (at most ``max_checks`` times)."""
        for check in range(max_checks):
            if flow.is_closed or Trigger.CHECK_STATUS not in self.engine.allowed(flow.state):
                break
            await self.step(flow, Trigger.CHECK_STATUS)
            last = flow.is_closed or check + 1 == max_checks  # no wait after the last check
            if not last and not await self._pause(interval):
                break
        return flow.state


def _traced(span: StepSpan, record: AuditRecord) -> None:
    """Hand the record to the span; a tracer's bug must not lose the record."""
    try:
        span.record(record)
    except Exception as error:
        get_logger("firmaio.fsm.driving.driver").error(
            "fsm.tracer_failed", flow_id=record.flow_id, error=type(error).__name__
        )


def _place(flow: Flow) -> tuple[State, str | None]:
    """Where the flow is: its state, and the document of several its set-up is on."""
    return flow.state, flow.facts.get("document_index")
