"""Reasons: why a row took a flow where it went, in words a reviewer reads.

Each row of the table that ends a flow or refuses a notification names its reason (a function of
the API's answer); the engine writes it into the audit record. Reasons read the answer, never
the guard's name, and mask personal data in anything the API said.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from ..redact import redact_text
from .answers import Answer, Kind, is_known

Reason = Callable[[Answer], str]
"""What a row says about why the flow went to its target, given the API's answer."""


def messages_disabled(_answer: Answer) -> str:
    """The citizen turned "Contattarti in app" off (the page's refusal)."""
    return "the citizen turned off messages from Firma con IO"


def no_io_profile(_answer: Answer) -> str:
    """The citizen has never used IO."""
    return "the citizen has no IO profile"


def io_unavailable(answer: Answer) -> str:
    """IO did not take the message: a passing failure, tried again later."""
    return redact_text(
        f"IO did not take the message (HTTP {answer.http_status}: {answer.detail}); nothing was "
        "sent, the request is unchanged, and the notification is tried again later"
    )


def issuer_reports(answer: Answer) -> str:
    """The request reads a closed status."""
    return f"the issuer API reports {answer.status}"


def cancel_accepted(_answer: Answer) -> str:
    """The issuer's cancel was accepted (it answers 204, with no status to quote)."""
    return "the issuer API reports CANCELLED"


def expired(answer: Answer) -> str:
    """The request was read unsigned after its expiry."""
    when = "its expires_at"
    if answer.expires_at is not None:
        when = datetime.fromtimestamp(answer.expires_at, tz=UTC).isoformat(timespec="seconds")
    return f"the request was still unsigned after it expired ({when})"


def activation_deadline(_answer: Answer) -> str:
    """The request never left READY."""
    return "the request was still READY when the activation deadline passed"


def not_found(_answer: Answer) -> str:
    """The request does not exist for this issuer."""
    return "the signature request does not exist for this issuer (HTTP 404)"


def unexpected_status(answer: Answer) -> str:
    """The request reads a status the step cannot go on from."""
    return f"the request reads status {answer.status}, which this step cannot go on from"


def unknown_status(answer: Answer) -> str:
    """The request reads a status the table does not know: the flow stays open."""
    return (
        f"the request reads status {answer.status}, which the table does not know: the flow "
        "stays open, and is watched"
    )


def no_guard_held(answer: Answer) -> str:
    """Why an attempt was refused: no row's guard held for the answer (the flow stays)."""
    shown = answer.kind if answer.status is None else f"{answer.kind} {answer.status}"
    said = f"no guard held for the answer ({shown})"
    if answer.kind is Kind.REQUEST and not is_known(answer.status):
        said += ": a status the table does not know; the flow stays open"
    return said


def failed_for_good(answer: Answer) -> str:
    """A final answer: the request is missing, in a status it cannot leave, or refused."""
    if answer.kind is Kind.NOT_FOUND:
        return not_found(answer)
    if answer.kind is Kind.REQUEST:
        return unexpected_status(answer)
    if answer.http_status is None:  # given up before any call: no answer of the API's to quote
        return redact_text(f"given up for good: {answer.detail}")
    return redact_text(f"the API refused for good (HTTP {answer.http_status}): {answer.detail}")


# --- the issuer's set-up, before READY -----------------------------------------------------------


def not_on_io(_answer: Answer) -> str:
    """``POST /signers`` found no IO profile: no request can be made for this citizen."""
    return (
        "the citizen has no IO profile (HTTP 404 to POST /signers): Firma con IO cannot reach "
        "them; no request was made"
    )


def document_refused(answer: Answer) -> str:
    """The service refused the PDF; its own words (one violation per line) follow."""
    said = (answer.detail or "no reason given").replace("\n", "; ")
    return redact_text(f"the service refused the document: {said}")


def validation_deadline(answer: Answer) -> str:
    """The uploaded document was still not validated when the deadline passed."""
    return (
        f"the document was still not validated (it reads {answer.status}) when the validation "
        "deadline passed"
    )


def dossier_not_found(_answer: Answer) -> str:
    """The existing dossier the order named does not exist for this issuer."""
    return "the dossier does not exist for this issuer (HTTP 404)"


def set_up_failed(answer: Answer) -> str:
    """A set-up call was refused for good, or the request vanished under it."""
    if answer.kind is Kind.NOT_FOUND:
        return not_found(answer)
    if answer.kind is Kind.DOCUMENT:
        return f"the request's document went back to {answer.status}"
    return failed_for_good(answer)
