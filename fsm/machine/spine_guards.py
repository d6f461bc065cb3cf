"""Guards: pure, named predicates over an :class:`~fsm.machine.answers.Observation`.

Each is a plain function from an observation to ``bool``, named as a question. The table holds
the function objects; their ``__name__`` is what diagrams and audit records show. Guards never
call anything: the driver makes the one API call a trigger needs and hands over the answer. Each
carries its witness (:func:`~fsm.machine.types.witnessed_by`): an answer under which it holds.
"""

from __future__ import annotations

from .answers import Answer, Kind, Observation, RequestStatus, is_known
from .examples import EXAMPLE_IO_MESSAGE_ID, EXAMPLE_QR_CODE_URL
from .types import witnessed_by

CLOSED_STATUSES = frozenset({RequestStatus.SIGNED, RequestStatus.REJECTED, RequestStatus.CANCELLED})
_BEFORE_ACTIVATION = frozenset({RequestStatus.DRAFT, RequestStatus.READY})


def _read(obs: Observation) -> Answer | None:
    answer = obs.answer
    return answer if answer is not None and answer.kind is Kind.REQUEST else None


def _status_is(obs: Observation, status: RequestStatus) -> bool:
    answer = _read(obs)
    return answer is not None and answer.status == status


# --- READY: the activation check -------------------------------------------------------------


@witnessed_by(Answer.request("WAIT_FOR_SIGNATURE", qr_code_url=EXAMPLE_QR_CODE_URL))
def is_waiting_for_signature(obs: Observation) -> bool:
    """The request reads WAIT_FOR_SIGNATURE and carries no notification yet."""
    answer = _read(obs)
    return (
        answer is not None
        and answer.status == RequestStatus.WAIT_FOR_SIGNATURE
        and answer.io_message_id is None
    )


@witnessed_by(Answer.request("READY"))
def is_still_ready(obs: Observation) -> bool:
    """The request still reads READY and the activation deadline has not passed."""
    return _status_is(obs, RequestStatus.READY) and obs.now < obs.activation_deadline


@witnessed_by(Answer.request("READY"))
def activation_deadline_passed(obs: Observation) -> bool:
    """The request still reads READY, but the activation deadline has passed."""
    return _status_is(obs, RequestStatus.READY) and obs.now >= obs.activation_deadline


@witnessed_by(Answer.request("EXPIRED"))
def waits_in_an_unknown_status(obs: Observation) -> bool:
    """The request reads a status the table does not know (``WAIT_FOR_QTSP``, an ``EXPIRED`` of
    the service's own, should it come), and the activation deadline has not passed: the flow
    waits, as for READY. Past the deadline no guard holds: the read is recorded as refused and
    the flow stays READY, open and watched. A status nobody documented never closes a flow."""
    answer = _read(obs)
    return answer is not None and not is_known(answer.status) and obs.now < obs.activation_deadline


@witnessed_by(Answer.request("DRAFT"))
def fell_back_to_draft(obs: Observation) -> bool:
    """The request, READY when the flow started waiting, reads DRAFT: it will not leave it."""
    return _status_is(obs, RequestStatus.DRAFT)


# --- closed statuses, from any step that reads the request -----------------------------------


@witnessed_by(Answer.request("SIGNED", io_message_id=EXAMPLE_IO_MESSAGE_ID))
def is_signed(obs: Observation) -> bool:
    """The request reads SIGNED."""
    return _status_is(obs, RequestStatus.SIGNED)


@witnessed_by(Answer.request("REJECTED"))
def is_rejected(obs: Observation) -> bool:
    """The request reads REJECTED."""
    return _status_is(obs, RequestStatus.REJECTED)


@witnessed_by(Answer.request("CANCELLED"))
def is_cancelled(obs: Observation) -> bool:
    """The request reads CANCELLED."""
    return _status_is(obs, RequestStatus.CANCELLED)


@witnessed_by(Answer.not_found())
def request_not_found(obs: Observation) -> bool:
    """The API says the request does not exist (for this issuer)."""
    return obs.answer is not None and obs.answer.kind is Kind.NOT_FOUND


# --- the notification -------------------------------------------------------------------------


@witnessed_by(Answer.sent(EXAMPLE_IO_MESSAGE_ID))
def message_was_sent(obs: Observation) -> bool:
    """The API sent the IO message and returned its ``io_message_id``."""
    answer = obs.answer
    return answer is not None and answer.kind is Kind.SENT and bool(answer.io_message_id)


@witnessed_by(
    Answer.request(
        "WAIT_FOR_SIGNATURE", qr_code_url=EXAMPLE_QR_CODE_URL, io_message_id=EXAMPLE_IO_MESSAGE_ID
    )
)
def was_already_notified(obs: Observation) -> bool:
    """The request, read back, is WAIT_FOR_SIGNATURE and already carries a notification.

    This is the retry after a lost answer: the message went out, so no second one is sent.
    """
    answer = _read(obs)
    return (
        answer is not None
        and answer.status == RequestStatus.WAIT_FOR_SIGNATURE
        and answer.io_message_id is not None
    )


@witnessed_by(Answer.messages_disabled())
def citizen_disabled_messages(obs: Observation) -> bool:
    """400 "It is not allowed to send a message to this user.": "Contattarti in app" is off."""
    return obs.answer is not None and obs.answer.kind is Kind.MESSAGES_DISABLED


@witnessed_by(Answer.no_io_profile())
def citizen_has_no_io_profile(obs: Observation) -> bool:
    """404 "User profile not found!": the citizen never logged in to IO."""
    return obs.answer is not None and obs.answer.kind is Kind.NO_IO_PROFILE


@witnessed_by(Answer.io_unavailable())
def io_did_not_take_the_message(obs: Observation) -> bool:
    """400 "An error occurred while sending the message!": IO answered something unexpected
    (its 502 or 503 included); nothing was sent, and a later attempt may succeed."""
    return obs.answer is not None and obs.answer.kind is Kind.IO_UNAVAILABLE


@witnessed_by(Answer.refused(400, "You are not allowed to issue requests for this user!"))
def notification_failed_permanently(obs: Observation) -> bool:
    """A final answer to the notification that is neither a refusal nor a closed request.

    The request is missing, the API refused for another reason, or the request reads a status
    it cannot be notified from and will not leave by itself (DRAFT, READY). An unknown status
    matches no guard: the attempt is recorded as refused and the flow stays where it is.
    """
    answer = obs.answer
    if answer is None:
        return False
    if answer.kind in (Kind.NOT_FOUND, Kind.REFUSED):
        return True
    return answer.kind is Kind.REQUEST and answer.status in _BEFORE_ACTIVATION


# --- after activation ------------------------------------------------------------------------


@witnessed_by(Answer.request("WAIT_FOR_SIGNATURE", qr_code_url=EXAMPLE_QR_CODE_URL))
def is_still_open(obs: Observation) -> bool:
    """The request still reads WAIT_FOR_SIGNATURE, before its expiry: not signed yet."""
    return _status_is(obs, RequestStatus.WAIT_FOR_SIGNATURE) and not _expired(obs)


@witnessed_by(Answer.request("WAIT_FOR_SIGNATURE", expires_at=0.0))
def has_expired(obs: Observation) -> bool:
    """The request still reads WAIT_FOR_SIGNATURE, but its ``expires_at`` has passed."""
    return _status_is(obs, RequestStatus.WAIT_FOR_SIGNATURE) and _expired(obs)


def _expired(obs: Observation) -> bool:
    answer = obs.answer
    return answer is not None and answer.expires_at is not None and obs.now >= answer.expires_at


@witnessed_by(Answer.not_found())
def status_check_failed_permanently(obs: Observation) -> bool:
    """The request vanished, or reads a status it cannot fall back to after activation.

    An unknown status (``WAIT_FOR_QTSP``, a future value) matches no guard: the check is
    recorded as refused and the flow waits.
    """
    answer = obs.answer
    if answer is None:
        return False
    if answer.kind is Kind.NOT_FOUND:
        return True
    return answer.kind is Kind.REQUEST and answer.status in _BEFORE_ACTIVATION


@witnessed_by(Answer.cancel_accepted())
def cancel_was_accepted(obs: Observation) -> bool:
    """204 to the issuer's cancel."""
    return obs.answer is not None and obs.answer.kind is Kind.CANCEL_ACCEPTED
