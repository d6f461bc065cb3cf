"""Durable flows: every attempt written to a :class:`~fsm.ports.FlowStore` as it happens.

:class:`DurableDriver` is a :class:`~fsm.driving.driver.Driver` with a
:class:`~fsm.driving.journal.Journal` over the store, which the driver calls at each step's
boundaries:

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

import warnings
from dataclasses import replace
from typing import TypedDict, Unpack

from ..errors import ApiError, InvalidInput, StaleFlow
from ..machine.answers import Answer
from ..machine.order import Order
from ..machine.states import Trigger
from ..machine.steps import ApiCall
from ..ports import Clock, FlowStore, SetupApi, SignatureApi, StatusReader, StepTracer, StoredFlow
from ..redact import redact_text
from ..trail.record import AuditRecord
from .collect import CollectPolicy
from .driver import Driver, PollingPolicy
from .due import DEFAULT_RETRY_AFTER, DEFAULT_WATCH_EVERY, DuePolicy, due_at
from .engine import Engine, Flow
from .hooks import Hooks
from .journal import Boundary, Journal
from .resend import ResendPolicy
from .watch import finds_nothing_new

__all__ = ["Boundary", "DriverOptions", "DurableDriver"]


class DriverOptions(TypedDict, total=False):
    """The keywords of :class:`~fsm.driving.driver.Driver` that a :class:`DurableDriver` passes
    on to it (all but the journal, which it makes)."""

    engine: Engine | None
    policy: PollingPolicy | None
    status_reader: StatusReader | None
    resend: ResendPolicy | None
    hooks: Hooks | None
    tracer: StepTracer | None
    actor: str | None
    setup: SetupApi | None
    recovery_grace: float


class DurableDriver(Driver):
    """A driver whose every step is written to ``store`` before it counts."""

    def __init__(
        self,
        api: SignatureApi,
        clock: Clock,
        store: FlowStore,
        *,
        on_boundary: Boundary | None = None,
        watch_every: float | None = DEFAULT_WATCH_EVERY,
        retry_after: float = DEFAULT_RETRY_AFTER,
        collect: CollectPolicy | None = None,
        **options: Unpack[DriverOptions],
    ) -> None:
        super().__init__(api, clock, **options)
        self.store = store
        self.due_policy = DuePolicy(self.resend, self.policy, watch_every, retry_after, collect)
        """What each flow's stored due time is computed with (:mod:`fsm.driving.due`): this
        driver's later attempts and polling, a status check every ``watch_every`` seconds at
        rest, a refused or failed step tried again after ``retry_after``, a SIGNED flow's
        documents fetched on ``collect``'s schedule where they are collected on their own."""
        self.journal: Journal = Journal(
            store, clock, self.engine.steps, on_boundary, due=self._due_with
        )
        """Writes each step and keeps each flow's open intent between steps."""

    def due(self, flow: Flow) -> float | None:
        """When ``flow`` is next due (clock time; None: never), as its store keeps it: the
        one computation of :func:`~fsm.driving.due.due_at`, with this driver's policies."""
        return self._due_with(flow, self.intent(flow), self.journal.intent_at(flow.id))

    def _due_with(
        self, flow: Flow, intent: str | None, intent_at: float | None, made: float = 0.0
    ) -> float | None:
        # a flow with no record yet is due from when it was made (``made``, where known; a
        # stored one, some time before now)
        since = flow.entered_at if flow.entered_at is not None else made
        return due_at(
            self.engine, self.due_policy, flow.state, flow.history, since=since,
            intent=intent, intent_at=intent_at, checked_at=flow.checked_at,
        )  # fmt: skip

    async def check_with(
        self,
        flow: Flow,
        answer: Answer | ApiError | None = None,
        *,
        read_at: float | None = None,
        evidence: tuple[tuple[str, str], ...] = (),
    ) -> AuditRecord | None:
        """``check_status`` on a flow at rest, a check that finds nothing new writing no record.

        ``answer``: the request's status as the caller read it at ``read_at`` (default: now),
        from the dossier's listing (one read for many flows), with ``evidence`` (facts naming
        what was read); ``None``: read now, with the step's own call (one ``GET``; a read with no
        usable answer is recorded as the step's ERROR and raised, as :meth:`step` does); an
        :class:`ApiError`: the caller's read (:meth:`read_alone`, begun at ``read_at``) gave no
        usable answer, recorded and raised the same way. A check
        that finds nothing new (:func:`~fsm.driving.watch.finds_nothing_new`) and teaches the
        flow no fact (a dossier it did not know) writes the flow's last-checked time and due
        time in one statement, no record (None returned; :class:`StaleFlow` if a record or an
        intent was written since). Any other answer is the step's, recorded once, with its
        evidence."""
        trigger = self.engine.check_allowed(flow, Trigger.CHECK_STATUS)
        if self.intent(flow) is not None:
            return await self.step(flow, trigger)  # its recovery comes first: advance() does
        started = self.clock.now()
        if answer is None:
            answer = await self._read(flow, trigger, started)
        elif isinstance(answer, ApiError):
            await self._lost_read(flow, trigger, answer, started if read_at is None else read_at)
            raise answer
        now = self.clock.now()
        teaches = any(flow.facts.get(name) != value for name, value in answer.facts)
        if teaches or not finds_nothing_new(self.engine, flow, answer, now):
            given = replace(answer, facts=(*answer.facts, *evidence)) if evidence else answer
            return await self.step(flow, trigger, given)
        read = started if read_at is None else min(read_at, now)
        before, flow.checked_at = flow.checked_at, read
        seq = len(flow.history)
        if not await self.store.checked(flow.id, expected_seq=seq, at=read, due_at=self.due(flow)):
            flow.checked_at = before
            raise StaleFlow(flow.id, seq)
        return None

    async def _read(self, flow: Flow, trigger: str, started: float) -> Answer:
        """``check_with``'s read: the request alone (``GET``, whatever status reader the driver
        has: the caller found no listing to serve it); no usable answer: its ERROR recorded."""
        try:
            return await self._call(ApiCall.GET_REQUEST, flow)
        except ApiError as error:
            await self._lost_read(flow, trigger, error, started)
            raise

    async def read_alone(self, flow: Flow) -> Answer:
        """``check_status``'s read of ``flow``'s request alone (one ``GET``), nothing checked or
        recorded: a read a caller makes before it takes the flow's lock, then gives
        :meth:`check_with` under it (with the answer, or the :class:`ApiError` raised here).
        A read is idempotent: made outside the lock, it changes nothing."""
        return await self._call(ApiCall.GET_REQUEST, flow)

    async def _lost_read(self, flow: Flow, trigger: str, error: ApiError, started: float) -> None:
        """A check's read that gave no usable answer, recorded as the step's ERROR."""
        expected, now = len(flow.history), self.clock.now()
        error.record = self.engine.fire(
            flow, trigger, error, now=now, requested_at=started, actor=self.actor, checked=True
        )
        await self.journal.lost(flow, trigger, error.record, expected)
        if self.hooks:
            await self.hooks.emit(flow, error.record)

    async def open(
        self,
        flow_id: str | None = None,
        *,
        tenant: str | None = None,
        order: Order | None = None,
        create: bool = True,
        request_id: str | None = None,
    ) -> Flow:
        """The stored flow ``flow_id``, created in READY (for ``tenant``) if the store has
        none: a flow started at READY is named by its signature request's id. A stored flow of
        another tenant is refused (:class:`InvalidInput`, nothing called or written): this
        driver's API key is not its tenant's.

        With ``order`` (a PDF to have signed), ``flow_id`` is the flow's own id: a new flow
        starts in RECEIVED; a stored one is resumed, and must have been started from the same
        PDF (its SHA-256), or it is refused. The order's fiscal code is held in memory only.
        With ``create=False`` a flow the store does not have is refused, nothing written.
        ``request_id=`` is the parameter's former name: deprecated, it warns and still works."""
        flow_id = _flow_id_of(flow_id, request_id)
        return await self._open(flow_id, tenant, order, create)

    async def _open(
        self, request_id: str, tenant: str | None, order: Order | None, create: bool
    ) -> Flow:
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
            flow, now = self.new_flow(request_id), self.clock.now()
            created = await self.store.create(
                flow.id,
                activation_deadline=flow.activation_deadline,
                now=now,
                tenant=tenant,
                due_at=self._due_with(flow, None, None, now),
            )
            if created:
                self.journal.loaded(flow.id, None)
                return flow
            stored = await self.store.load(request_id)
            if stored is None:  # pragma: no cover - a store that loses what it just refused
                raise StaleFlow(request_id, 0)
        return self.resume(stored)

    def resume(self, stored: StoredFlow) -> Flow:
        """The flow of ``stored``, a store's :meth:`load` answer the caller already read (a
        worker reads its flow once to learn its tenant and dossier, then drives it): as
        :meth:`open` would return it, without reading it again. The tenant is the caller's
        to check."""
        flow = self.engine.restore(
            stored.flow_id, stored.activation_deadline, stored.records, initial=stored.initial
        )
        flow.checked_at = stored.checked_at
        self.journal.loaded(flow.id, stored.intent, stored.intent_at)
        return flow

    async def _open_order(self, flow_id: str, order: Order, tenant: str | None) -> Flow:
        flow = self.new_order_flow(flow_id, order)  # checks the order before anything is written
        stored = await self.store.load(flow_id)
        if stored is None:
            now = self.clock.now()
            created = await self.store.create(
                flow.id,
                activation_deadline=flow.activation_deadline,
                now=now,
                tenant=tenant,
                initial=flow.initial,
                due_at=self._due_with(flow, None, None, now),
            )
            if created:
                self.journal.loaded(flow.id, None)
                return flow
        resumed = await self._open(flow_id, tenant, None, True)
        known = resumed.order
        if resumed.initial is not flow.initial or (
            known is not None and _what_is_asked(known) != _what_is_asked(order)
        ):
            raise InvalidInput(
                f"flow {flow_id} exists for another document, other fields or another request: "
                "choose another --id; nothing was done"
            )
        # the paths given now (their SHA-256 are the stored ones): a stored path may be masked
        resumed.order = (
            order
            if known is None
            else replace(
                known,
                fiscal_code=order.fiscal_code,
                pdf=order.pdf,
                more_documents=order.more_documents,
            )
        )
        if not resumed.history:
            resumed.entered_at = flow.entered_at
        return resumed

    def forget(self, flow_id: str) -> None:
        """Drop what this driver keeps of a flow between steps (its intent, as last read or
        written). A long-lived driver calls it when done with a flow, so it keeps nothing of
        the flows it is not on; :meth:`open` reads the store again."""
        self.journal.forget(flow_id)

    def intent(self, flow: Flow) -> str | None:
        """The open intent of ``flow``, if any."""
        return self.journal.intent(flow.id)


def _what_is_asked(order: Order) -> dict[str, str]:
    """What an order asks, as recorded (masked): the document, its fields, the titles, the
    dossier, the expiry. Where the PDF lies and the timeouts are the stored order's when a flow
    is resumed."""
    return {
        name: redact_text(value) for name, value in order.facts() if name not in _RESUMED_AS_STORED
    }


_RESUMED_AS_STORED = frozenset(
    {"order.pdf", "order.more_pdfs", "order.validation_timeout", "order.activation_timeout"}
)


def _flow_id_of(flow_id: str | None, request_id: str | None) -> str:
    """``open``'s flow id, given by its name or (deprecated) its former name ``request_id``."""
    if request_id is not None:
        warnings.warn(
            "DurableDriver.open(request_id=...) is deprecated: the parameter is flow_id (it "
            "always took a flow's id)",
            DeprecationWarning,
            stacklevel=3,
        )
        if flow_id is not None:
            raise TypeError("DurableDriver.open: give flow_id, not both flow_id and request_id")
        flow_id = request_id
    if flow_id is None:
        raise TypeError("DurableDriver.open() needs the flow's id (flow_id)")
    return flow_id
