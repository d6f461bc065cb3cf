"""Fakes of the ports, for test suites that drive flows step by step (ours and yours).

``ScriptedApi`` answers each call with the next scripted answer and records the calls;
``ManualClock`` moves only when slept on, so tests never wait for real. :func:`witness` gives an
answer under which a guard holds, and :func:`flow_in` a flow already in any state, with the valid
history that brought it there. The pytest plugin (``firmaio.adapters.pytest_plugin``) serves them
as fixtures.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from . import guards as g
from .answers import Answer
from .engine import Engine, Flow, default_engine
from .errors import ApiError, InvalidInput
from .guards import Guard
from .paths import path_to
from .states import INITIAL, State


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

    def script(self, *answers: Answer | ApiError) -> None:
        """Append answers to the script."""
        self._script.extend(answers)

    @property
    def remaining(self) -> int:
        """How many scripted answers are left."""
        return len(self._script)

    def _next(self, method: str, request_id: str) -> Answer:
        self.calls.append((method, request_id))
        if not self._script:
            raise LookupError(f"ScriptedApi has no answer left for {method}({request_id!r})")
        item = self._script.popleft()
        if isinstance(item, ApiError):
            raise item
        return item

    async def get_request(self, request_id: str) -> Answer:
        """The next scripted answer."""
        return self._next("get_request", request_id)

    async def send_notification(self, request_id: str) -> Answer:
        """The next scripted answer."""
        return self._next("send_notification", request_id)

    async def cancel_request(self, request_id: str) -> Answer:
        """The next scripted answer."""
        return self._next("cancel_request", request_id)


EXAMPLE_IO_MESSAGE_ID = "01G7VBM888NDGCMA84ZVZYJGZQ"
EXAMPLE_QR_CODE_URL = (
    "https://continua.io.pagopa.it/qrcode.png?feat=firma&srid=01ARZ3NDEKTSV4RRFFQ69G5FAV"
)

_WITNESSES: dict[Guard, Answer] = {
    g.is_waiting_for_signature: Answer.request(
        "WAIT_FOR_SIGNATURE", qr_code_url=EXAMPLE_QR_CODE_URL
    ),
    g.is_still_ready: Answer.request("READY"),
    g.activation_deadline_passed: Answer.request("READY"),
    g.was_already_notified: Answer.request(
        "WAIT_FOR_SIGNATURE", qr_code_url=EXAMPLE_QR_CODE_URL, io_message_id=EXAMPLE_IO_MESSAGE_ID
    ),
    g.is_signed: Answer.request("SIGNED", io_message_id=EXAMPLE_IO_MESSAGE_ID),
    g.is_rejected: Answer.request("REJECTED"),
    g.is_cancelled: Answer.request("CANCELLED"),
    g.request_not_found: Answer.not_found(),
    g.has_unexpected_status: Answer.request("DRAFT"),
    g.message_was_sent: Answer.sent(EXAMPLE_IO_MESSAGE_ID),
    g.citizen_disabled_messages: Answer.messages_disabled(),
    g.citizen_has_no_io_profile: Answer.no_io_profile(),
    g.io_did_not_take_the_message: Answer.io_unavailable(),
    g.notification_failed_permanently: Answer.refused(
        400, "You are not allowed to issue requests for this user!"
    ),
    g.is_still_open: Answer.request("WAIT_FOR_SIGNATURE", qr_code_url=EXAMPLE_QR_CODE_URL),
    g.has_expired: Answer.request("WAIT_FOR_SIGNATURE", expires_at=0.0),
    g.status_check_failed_permanently: Answer.not_found(),
    g.cancel_was_accepted: Answer.cancel_accepted(),
}

LATE_GUARDS: frozenset[Guard] = frozenset({g.activation_deadline_passed})
"""Guards that hold only once the activation deadline has passed."""


def witness(guard: Guard) -> Answer:
    """An API answer under which ``guard`` holds (and its siblings don't).

    For a guard in :data:`LATE_GUARDS`, the clock must also be past the flow's deadline.
    """
    try:
        return _WITNESSES[guard]
    except KeyError:
        name = getattr(guard, "__name__", repr(guard))
        raise KeyError(f"no witness answer for guard {name}") from None


EXAMPLE_REQUEST_ID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"


def flow_in(
    state: State | str,
    request_id: str = EXAMPLE_REQUEST_ID,
    *,
    engine: Engine | None = None,
    now: float = 1_800_000_000.0,
) -> Flow:
    """A flow in ``state``, brought there by the engine along the table's shortest path from
    READY, one witness answer per guard, one second apart: the history a driver would have
    recorded, so the flow goes on from there exactly as a real one would."""
    engine = engine if engine is not None else default_engine()
    try:
        state = State(state)
    except ValueError:
        raise InvalidInput(f"no state {state!r}; the states are {', '.join(State)}") from None
    flow = engine.new_flow(request_id, now=now)
    if state is INITIAL:
        return flow
    at = now
    for row in path_to(state, engine.table):
        at += 1.0
        if row.guard in LATE_GUARDS:
            at = max(at, flow.activation_deadline)
        answer = witness(row.guard) if row.guard is not None else None
        engine.fire(flow, row.trigger, answer, now=at)
    return flow
