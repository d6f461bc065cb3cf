"""States and triggers of a signature-request flow.

The owner's spine is
``READY -> WAIT_FOR_SIGNATURE -> NOTIFIED | NOTIFY_REFUSED -> FALLBACK_SUGGESTED``;
beside it stand the closed statuses the issuer API can report (``SIGNED``, ``REJECTED``,
``CANCELLED``), ``EXPIRED`` (a request still unsigned after its ``expires_at``) and ``FAILED``,
where a permanent error ends a flow.
"""

from __future__ import annotations

import enum


class State(enum.StrEnum):
    """Where a flow stands. The value is the name used in diagrams and audit records."""

    READY = "READY"
    """The request is READY on the issuer side; the citizen's copy is being prepared."""
    WAIT_FOR_SIGNATURE = "WAIT_FOR_SIGNATURE"
    """The request can be signed; no IO message has been sent by this flow yet."""
    NOTIFIED = "NOTIFIED"
    """An IO message reached the citizen (``io_message_id`` is known). Resting."""
    NOTIFY_REFUSED = "NOTIFY_REFUSED"
    """The notification was refused (messages turned off, or no IO profile)."""
    FALLBACK_SUGGESTED = "FALLBACK_SUGGESTED"
    """Advice, link and QR code for another channel are ready for the citizen. Resting."""
    SIGNED = "SIGNED"
    """Closed by the issuer API: the citizen signed. Terminal."""
    REJECTED = "REJECTED"
    """Closed by the issuer API: the signature failed (a QTSP error, not a refusal). Terminal."""
    CANCELLED = "CANCELLED"
    """Closed by the issuer: the request was cancelled. Terminal."""
    FAILED = "FAILED"
    """A permanent error ended the flow; the reason is recorded. Terminal."""
    EXPIRED = "EXPIRED"
    """The request was read still unsigned after its ``expires_at``. Terminal. The issuer API
    has no such status (API-NOTES §2): the flow records the expiry itself."""


class Trigger(enum.StrEnum):
    """What can be fired on a flow. Each trigger makes at most one call to the issuer API, declared
    with the trigger's step in :mod:`fsm.steps`."""

    CHECK_ACTIVATION = "check_activation"
    """Read the request while it is READY: has it become WAIT_FOR_SIGNATURE yet?"""
    NOTIFY = "notify"
    """``PUT /signature-requests/{id}/notification``: send the IO message."""
    SUGGEST_FALLBACK = "suggest_fallback"
    """Prepare the advice, link and QR code for the citizen. No API call."""
    CHECK_STATUS = "check_status"
    """Read the request after activation: was it signed, rejected or cancelled?"""
    CANCEL = "cancel"
    """``PUT /signature-requests/{id}/status`` with ``"CANCELLED"``: the issuer withdraws it."""
    RECOVER_NOTIFICATION = "recover_notification"
    """After a crash with a notification intent open: read the request before sending again."""


TERMINAL: frozenset[State] = frozenset(
    {State.SIGNED, State.REJECTED, State.CANCELLED, State.FAILED, State.EXPIRED}
)
"""States no trigger leaves."""

INITIAL = State.READY
