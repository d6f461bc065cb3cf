"""From HTTP answers to the core's :class:`~firmaio.fsm.machine.answers.Answer` values, a set-up
call's :class:`Refusal`, and what counts as transient (worth another attempt) or malformed. Pure
functions over ``httpx.Response``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx

from firmaio.fsm.errors import ApiRefused
from firmaio.fsm.machine import Answer, Kind
from firmaio.fsm.redact import redact_text

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

    def __init__(self, message: str, *, wait: float | None = None, malformed: bool = False):
        super().__init__(message)
        self.wait = wait
        self.malformed = malformed


def retry_after(response: httpx.Response) -> float | None:
    for header in ("x-rate-limit-retry-after", "retry-after"):
        value = response.headers.get(header)
        if value is not None:
            try:
                return max(0.0, float(value))
            except ValueError:
                continue
    return None


def problem_detail(response: httpx.Response) -> str | None:
    """The problem detail (or APIM message) of an error answer, with fiscal codes masked."""
    try:
        body = response.json()
    except ValueError:
        return redact_text(response.text[:200]) if response.text else None
    if isinstance(body, dict):
        for key in ("detail", "message", "title"):
            if isinstance(body.get(key), str):
                return redact_text(body[key])
    return None


def request_answer(view: dict[str, Any], http_status: int = 200) -> Answer:
    """The core's Answer for a ``SignatureRequestDetailView``; unknown statuses are kept as is."""
    notification = view.get("notification")
    io_message_id = notification.get("io_message_id") if isinstance(notification, dict) else None
    qr_code_url = view.get("qr_code_url")
    return Answer(
        Kind.REQUEST,
        http_status=http_status,
        status=str(view["status"]),
        qr_code_url=qr_code_url if isinstance(qr_code_url, str) else None,
        io_message_id=io_message_id if isinstance(io_message_id, str) and io_message_id else None,
        expires_at=epoch(view.get("expires_at")),
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
    except ValueError:
        raise Transient(
            f"HTTP {response.status_code} with a body that is not JSON", malformed=True
        ) from None
    if not isinstance(body, dict):
        raise Transient(
            f"HTTP {response.status_code} with a JSON body that is not an object", malformed=True
        )
    return body


def request_view(response: httpx.Response) -> dict[str, Any]:
    view = json_object(response)
    if not isinstance(view.get("status"), str):
        raise Transient("a signature request without a status", malformed=True)
    return view
