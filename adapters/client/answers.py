"""From HTTP answers to the core's :class:`~firmaio.fsm.machine.answers.Answer` values, a set-up
call's :class:`Refusal`, and what counts as transient (worth another attempt) or malformed. Pure
functions over ``httpx.Response``.

An answer is used only in its documented shape: ids obey the rule for ids typed by a user
(:func:`~firmaio.fsm.ids.check_request_id`), a request read is the request asked for, a status
is an upper-case word, a QR code URL is the IO link service's (:mod:`.urls`). Anything else is a
malformed answer, refused with the evidence (the value, escaped and cut short)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx

from firmaio.fsm.errors import ApiRefused, InvalidRequestId
from firmaio.fsm.ids import check_request_id
from firmaio.fsm.machine import Answer, Kind

from .evidence import body_of
from .urls import UrlPolicy

MESSAGES_DISABLED = "It is not allowed to send a message to this user."
NO_IO_PROFILE = "User profile not found!"
IO_CATCH_ALLS = frozenset(
    {"An error occurred while sending the message!", "An error occurred while getting the profile!"}
)
"""The service's 400 for any answer of IO other than the ones it maps (API-NOTES §3.1): IO's own
5xx (but 500 on the send) included. Nothing was sent; a later attempt may succeed."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """The service's refusal of a set-up call: a final answer other than the call's own (a 4xx,
    or the blob store's refusal), which trying again will not change. A value, not an error: the
    flow reads it as its answer (:meth:`answer`); a typed call raises it (:meth:`error`)."""

    message: str
    """``operation: HTTP status: detail``, as :class:`~firmaio.fsm.errors.ApiRefused` says it."""
    status: int
    detail: str | None
    """The service's problem detail (fiscal codes masked), or the blob store's error code."""

    def answer(self) -> Answer:
        """The flow's REFUSED answer, with the service's status and detail."""
        return Answer.refused(self.status, self.detail)

    def error(self) -> ApiRefused:
        """The refusal as the exception a typed call raises."""
        return ApiRefused(self.message, status=self.status, detail=self.detail)


T = TypeVar("T")


def raised(result: T | Refusal) -> T:
    """``result``, or its refusal raised as :class:`~firmaio.fsm.errors.ApiRefused`."""
    if isinstance(result, Refusal):
        raise result.error()
    return result


class Transient(Exception):
    """A transient answer (5xx, 429, garbled body): worth another attempt."""

    def __init__(
        self,
        message: str,
        *,
        wait: float | None = None,
        malformed: bool = False,
        status: int | None = None,
    ):
        super().__init__(message)
        self.wait = wait
        self.malformed = malformed
        self.status = status
        """The HTTP status of the answer, when one came."""


STATUS = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
"""What a status of the service looks like (``WAIT_FOR_SIGNATURE``; unknown ones too)."""


def evidence(value: object) -> str:
    """``value`` as a refusal shows it: its ``repr`` (control characters escaped), cut short."""
    shown = repr(value[:64] if isinstance(value, str) else value)
    return shown if len(shown) <= 80 else shown[:77] + "..."


def bad_id(value: object, what: str) -> str | None:
    """Why ``value`` is not usable as an id of an answer (None: it is)."""
    try:
        check_request_id(value, what)
    except InvalidRequestId as error:
        return f"the answer's {error}"
    return None


def bad_status(value: object, what: str) -> str | None:
    """Why ``value`` is not a status (None: it is one)."""
    if isinstance(value, str) and STATUS.fullmatch(value):
        return None
    return f"the answer's {what} {evidence(value)} is not a status"


def retry_after(response: httpx.Response) -> float | None:
    for header in ("x-rate-limit-retry-after", "retry-after"):
        value = response.headers.get(header)
        if value is not None:
            try:
                return max(0.0, float(value))
            except ValueError:
                continue
    return None


MOST_SAID = 2000
"""Characters of the service's own words (a detail, a reason) kept in a record: its messages are
a line or a few; a longer text is cut, and says so."""


def cut(text: str, most: int = MOST_SAID) -> str:
    """``text``, cut to ``most`` characters (and marked as cut) if it is longer."""
    return text if len(text) <= most else text[:most] + f"... [cut: {len(text)} characters]"


def request_answer(view: dict[str, Any], http_status: int = 200) -> Answer:
    """The core's Answer for a ``SignatureRequestDetailView``; unknown statuses are kept as is.
    Its ``dossier_id``, where usable, is a fact: a flow registered by id learns its dossier."""
    notification = view.get("notification")
    dossier = view.get("dossier_id")
    io_message_id = notification.get("io_message_id") if isinstance(notification, dict) else None
    qr_code_url = view.get("qr_code_url")
    return Answer(
        Kind.REQUEST,
        http_status=http_status,
        status=str(view["status"]),
        qr_code_url=qr_code_url if isinstance(qr_code_url, str) else None,
        io_message_id=io_message_id if isinstance(io_message_id, str) and io_message_id else None,
        expires_at=epoch(view.get("expires_at")),
        facts=(("dossier_id", str(dossier)),) if bad_id(dossier, "dossier_id") is None else (),
    )


def epoch(value: object) -> float | None:
    """An ISO-8601 timestamp of the API (``Z`` or an offset) as seconds since the epoch."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except (ValueError, RecursionError):  # nested deeper than the parser goes: no answer either
        raise Transient(
            f"HTTP {response.status_code} with a body that is not JSON ({body_of(response)})",
            malformed=True,
            status=response.status_code,
        ) from None
    if not isinstance(body, dict):
        raise Transient(
            f"HTTP {response.status_code} with a JSON body that is not an object "
            f"({body_of(response)})",
            malformed=True,
            status=response.status_code,
        )
    return body


def request_view(
    response: httpx.Response, request_id: str | None = None, urls: UrlPolicy | None = None
) -> dict[str, Any]:
    """The ``SignatureRequestDetailView`` of ``response``, in its documented shape: the request
    ``request_id`` (when given), a status, a usable ``io_message_id`` and, with ``urls``, a QR
    code URL of the IO link service; else a malformed answer (retried, then refused)."""
    view = json_object(response)
    if "status" not in view:
        raise Transient(
            f"a signature request without a status ({body_of(response)})",
            malformed=True,
            status=response.status_code,
        )
    notification = view.get("notification")
    message = notification.get("io_message_id") if isinstance(notification, dict) else None
    problems = [
        bad_status(view["status"], "status"),
        None if message is None else bad_id(message, "io_message_id"),
    ]
    if request_id is not None and view.get("id") != request_id:
        problems.append(f"the answer is about the request {evidence(view.get('id'))}")
    qr_code_url = view.get("qr_code_url")
    if urls is not None and qr_code_url is not None:
        refused = urls.refusal(qr_code_url, "qr")
        problems.append(None if refused is None else f"its qr_code_url is refused: {refused}")
    said = "; ".join(p for p in problems if p is not None)
    if said:
        raise Transient(f"HTTP {response.status_code}: {said}", malformed=True, status=200)
    return view
