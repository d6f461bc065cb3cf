"""The exit codes of ``firmaio``: one declared table, which the commands and the docs use.

A command that drove a flow exits with the code of the state it left the flow in: a state the
driver still fires a step from (:attr:`firmaio.fsm.Steps.driven`) is "not settled"; each resting
state has a result of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from firmaio.fsm.errors import (
    ApiConfigurationError,
    ApiError,
    InvalidInput,
    StaleFlow,
    StoreError,
    StoreUnavailable,
    TransitionNotAllowed,
)
from firmaio.fsm.machine import DEFAULT_STEPS, TERMINAL, State, Steps


@dataclass(frozen=True, slots=True)
class Exit:
    """One exit code and what it means."""

    code: int
    name: str
    meaning: str


OK = Exit(0, "ok", "done: the command's goal (NOTIFIED or SIGNED; for `cancel`, CANCELLED only)")
USAGE = Exit(2, "usage", "bad arguments, or a malformed signature-request id (nothing is called)")
CONFIGURATION = Exit(
    3,
    "configuration",
    "no API key, the API refused it (401/403), the base URL leads elsewhere (a redirect, a "
    "proxy's page), or the settings check at start failed",
)
UNAVAILABLE = Exit(4, "unavailable", "the API gave no usable answer after retries")
NOT_ALLOWED = Exit(
    5,
    "not_allowed",
    "the trigger is not allowed in the flow's state, the service refused the cancel, or "
    "another process won or kept the flow",
)
STORE = Exit(
    6,
    "store",
    "the store cannot be used as given: missing, not a database or not ours, permission denied, "
    "a newer schema",
)
STORE_UNAVAILABLE = Exit(
    7,
    "store_unavailable",
    "the store cannot be reached or written now (PostgreSQL down or cut off, disk full): "
    "nothing was lost, rerun when it is back",
)
FALLBACK = Exit(10, "fallback", "FALLBACK_SUGGESTED: reach the citizen another way (link, QR)")
REJECTED = Exit(12, "rejected", "REJECTED")
CANCELLED = Exit(13, "cancelled", "CANCELLED (for `notify` and `watch`)")
FAILED = Exit(14, "failed", "FAILED: a permanent error; the reason is printed")
NOT_SETTLED = Exit(15, "not_settled", "not settled: the flow still needs driving")
EXPIRED = Exit(16, "expired", "EXPIRED: the request was still unsigned after its expires_at")
DOCUMENT_REFUSED = Exit(
    17, "document_refused", "DOCUMENT_REFUSED: the service refused the PDF; its reasons are printed"
)
TAMPERED = Exit(
    20,
    "tampered",
    "`audit verify`, `report`: a trail was edited, deleted, reordered, inserted, or rewritten "
    "since the checkpoint, or the checkpoint's signature does not hold",
)

EXITS: tuple[Exit, ...] = (
    OK,
    USAGE,
    CONFIGURATION,
    UNAVAILABLE,
    NOT_ALLOWED,
    STORE,
    STORE_UNAVAILABLE,
    FALLBACK,
    REJECTED,
    CANCELLED,
    FAILED,
    NOT_SETTLED,
    EXPIRED,
    DOCUMENT_REFUSED,
    TAMPERED,
)
"""Every exit code, in order."""

RESULT_OF: dict[State, Exit] = {
    State.NOTIFIED: OK,
    State.SIGNED: OK,
    State.FALLBACK_SUGGESTED: FALLBACK,
    State.REJECTED: REJECTED,
    State.CANCELLED: CANCELLED,
    State.FAILED: FAILED,
    State.EXPIRED: EXPIRED,
    State.DOCUMENT_REFUSED: DOCUMENT_REFUSED,
}
"""The result of each resting state."""


def exit_code_for(state: State, goal: State | None = None, steps: Steps = DEFAULT_STEPS) -> int:
    """The exit code of a command that left a flow in ``state`` (0 if that was its ``goal``)."""
    if goal is not None and state is goal:
        return OK.code
    if state in steps.driven:
        return NOT_SETTLED.code
    return RESULT_OF.get(state, NOT_SETTLED).code


def goal_exit_code(state: State, goal: State, short: Exit, steps: Steps = DEFAULT_STEPS) -> int:
    """The exit code of a command whose one goal is ``goal`` (``cancel``: CANCELLED; ``fetch``:
    SIGNED): 0 only there; ``short``'s code where the flow stopped short of it and its state's
    own code would be 0 (a request signed before a cancel) or it is still open (a refused
    cancel leaves a NOTIFIED flow NOTIFIED); a closed state's own code otherwise."""
    code = exit_code_for(state, goal, steps)
    if state is not goal and (code == OK.code or state not in TERMINAL):
        return short.code
    return code


_ERRORS: tuple[tuple[tuple[type[Exception], ...], Exit], ...] = (
    ((InvalidInput,), USAGE),
    ((ApiConfigurationError,), CONFIGURATION),
    ((StoreUnavailable,), STORE_UNAVAILABLE),
    ((StoreError,), STORE),
    ((TransitionNotAllowed, StaleFlow), NOT_ALLOWED),
    ((ApiError, httpx.HTTPError), UNAVAILABLE),
)
"""The errors a command maps to an exit code, in the order they are matched."""


LOST = (
    "the answer to a call that is never retried was lost ({error}): it may have been done. "
    "With --db, rerun the same command with the same id (send: --id FLOW_ID): it first waits "
    "out the recovery grace (--recovery-grace, 40 s by default), then reads back what the "
    "service did, and makes nothing twice; without --db, a rerun starts over"
)


def unavailable(error: Exception) -> str:
    """What happened when the issuer API gave no usable answer, and what a rerun does."""
    if isinstance(error, ApiError) and not error.retried:
        return LOST.format(error=error)
    return (
        f"the issuer API gave no usable answer ({error}); it was retried with backoff; try "
        "again later (with --db, a rerun resumes the flow where it is)"
    )


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a command stopped: the exit it maps to, and the one line ``firmaio`` prints."""

    exit: Exit
    message: str

    def as_json(self) -> dict[str, str]:
        """The ``failure`` object of ``--json`` output."""
        return {"kind": self.exit.name, "message": self.message}


def failure_of(error: Exception) -> Failure | None:
    """The documented exit for ``error``, with its message; ``None`` for an unexpected error."""
    if isinstance(error, OSError) and error.filename is not None:  # a path given to write to
        return Failure(USAGE, f"cannot write {str(error.filename)!r}: {error.strerror}")
    for kinds, exit_ in _ERRORS:
        if isinstance(error, kinds):
            message = str(error)
            if exit_ is UNAVAILABLE:
                message = unavailable(error)
            return Failure(exit_, message)
    return None
