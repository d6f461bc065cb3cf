"""Fakes of the ports, for test suites that drive flows step by step (ours and yours).

``ScriptedApi`` answers each call with the next scripted answer and records the calls (it is a
:class:`~fsm.ports.SignatureApi` and a :class:`~fsm.ports.SetupApi`: give it to a driver as
both); ``ManualClock`` moves only when slept on, so tests never wait for real. :func:`witness`
gives an answer under which a guard holds, :data:`EXAMPLE_ORDER` a PDF to start a flow from, and
:func:`flow_in` a flow already in any state, with the valid history that brought it there. The
pytest plugin (``firmaio.adapters.pytest_plugin``) serves them as fixtures.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from .diagrams.paths import entries, path_to
from .driving.engine import Engine, Flow, default_engine
from .errors import ApiError, InvalidInput
from .machine import setup_guards as s
from .machine import spine_guards as g
from .machine.answers import Answer
from .machine.examples import (
    EXAMPLE_DOCUMENT_ID,
    EXAMPLE_DOSSIER_ID,
    EXAMPLE_IO_MESSAGE_ID,
    EXAMPLE_NEW_REQUEST_ID,
    EXAMPLE_QR_CODE_URL,
    EXAMPLE_REQUEST_ID,
    EXAMPLE_SIGNER_ID,
    EXAMPLE_UPLOAD_URL,
)
from .machine.order import Order
from .machine.states import ISSUER_INITIAL, State
from .machine.types import Guard, witness_of

__all__ = [
    "EXAMPLE_DOCUMENT_ID",
    "EXAMPLE_DOSSIER_ID",
    "EXAMPLE_IO_MESSAGE_ID",
    "EXAMPLE_NEW_REQUEST_ID",
    "EXAMPLE_ORDER",
    "EXAMPLE_QR_CODE_URL",
    "EXAMPLE_REQUEST_ID",
    "EXAMPLE_SIGNER_ID",
    "EXAMPLE_UPLOAD_URL",
    "LATE_GUARDS",
    "ManualClock",
    "ScriptedApi",
    "flow_in",
    "witness",
]


class ManualClock:
    """A clock that starts at ``start`` and advances only by :meth:`sleep` or :meth:`advance`."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        """The current fake time."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward without sleeping."""
        self._now += seconds

    async def sleep(self, seconds: float) -> None:
        """Record the wait and move time forward by it, at once."""
        self.sleeps.append(seconds)
        self._now += seconds


class ScriptedApi:
    """A :class:`~fsm.ports.SignatureApi` that replays scripted answers, in order.

    Each call takes the next item: an :class:`Answer` is returned, an :class:`ApiError` raised.
    ``calls`` lists ``(method, request_id)`` for every call made.
    """

    def __init__(self, answers: Iterable[Answer | ApiError] = ()) -> None:
        self._script: deque[Answer | ApiError] = deque(answers)
        self.calls: list[tuple[str, str]] = []
        self.arguments: list[dict[str, object]] = []
        """The other arguments of each call, by name, in the order of :attr:`calls`."""

    def script(self, *answers: Answer | ApiError) -> None:
        """Append answers to the script."""
        self._script.extend(answers)

    @property
    def remaining(self) -> int:
        """How many scripted answers are left."""
        return len(self._script)

    def next_answer(self, method: str, request_id: str = "", **arguments: object) -> Answer:
        """Record the call ``method`` (on ``request_id``, with ``arguments``) and return the next
        scripted answer, or raise the next scripted error: each method below is this, and a fake
        of a call of your own (a subclass's method) is too."""
        self.calls.append((method, request_id))
        self.arguments.append(arguments)
        if not self._script:
            raise LookupError(f"ScriptedApi has no answer left for {method}({request_id!r})")
        item = self._script.popleft()
        if isinstance(item, ApiError):
            raise item
        return item

    async def get_request(self, request_id: str) -> Answer:
        """The next scripted answer."""
        return self.next_answer("get_request", request_id)

    async def send_notification(self, request_id: str) -> Answer:
        """The next scripted answer."""
        return self.next_answer("send_notification", request_id)

    async def cancel_request(self, request_id: str) -> Answer:
        """The next scripted answer."""
        return self.next_answer("cancel_request", request_id)

    # -- the issuer's set-up (SetupApi) -----------------------------------------------------

    async def find_signer(self, fiscal_code: str) -> Answer:
        """The next scripted answer (the fiscal code is not kept)."""
        del fiscal_code
        return self.next_answer("find_signer", "")

    async def validate_document(self, order: Order) -> Answer:
        """The next scripted answer."""
        return self.next_answer("validate_document", "", order=order)

    async def open_dossier(self, order: Order) -> Answer:
        """The next scripted answer."""
        return self.next_answer("open_dossier", order.dossier_id or "", order=order)

    async def create_request(
        self, order: Order, dossier_id: str, signer_id: str, expires_at: str
    ) -> Answer:
        """The next scripted answer."""
        return self.next_answer(
            "create_request", dossier_id, order=order, signer_id=signer_id, expires_at=expires_at
        )

    async def find_created_request(
        self, dossier_id: str, signer_id: str, expires_at: str
    ) -> Answer:
        """The next scripted answer."""
        return self.next_answer(
            "find_created_request", dossier_id, signer_id=signer_id, expires_at=expires_at
        )

    async def get_upload_url(self, request_id: str, document_id: str) -> Answer:
        """The next scripted answer."""
        return self.next_answer("get_upload_url", request_id, document_id=document_id)

    async def upload_document(self, upload_url: str, order: Order) -> Answer:
        """The next scripted answer (the upload URL, a credential, is not kept)."""
        del upload_url
        return self.next_answer("upload_document", "", order=order)

    async def read_document(self, request_id: str, document_id: str) -> Answer:
        """The next scripted answer."""
        return self.next_answer("read_document", request_id, document_id=document_id)

    async def mark_ready(self, request_id: str) -> Answer:
        """The next scripted answer."""
        return self.next_answer("mark_ready", request_id)

    async def fetch_signed(self, request_id: str) -> Answer:
        """The next scripted answer."""
        return self.next_answer("fetch_signed", request_id)


EXAMPLE_ORDER = Order.checked(
    pdf="/srv/firmaio/inbox/contratto-di-servizio.pdf",
    pdf_sha256="9f2c4e7a1b3d5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8",
    pdf_size=48_213,
    fields=(
        {
            "attrs": {"unique_name": "firma_richiedente"},
            "clause": {"title": "Firma del richiedente", "type": "REQUIRED"},
        },
    ),
    document_title="Contratto di servizio",
    dossier_title="Contratti di servizio 2027",
    fiscal_code="RSSMRA80A01H501U",
)
"""A made-up PDF to start a flow from (:meth:`~fsm.Engine.new_order_flow`), with the fiscal
code of a made-up citizen held in memory."""

LATE_GUARDS: frozenset[Guard] = frozenset(
    {g.activation_deadline_passed, s.validation_deadline_passed}
)
"""Guards that hold only once the deadline of the flow's wait has passed (the activation
deadline in READY, the validation deadline in DOCUMENT_UPLOADED: :meth:`Flow.deadline`)."""


def witness(guard: Guard) -> Answer:
    """An API answer under which ``guard`` holds (and its siblings don't): the one declared
    beside the guard (:func:`~fsm.machine.types.witnessed_by`).

    For a guard in :data:`LATE_GUARDS`, the clock must also be past the flow's deadline
    (:meth:`Flow.deadline`).
    """
    answer = witness_of(guard)
    if answer is None:
        name = getattr(guard, "__name__", repr(guard))
        raise KeyError(f"no witness answer for guard {name}")
    return answer


def flow_in(
    state: State | str,
    request_id: str = EXAMPLE_REQUEST_ID,
    *,
    engine: Engine | None = None,
    now: float = 1_800_000_000.0,
    order: Order = EXAMPLE_ORDER,
) -> Flow:
    """A flow in ``state``, brought there by the engine along the table's shortest path, one
    witness answer per guard, one second apart (a guard that holds only after a deadline waits
    for it): the history a driver would have recorded, so the flow goes on from there exactly
    as a real one would.

    A state of the card's spine (or beside it) is reached from READY, as a flow for an existing
    request; a state of the issuer's set-up (and DOCUMENT_REFUSED) from RECEIVED, as a flow
    started from ``order`` (with ``request_id`` as the flow's id).
    """
    engine = engine if engine is not None else default_engine()
    try:
        state = State(state)
    except ValueError:
        raise InvalidInput(f"no state {state!r}; the states are {', '.join(State)}") from None
    try:
        path = () if state in entries(engine.table) else path_to(state, engine.table)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    start = path[0].source if path else state
    if start is ISSUER_INITIAL:
        flow = engine.new_order_flow(request_id, order, now=now)
    else:
        flow = engine.new_flow(request_id, now=now)
    at = now
    for row in path:
        at += 1.0
        if row.guard in LATE_GUARDS:
            at = max(at, flow.deadline())
        answer = witness(row.guard) if row.guard is not None else None
        engine.fire(flow, row.trigger, answer, now=at)
    return flow
