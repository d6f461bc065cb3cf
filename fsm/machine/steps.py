"""What firing each trigger takes, declared once, beside the transition table.

The table (:mod:`fsm.machine.table`) says where a trigger leads under which guard; a
:class:`Step` says what the trigger *does*: the one issuer-API call it makes, whether that call
has effects a crash could leave unknown (the notification opens an *intent* first), and the
states from which the driver fires it on its own. Everything the rest of the code needs to
know about triggers is derived from :data:`STEPS` by :class:`Steps`:

* which call the driver makes for a trigger (:meth:`Steps.call_of`);
* what the driver fires next from each state (:attr:`Steps.next_step`);
* which states still need driving, and so which a store's workers claim (:attr:`Steps.driven`),
  and the resting states where a driver stops (:attr:`Steps.resting`);
* which trigger is the notification (:attr:`Steps.notification`), and which settles its intent
  after a crash.

Adding a trigger means one :class:`~fsm.machine.table.Row` per outcome and one :class:`Step` (and,
for a new call, an entry in the call registry); the engine refuses a table, declarations and a
registry that disagree (:func:`fsm.machine.validate.validate`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from ..errors import InvalidDefinition
from .states import State, Trigger


class ApiCall(enum.StrEnum):
    """The built-in calls: the issuer-API call a trigger makes, by name. The driver makes each
    as its engine's call registry says (:data:`fsm.driving.calls.CALLS`)."""

    READ_STATUS = "read_status"
    """The request's status only: a driver may serve it from the dossier listing."""
    GET_REQUEST = "get_request"
    """The whole request, its notification included: always ``GET /signature-requests/{id}``."""
    SEND_NOTIFICATION = "send_notification"
    CANCEL_REQUEST = "cancel_request"
    # the issuer's set-up (:class:`~fsm.ports.SetupApi`) and after SIGNED
    FIND_SIGNER = "find_signer"
    VALIDATE_DOCUMENT = "validate_document"
    OPEN_DOSSIER = "open_dossier"
    CREATE_REQUEST = "create_request"
    FIND_CREATED_REQUEST = "find_created_request"
    """The dossier's listing, for the signer's request made since the intent (then that
    request, for its document's id)."""
    GET_UPLOAD_URL = "get_upload_url"
    UPLOAD_DOCUMENT = "upload_document"
    READ_DOCUMENT = "read_document"
    """The request, for its document's status."""
    MARK_READY = "mark_ready"
    FETCH_SIGNED = "fetch_signed"
    """The SIGNED request, then each signed document from its URL."""


@dataclass(frozen=True, slots=True)
class Step:
    """What firing ``trigger`` takes, and when the driver fires it by itself."""

    trigger: str
    """A :class:`~fsm.machine.states.Trigger` (or a ``StrEnum`` member of your own table's)."""
    call: str | None
    """The one API call the driver makes before firing, by name (an :class:`ApiCall`, or a call
    your own registry adds: :mod:`fsm.driving.calls`); None for a trigger that makes none."""
    fired_from: frozenset[State] = frozenset()
    """States from which :meth:`fsm.Driver.advance` fires this trigger: a flow in one of them
    still needs driving. Empty for triggers fired only on request (cancel, status checks)."""
    opens_intent: bool = False
    """The call has effects the service does not make idempotent (an IO message, a new
    request, an upload): a durable driver records its intent before calling, and the answer's
    record closes it."""
    recovers: str | None = None
    """The intent-opening trigger this step recovers: fired first on a flow loaded with that
    intent open (or whose last such call had no usable answer), it reads before anything is
    done again, and its record closes the intent."""
    takes_input: bool = False
    """No API call: the operator's input is the answer (the fallback's delivery channel)."""
    resends: bool = False
    """The notification: tried again from a resting state after a passing refusal
    (:class:`~fsm.driving.resend.ResendPolicy`, :meth:`~fsm.driving.driver.Driver.renotify`)."""

    @property
    def recovers_intent(self) -> bool:
        """Whether this step recovers an intent."""
        return self.recovers is not None


def _on(state: State) -> frozenset[State]:
    return frozenset({state})


STEPS: tuple[Step, ...] = (
    # the issuer's set-up, from a PDF to READY
    Step(Trigger.FIND_SIGNER, ApiCall.FIND_SIGNER, _on(State.RECEIVED)),
    Step(Trigger.CHECK_DOCUMENT, ApiCall.VALIDATE_DOCUMENT, _on(State.SIGNER_FOUND)),
    Step(Trigger.OPEN_DOSSIER, ApiCall.OPEN_DOSSIER, _on(State.DOCUMENT_CHECKED)),
    Step(
        Trigger.CREATE_REQUEST,
        ApiCall.CREATE_REQUEST,
        _on(State.DOSSIER_CHOSEN),
        opens_intent=True,
    ),
    Step(Trigger.RECOVER_REQUEST, ApiCall.FIND_CREATED_REQUEST, recovers=Trigger.CREATE_REQUEST),
    Step(Trigger.GET_UPLOAD_URL, ApiCall.GET_UPLOAD_URL, _on(State.DRAFT_CREATED)),
    Step(
        Trigger.UPLOAD_DOCUMENT,
        ApiCall.UPLOAD_DOCUMENT,
        _on(State.UPLOAD_URL_ISSUED),
        opens_intent=True,
    ),
    Step(Trigger.RECOVER_UPLOAD, ApiCall.READ_DOCUMENT, recovers=Trigger.UPLOAD_DOCUMENT),
    Step(Trigger.CHECK_VALIDATION, ApiCall.READ_DOCUMENT, _on(State.DOCUMENT_UPLOADED)),
    Step(Trigger.MARK_READY, ApiCall.MARK_READY, _on(State.DOCUMENT_VALIDATED)),
    # the card's spine, and beside it
    Step(Trigger.CHECK_ACTIVATION, ApiCall.READ_STATUS, _on(State.READY)),
    Step(
        Trigger.NOTIFY,
        ApiCall.SEND_NOTIFICATION,
        _on(State.WAIT_FOR_SIGNATURE),
        opens_intent=True,
        resends=True,
    ),
    Step(Trigger.SUGGEST_FALLBACK, None, _on(State.NOTIFY_REFUSED)),
    Step(Trigger.CHECK_STATUS, ApiCall.READ_STATUS),
    Step(Trigger.CANCEL, ApiCall.CANCEL_REQUEST),
    Step(Trigger.RECOVER_NOTIFICATION, ApiCall.GET_REQUEST, recovers=Trigger.NOTIFY),
    Step(Trigger.DELIVER_FALLBACK, None, takes_input=True),
    Step(Trigger.FETCH_DOCUMENTS, ApiCall.FETCH_SIGNED),
)
"""Each trigger's step: the one declaration beside :data:`fsm.machine.table.TABLE`."""


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
        self.recovery_of: Mapping[str, str] = {
            str(s.recovers): s.trigger for s in self.steps if s.recovers is not None
        }
        """For each intent-opening trigger, the step that recovers it."""
        self.notification: str | None = next(
            (s.trigger for s in self.steps if s.resends and s.opens_intent), None
        )
        """The notification's trigger: the step that opens an intent and is tried again after
        a refusal (None if no step does)."""
        self.notification_recovery: str | None = (
            None if self.notification is None else self.recovery_of.get(self.notification)
        )
        """The step that recovers the notification's intent."""

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    def __getitem__(self, trigger: str) -> Step:
        return self.by_trigger[trigger]

    def call_of(self, trigger: str) -> str | None:
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
    resenders = [str(s.trigger) for s in steps if s.resends]
    if len(resenders) > 1:
        problems.append(f"only one step may set resends, not {', '.join(resenders)}")
    openers = {str(s.trigger) for s in steps if s.opens_intent}
    recovered = [str(s.recovers) for s in steps if s.recovers is not None]
    problems.extend(
        f"{name} opens an intent, but no step recovers it"
        for name in sorted(openers - set(recovered))
    )
    problems.extend(
        f"a step recovers {name}, which opens no intent"
        for name in sorted(set(recovered) - openers)
    )
    problems.extend(
        f"{name} is recovered by more than one step"
        for name in sorted({n for n in recovered if recovered.count(n) > 1})
    )
    problems.extend(
        f"{s.trigger} takes the operator's input, so it makes no API call"
        for s in steps
        if s.takes_input and s.call is not None
    )
    problems.extend(
        f"{s.trigger} opens an intent but makes no API call"
        for s in steps
        if s.opens_intent and s.call is None
    )
    problems.extend(
        f"{s.trigger} recovers an intent but makes no API call"
        for s in steps
        if s.recovers_intent and s.call is None
    )
    problems.extend(
        f"{s.trigger} recovers the notification but does not read the whole request"
        for s in steps
        if s.recovers is not None
        and s.recovers in resenders
        and s.call not in (None, ApiCall.GET_REQUEST)
    )
    return problems


DEFAULT_STEPS = Steps()
"""The built-in declarations, checked once."""

RESTING: frozenset[State] = DEFAULT_STEPS.resting
"""States where the driver stops (derived from :data:`STEPS`): nothing more happens until the
citizen or the issuer acts."""
