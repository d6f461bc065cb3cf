"""The engine: one ``transitions`` machine, built once from the table, shared by every flow.

This is the only module that imports ``transitions``. The machine is built with
``auto_transitions=False`` and ``send_event=True``; each row's guard becomes a condition that
also records its result. Flows are small objects that the machine drives without registering
them (``add_model`` scans a list on every call, which does not scale to many flows): the engine
calls the machine's event directly with the flow as model.

Callers use :meth:`Engine.fire`, never generated trigger methods.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import structlog
from transitions import EventData, Machine, MachineError
from transitions import State as MachineState

from ..errors import ApiError, InvalidDefinition, InvalidInput, TransitionNotAllowed
from ..logs import get_logger
from ..machine.answers import Answer, Observation
from ..trail.reading import check_trail, row_index
from ..trail.record import EVENT_NAMES, AuditRecord, Outcome, fold
from .calls import CALLS, Call, registry
from .flow import Flow, apply_record, facts_of, learn

__all__ = ["DEFAULT_ACTIVATION_TIMEOUT", "Engine", "Flow", "default_engine"]
from ..ids import check_request_id
from ..machine.order import DEFAULT_ACTIVATION_TIMEOUT, Order
from ..machine.reasons import Reason, no_guard_held
from ..machine.states import ENTRIES, INITIAL, ISSUER_INITIAL, SETUP_ONLY, TERMINAL, State
from ..machine.steps import STEPS, Step, Steps
from ..machine.table import BASIS, TABLE, Row
from ..machine.types import Guard
from ..machine.validate import validate
from ..machine.versions import VERSIONS, TableVersions
from ..redact import redact_text

_ACCEPTED, _REFUSED, _ERROR = Outcome.ACCEPTED, Outcome.REFUSED, Outcome.ERROR
"""The outcomes, read once: an Enum member is a descriptor lookup each time it is named."""

_new = tuple.__new__  # a record from all its fields in order: AuditRecord() takes them by name
_LAZY_PROXY = type(structlog.get_logger())


def _condition(guard: Guard) -> Callable[[EventData], bool]:
    """Wrap a guard as a transitions condition that records its result on the event."""
    name = guard.__name__

    def check(event: EventData) -> bool:
        held = guard(event.kwargs["obs"])
        event.kwargs["trace"].append((name, held))
        return held

    check.__name__ = name
    return check


class _MachineState(MachineState):
    """transitions' ``State`` with its name and value as plain attributes: the stock ones are
    properties that convert an Enum state on every read, six reads per transition."""

    name: str = ""
    value: Any = None

    def __init__(self, name: str | enum.Enum, *args: Any, **kwargs: Any) -> None:
        super().__init__(name, *args, **kwargs)
        self.name = name.name if isinstance(name, enum.Enum) else name
        self.value = name


class _Machine(Machine):
    """transitions' ``Machine``, finding its states with one dict lookup (the stock one converts
    an Enum state to its name four times per transition; a ``State`` member is already a key)."""

    state_cls = _MachineState

    def get_state(self, state: str | enum.Enum) -> MachineState:
        if isinstance(state, str):
            found = self.states.get(state)
            if found is not None:
                return found
        return super().get_state(state)


class Engine:
    """Fires triggers on flows by one validated table, stamping its version on every record."""

    def __init__(
        self,
        table: Sequence[Row] = TABLE,
        steps: Steps | Iterable[Step] = STEPS,
        *,
        calls: Mapping[str, Call[Any]] = CALLS,
        logger: Any = None,
        versions: TableVersions = VERSIONS,
    ) -> None:
        self.steps = steps if isinstance(steps, Steps) else Steps(steps)
        """Each trigger's declared step (:mod:`fsm.machine.steps`), and what is derived from
        them."""
        self.calls = registry(calls)
        """How the driver makes each step's call, by name (:mod:`fsm.driving.calls`); a step
        whose call has no entry is refused here."""
        uses_setup = any(row.source is ISSUER_INITIAL for row in table)
        validate(
            table,
            initial=ENTRIES if uses_setup else INITIAL,
            terminal=TERMINAL,
            basis=BASIS,
            states=State if uses_setup else [s for s in State if s not in SETUP_ONLY],
            steps=self.steps,
            calls=self.calls,
        )
        if problems := versions.row_problems(table):
            raise InvalidDefinition(problems)
        self.table: tuple[Row, ...] = tuple(table)
        self.versions, self.version = versions, versions.version
        self._rows = row_index(self.table)
        self._log = logger if logger is not None else get_logger("firmaio.fsm")
        self._info: Callable[..., Any] | None = None  # its info, once it can be kept
        allowed: dict[State, list[str]] = {state: [] for state in State}
        for row in self.table:
            if row.trigger not in allowed[row.source]:
                allowed[row.source].append(row.trigger)
        self._allowed = {state: tuple(triggers) for state, triggers in allowed.items()}
        self._reasons: dict[tuple[State, str, str | None], Reason | None] = {
            (row.source, str(row.trigger), row.guard_name): row.reason for row in self.table
        }
        """Each row's reason, found by the guard that held (a row's guards are unique)."""
        self.machine = _Machine(
            model=None,
            states=State,
            initial=INITIAL,
            transitions=[
                {
                    "trigger": str(row.trigger),
                    "source": row.source,
                    # a row that keeps the state is an internal transition: no exit, no entry
                    "dest": None if row.target is row.source else row.target,
                    "conditions": [] if row.guard is None else [_condition(row.guard)],
                }
                for row in self.table
            ],
            auto_transitions=False,
            send_event=True,
        )
        self._events = {step.trigger: self.machine.events[str(step.trigger)] for step in self.steps}
        self._calls = frozenset(step.trigger for step in self.steps if step.call is not None)
        """Triggers whose answer is an API call's: an Answer needs no further check."""

    # -- flows ----------------------------------------------------------------------------------

    def new_flow(
        self, request_id: str, *, now: float, activation_timeout: float = DEFAULT_ACTIVATION_TIMEOUT
    ) -> Flow:
        """A new flow for ``request_id``, in READY; it fails if not activated in time."""
        if activation_timeout <= 0:
            raise InvalidInput(f"activation_timeout must be positive, got {activation_timeout}")
        return Flow(id=check_request_id(request_id), activation_deadline=now + activation_timeout)

    def new_order_flow(self, flow_id: str, order: Order, *, now: float) -> Flow:
        """A new flow for ``order`` (a PDF to have signed), in RECEIVED, with id ``flow_id`` (the
        request's id is learned when the service makes it). The order is checked first."""
        order.check()
        return Flow(
            id=check_request_id(flow_id),
            activation_deadline=now + order.activation_timeout,
            state=ISSUER_INITIAL,
            initial=ISSUER_INITIAL,
            order=order,
            entered_at=now,
        )

    def restore(
        self,
        request_id: str,
        activation_deadline: float,
        records: Iterable[AuditRecord],
        *,
        initial: State | None = None,
    ) -> Flow:
        """Rebuild a flow from its stored records (they are replayed, not re-fired). A flow
        from a PDF starts where its first record does (or at ``initial``, with no record).
        A trail not made of this table's rows is refused (:func:`fsm.trail.reading.check_trail`)."""
        records = list(records)
        check_trail(request_id, records, self._rows, self.version, self._log)
        if initial is None:
            first = records[0].source if records else INITIAL
            initial = first if first in ENTRIES else INITIAL
        flow = Flow(
            id=check_request_id(request_id),
            activation_deadline=activation_deadline,
            state=initial,
            initial=initial,
        )
        fold(records, initial)  # refuses a trail that is not one flow's history
        for record in records:
            apply_record(flow, record)
        flow.order = Order.from_facts(flow.facts)
        return flow

    def allowed(self, state: State) -> tuple[str, ...]:
        """The triggers that have at least one row from ``state``."""
        return self._allowed[state]

    def check_allowed(self, flow: Flow, trigger: str) -> str:
        """Return ``trigger`` as declared (a :class:`Trigger` for the built-in table) if ``flow``
        may fire it now, else raise."""
        step = self.steps.by_trigger.get(trigger)
        if step is None:
            known = ", ".join(str(s.trigger) for s in self.steps)
            raise InvalidInput(f"unknown trigger {trigger!r} (known: {known})")
        if step.trigger not in self._allowed[flow.state]:
            raise TransitionNotAllowed(
                step.trigger, flow.state, tuple(map(str, self._allowed[flow.state]))
            )
        return step.trigger

    # -- firing ---------------------------------------------------------------------------------

    def fire(
        self,
        flow: Flow,
        trigger: str,
        answer: Answer | ApiError | None = None,
        *,
        now: float,
        requested_at: float | None = None,
        actor: str | None = None,
        checked: bool = False,
    ) -> AuditRecord:
        """Fire ``trigger`` on ``flow`` with the API's ``answer``; return the audit record.

        ``actor`` (a worker's or tenant's name, never a key) is stamped on the record.
        ``checked``: ``trigger`` is what :meth:`check_allowed` returned for the flow's state
        (a driver checks once, before its call), so it is not checked again.

        ``answer`` is what the trigger's one API call returned (``None`` for triggers that make
        no call), or the :class:`ApiError` it raised, which is recorded as an ERROR and changes
        nothing. Raises :class:`TransitionNotAllowed` or :class:`InvalidInput`, before anything
        changes, when the trigger cannot be fired or the answer does not fit it.
        """
        if not checked and (trigger.__class__ is str or trigger not in self._allowed[flow.state]):
            trigger = self.check_allowed(flow, trigger)
        if answer.__class__ is not Answer or trigger not in self._calls:  # not the hot path
            self._check_answer(trigger, answer)
        started = now if requested_at is None else requested_at
        source = flow.state
        if isinstance(answer, ApiError):
            record = _new(AuditRecord, (  # the answer that was not usable, if one came
                flow.id, len(flow.history) + 1, trigger, source, source, _ERROR, (), None,
                answer.http_status, None, None, None, redact_text(str(answer)),
                f"no usable answer from the API ({type(answer).__name__})", started, now, actor,
                None, self.version,
            ))  # fmt: skip
        else:
            trace: list[tuple[str, bool]] = []
            deadline = flow.activation_deadline if flow.order is None else flow.deadline()
            obs = _new(Observation, (answer, now, deadline))
            try:
                accepted = self._events[trigger].trigger(flow, obs=obs, trace=trace)
            except MachineError as exc:  # only if the table and the machine disagree: a bug
                flow.state = source
                raise TransitionNotAllowed(trigger, source) from exc
            except BaseException:
                flow.state = source  # a guard that raised leaves no half-applied transition
                raise
            outcome = _ACCEPTED if accepted else _REFUSED
            record = self._record(
                flow, trigger, source, outcome, tuple(trace), answer, started, now, actor
            )
        return self._keep(flow, record, answer)

    def _check_answer(self, trigger: str, answer: Answer | ApiError | None) -> None:
        """Refuse an answer that does not fit ``trigger``'s step, before anything changes."""
        step = self.steps.by_trigger[trigger]
        call = step.call
        if answer is None:
            if call is not None or step.takes_input:
                raise InvalidInput(f"trigger {trigger} needs the answer of {call or 'its input'}")
        elif call is None and not step.takes_input:
            raise InvalidInput(f"trigger {trigger} makes no API call and takes no answer")
        elif answer.__class__ is not Answer and not isinstance(answer, Answer | ApiError):
            raise InvalidInput(
                f"answer must be an Answer or an ApiError, got {type(answer).__name__}"
            )

    def _keep(
        self, flow: Flow, record: AuditRecord, answer: Answer | ApiError | None
    ) -> AuditRecord:
        """Stamp the record's facts, keep it on the flow, learn from it, log it."""
        told = answer.__class__ is Answer and answer.facts
        if told or flow.order is not None:  # the spine's hot path has neither
            facts = facts_of(flow, answer)
            if facts:
                record = record._replace(facts=facts)
        flow.history.append(record)
        learn(flow, record)
        if record.outcome is _ACCEPTED and isinstance(answer, Answer) and answer.upload_url:
            flow.upload_url = answer.upload_url  # in memory only: a bearer credential
        info = self._info
        if info is None:  # kept once structlog's lazy proxy caches its logger (it then returns
            info = self._log.info  # that one whatever the configuration becomes); the CLI's
            if type(self._log) is _LAZY_PROXY and "bind" in vars(self._log):  # does not cache
                self._info = info
        info(EVENT_NAMES[record.outcome], **record.log_fields())
        return record

    def _record(
        self,
        flow: Flow,
        trigger: str,
        source: State,
        outcome: Outcome,
        trace: tuple[tuple[str, bool], ...],
        answer: Answer | None,
        started: float,
        now: float,
        actor: str | None,
    ) -> AuditRecord:
        if answer is None:
            return _new(AuditRecord, (
                flow.id, len(flow.history) + 1, trigger, source, flow.state, outcome, trace, None,
                None, None, None, None, None, None, started, now, actor, None, self.version,
            ))  # fmt: skip
        if outcome is _REFUSED:
            reason: str | None = no_guard_held(answer)
        else:
            why = self._reasons.get((source, trigger, trace[-1][0] if trace else None))
            reason = None if why is None else why(answer)
        detail = answer.detail
        return _new(AuditRecord, (
            flow.id, len(flow.history) + 1, trigger, source, flow.state, outcome, trace,
            answer.kind, answer.http_status, answer.status, answer.io_message_id,
            answer.qr_code_url, None if detail is None else redact_text(detail), reason, started,
            now, actor, None, self.version,
        ))  # fmt: skip


_DEFAULT: list[Engine] = []


def default_engine() -> Engine:
    """The engine of the built-in table, built on first use and shared."""
    if not _DEFAULT:
        _DEFAULT.append(Engine())
    return _DEFAULT[0]
