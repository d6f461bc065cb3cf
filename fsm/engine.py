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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from transitions import EventData, Machine, MachineError
from transitions import State as MachineState

from .answers import Answer, Kind, Observation
from .audit import EVENT_NAMES, AuditRecord, Outcome, fold
from .errors import ApiError, InvalidInput, TransitionNotAllowed
from .fallback import Fallback
from .guards import Guard
from .ids import check_request_id
from .reasons import Reason
from .redact import redact_text
from .states import INITIAL, TERMINAL, State
from .steps import STEPS, Step, Steps
from .table import BASIS, TABLE, Row
from .validate import validate

DEFAULT_ACTIVATION_TIMEOUT = 120.0
"""Seconds a request may stay READY before its flow fails (the page says "alcuni secondi")."""

_ACCEPTED, _REFUSED, _ERROR = Outcome.ACCEPTED, Outcome.REFUSED, Outcome.ERROR
"""The outcomes, read once: an Enum member is a descriptor lookup each time it is named."""


@dataclass(slots=True, eq=False)
class Flow:
    """One signature request's flow: its state, what it learned, and its audit trail.

    Create flows with :meth:`Engine.new_flow` (or :meth:`Engine.restore` from stored records);
    change them only through :meth:`Engine.fire`.
    """

    id: str
    activation_deadline: float
    state: State = INITIAL
    history: list[AuditRecord] = field(default_factory=list)
    qr_code_url: str | None = None
    io_message_id: str | None = None
    refusal: Kind | None = None
    failure: str | None = None

    @property
    def fallback(self) -> Fallback | None:
        """The fallback for the citizen, once the notification has been refused."""
        if self.refusal is None or self.state not in (
            State.FALLBACK_SUGGESTED,
            State.NOTIFY_REFUSED,
        ):
            return None
        return Fallback.for_refusal(self.id, self.refusal, self.qr_code_url)

    @property
    def is_closed(self) -> bool:
        """Whether the flow reached a terminal state."""
        return self.state in TERMINAL


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
    """transitions' ``State`` with its name and value kept as plain attributes.

    The stock ``name`` and ``value`` are properties that convert an Enum state on every read,
    and a transition reads them six times. Same values, read without a call.
    """

    name: str = ""
    value: Any = None

    def __init__(self, name: str | enum.Enum, *args: Any, **kwargs: Any) -> None:
        super().__init__(name, *args, **kwargs)
        self.name = name.name if isinstance(name, enum.Enum) else name
        self.value = name


class _Machine(Machine):
    """transitions' ``Machine``, finding its states with one dict lookup.

    The stock lookup converts an Enum state to its name on each of the four lookups a
    transition makes. ``State`` is a ``StrEnum`` whose values are its names, so a member is
    already a key of the machine's dict; anything else takes the stock path.
    """

    state_cls = _MachineState

    def get_state(self, state: str | enum.Enum) -> MachineState:
        if isinstance(state, str):
            found = self.states.get(state)
            if found is not None:
                return found
        return super().get_state(state)


class Engine:
    """Fires triggers on flows according to one validated transition table."""

    def __init__(
        self,
        table: Sequence[Row] = TABLE,
        steps: Steps | Iterable[Step] = STEPS,
        *,
        logger: Any = None,
    ) -> None:
        self.steps = steps if isinstance(steps, Steps) else Steps(steps)
        """Each trigger's declared step (:mod:`fsm.steps`), and what is derived from them."""
        validate(table, initial=INITIAL, terminal=TERMINAL, basis=BASIS, steps=self.steps)
        self.table: tuple[Row, ...] = tuple(table)
        self._log = logger if logger is not None else structlog.get_logger("firmaio.fsm")
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

    # -- flows ----------------------------------------------------------------------------------

    def new_flow(
        self, request_id: str, *, now: float, activation_timeout: float = DEFAULT_ACTIVATION_TIMEOUT
    ) -> Flow:
        """A new flow for ``request_id``, in READY; it fails if not activated in time."""
        if activation_timeout <= 0:
            raise InvalidInput(f"activation_timeout must be positive, got {activation_timeout}")
        return Flow(id=check_request_id(request_id), activation_deadline=now + activation_timeout)

    def restore(
        self, request_id: str, activation_deadline: float, records: Iterable[AuditRecord]
    ) -> Flow:
        """Rebuild a flow from its stored records (they are replayed, not re-fired)."""
        flow = Flow(id=check_request_id(request_id), activation_deadline=activation_deadline)
        records = list(records)
        fold(records)  # refuses a trail that is not one flow's history
        for record in records:
            _apply(flow, record)
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
    ) -> AuditRecord:
        """Fire ``trigger`` on ``flow`` with the API's ``answer``; return the audit record.

        ``actor`` (a worker's or tenant's name, never a key) is stamped on the record.

        ``answer`` is what the trigger's one API call returned (``None`` for triggers that make
        no call), or the :class:`ApiError` it raised, which is recorded as an ERROR and changes
        nothing. Raises :class:`TransitionNotAllowed` or :class:`InvalidInput`, before anything
        changes, when the trigger cannot be fired or the answer does not fit it.
        """
        if trigger.__class__ is str or trigger not in self._allowed[flow.state]:
            trigger = self.check_allowed(flow, trigger)
        call = self.steps.by_trigger[trigger].call
        if answer is None:
            if call is not None:
                raise InvalidInput(f"trigger {trigger} needs the answer of {call}")
        elif call is None:
            raise InvalidInput(f"trigger {trigger} makes no API call and takes no answer")
        elif answer.__class__ is not Answer and not isinstance(answer, Answer | ApiError):
            raise InvalidInput(
                f"answer must be an Answer or an ApiError, got {type(answer).__name__}"
            )
        started = now if requested_at is None else requested_at
        source = flow.state
        if isinstance(answer, ApiError):
            record = self._record(flow, trigger, source, _ERROR, (), None, started, now)
            record = _with_error(record, answer)
        else:
            trace: list[tuple[str, bool]] = []
            obs = Observation(answer, now, flow.activation_deadline)
            try:
                accepted = self._events[trigger].trigger(flow, obs=obs, trace=trace)
            except MachineError as exc:  # only if the table and the machine disagree: a bug
                flow.state = source
                raise TransitionNotAllowed(trigger, source) from exc
            except BaseException:
                flow.state = source  # a guard that raised leaves no half-applied transition
                raise
            outcome = _ACCEPTED if accepted else _REFUSED
            trail = tuple(trace)
            record = self._record(flow, trigger, source, outcome, trail, answer, started, now)
        if actor is not None:
            record = record._replace(actor=actor)
        flow.history.append(record)
        _learn(flow, record)
        self._log.info(EVENT_NAMES[record.outcome], **record.log_fields())
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
    ) -> AuditRecord:
        target = flow.state
        if answer is None:
            return AuditRecord(
                flow_id=flow.id, seq=len(flow.history) + 1, trigger=trigger, source=source,
                target=target, outcome=outcome, guards=trace, answer=None, http_status=None,
                request_status=None, io_message_id=None, qr_code_url=None, detail=None,
                reason=None, requested_at=started, decided_at=now,
            )  # fmt: skip
        if outcome is _REFUSED:
            shown = answer.kind if answer.status is None else f"{answer.kind} {answer.status}"
            reason: str | None = f"no guard held for the answer ({shown})"
        else:
            why = self._reasons.get((source, trigger, trace[-1][0] if trace else None))
            reason = None if why is None else why(answer)
        detail = answer.detail
        return AuditRecord(
            flow_id=flow.id, seq=len(flow.history) + 1, trigger=trigger, source=source,
            target=target, outcome=outcome, guards=trace, answer=answer.kind,
            http_status=answer.http_status, request_status=answer.status,
            io_message_id=answer.io_message_id, qr_code_url=answer.qr_code_url,
            detail=None if detail is None else redact_text(detail), reason=reason,
            requested_at=started, decided_at=now,
        )  # fmt: skip


def _with_error(record: AuditRecord, error: ApiError) -> AuditRecord:
    return record._replace(
        detail=redact_text(str(error)),
        reason=f"no usable answer from the API ({type(error).__name__})",
    )


def _apply(flow: Flow, record: AuditRecord) -> None:
    """Replay one stored record onto a flow being restored."""
    flow.history.append(record)
    if record.outcome is Outcome.ACCEPTED:
        flow.state = record.target
    _learn(flow, record)


def _learn(flow: Flow, record: AuditRecord) -> None:
    """Keep on the flow what an accepted record taught it; only the record is read, so a flow
    restored from its records learns exactly the same."""
    if record.outcome is not _ACCEPTED:
        return
    if record.qr_code_url:
        flow.qr_code_url = record.qr_code_url
    if record.target is State.NOTIFIED and record.io_message_id:
        flow.io_message_id = record.io_message_id
    elif record.target is State.NOTIFY_REFUSED and record.answer is not None:
        flow.refusal = Kind(record.answer)
    elif record.target is State.FAILED:
        flow.failure = record.reason


_DEFAULT: list[Engine] = []


def default_engine() -> Engine:
    """The engine of the built-in table, built on first use and shared."""
    if not _DEFAULT:
        _DEFAULT.append(Engine())
    return _DEFAULT[0]
