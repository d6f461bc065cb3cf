"""What firing each trigger takes, declared once, beside the transition table.

The table (:mod:`fsm.table`) says where a trigger leads under which guard; a :class:`Step` says
what the trigger *does*: the one issuer-API call it makes, whether that call has effects a crash
could leave unknown (the notification opens an *intent* first), and the states from which the
driver fires it on its own. Everything the rest of the code needs to know about triggers is
derived from :data:`STEPS` by :class:`Steps`:

* which call the driver makes for a trigger (:meth:`Steps.call_of`);
* what the driver fires next from each state (:attr:`Steps.next_step`);
* which states still need driving, and so which a store's workers claim (:attr:`Steps.driven`),
  and the resting states where a driver stops (:attr:`Steps.resting`);
* which trigger opens the notification intent and which settles it after a crash.

Adding a trigger means one :class:`~fsm.table.Row` per outcome and one :class:`Step`; the engine
refuses a table and a declaration that disagree (:func:`fsm.validate.check_steps`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from .errors import InvalidDefinition
from .states import State, Trigger


class ApiCall(enum.StrEnum):
    """The one issuer-API call a trigger needs, if any."""

    READ_STATUS = "read_status"
    """The request's status only: a driver may serve it from the dossier listing."""
    GET_REQUEST = "get_request"
    """The whole request, its notification included: always ``GET /signature-requests/{id}``."""
    SEND_NOTIFICATION = "send_notification"
    CANCEL_REQUEST = "cancel_request"


@dataclass(frozen=True, slots=True)
class Step:
    """What firing ``trigger`` takes, and when the driver fires it by itself."""

    trigger: str
    """A :class:`~fsm.states.Trigger` (or a ``StrEnum`` member of your own table's)."""
    call: ApiCall | None
    """The one API call the driver makes before firing; None for a trigger that makes none."""
    fired_from: frozenset[State] = frozenset()
    """States from which :meth:`fsm.Driver.advance` fires this trigger: a flow in one of them
    still needs driving. Empty for triggers fired only on request (cancel, status checks)."""
    opens_intent: bool = False
    """The call has effects the service does not make idempotent (an IO message): a durable
    driver records its intent before calling, and the answer's record closes it."""
    recovers_intent: bool = False
    """Fired first on a flow loaded with an open intent: it reads before anything is sent
    again, and its record closes the intent."""


STEPS: tuple[Step, ...] = (
    Step(Trigger.CHECK_ACTIVATION, ApiCall.READ_STATUS, frozenset({State.READY})),
    Step(
        Trigger.NOTIFY,
        ApiCall.SEND_NOTIFICATION,
        frozenset({State.WAIT_FOR_SIGNATURE}),
        opens_intent=True,
    ),
    Step(Trigger.SUGGEST_FALLBACK, None, frozenset({State.NOTIFY_REFUSED})),
    Step(Trigger.CHECK_STATUS, ApiCall.READ_STATUS),
    Step(Trigger.CANCEL, ApiCall.CANCEL_REQUEST),
    Step(Trigger.RECOVER_NOTIFICATION, ApiCall.GET_REQUEST, recovers_intent=True),
)
"""Each trigger's step: the one declaration beside :data:`fsm.table.TABLE`."""


class Steps:
    """The step declarations, checked, with everything derived from them."""

    def __init__(self, steps: Iterable[Step] = STEPS, states: Iterable[State] = State) -> None:
        self.steps: tuple[Step, ...] = tuple(steps)
        problems = _problems(self.steps)
        if problems:
            raise InvalidDefinition(problems)
        self.by_trigger: Mapping[str, Step] = {str(s.trigger): s for s in self.steps}
        self.next_step: Mapping[State, str] = {
            state: step.trigger for step in self.steps for state in step.fired_from
        }
        """What the driver fires from each state that still needs driving."""
        self.driven: frozenset[State] = frozenset(self.next_step)
        """States a flow still needs driving from (a store's workers claim them)."""
        self.resting: frozenset[State] = frozenset(states) - self.driven
        """States where the driver stops: nothing happens until the citizen or issuer acts."""
        self.intent_opener: str | None = next(
            (s.trigger for s in self.steps if s.opens_intent), None
        )
        self.recovery: str | None = next((s.trigger for s in self.steps if s.recovers_intent), None)

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    def __getitem__(self, trigger: str) -> Step:
        return self.by_trigger[trigger]

    def call_of(self, trigger: str) -> ApiCall | None:
        """The API call ``trigger`` makes, if any."""
        return self.by_trigger[trigger].call

    def closes_intent(self, trigger: str) -> bool:
        """Whether the record of ``trigger`` closes an open intent."""
        step = self.by_trigger[trigger]
        return step.opens_intent or step.recovers_intent


def _problems(steps: tuple[Step, ...]) -> list[str]:
    problems: list[str] = []
    names = [str(s.trigger) for s in steps]
    problems.extend(
        f"trigger {name} is declared by more than one step"
        for name in sorted({n for n in names if names.count(n) > 1})
    )
    fired: dict[State, list[str]] = {}
    for step in steps:
        for state in step.fired_from:
            fired.setdefault(state, []).append(str(step.trigger))
    problems.extend(
        f"the driver would fire {' and '.join(sorted(triggers))} from {state}: one step per state"
        for state, triggers in fired.items()
        if len(triggers) > 1
    )
    for flag in ("opens_intent", "recovers_intent"):
        flagged = [str(s.trigger) for s in steps if getattr(s, flag)]
        if len(flagged) > 1:
            problems.append(f"only one step may set {flag}, not {', '.join(flagged)}")
    openers = [s for s in steps if s.opens_intent]
    if openers and not any(s.recovers_intent for s in steps):
        problems.append(f"{openers[0].trigger} opens an intent, but no step recovers it")
    problems.extend(
        f"{s.trigger} opens an intent but makes no API call"
        for s in steps
        if s.opens_intent and s.call is None
    )
    problems.extend(
        f"{s.trigger} recovers an intent but does not read the whole request"
        for s in steps
        if s.recovers_intent and s.call is not ApiCall.GET_REQUEST
    )
    return problems


DEFAULT_STEPS = Steps()
"""The built-in declarations, checked once."""

CALL_OF: Mapping[str, ApiCall | None] = {s.trigger: s.call for s in STEPS}
"""Which API call each built-in trigger makes (derived from :data:`STEPS`)."""

RESTING: frozenset[State] = DEFAULT_STEPS.resting
"""States where the driver stops (derived from :data:`STEPS`): nothing more happens until the
citizen or the issuer acts."""
