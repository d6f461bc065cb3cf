"""The exceptions of firmaio-fsm, one tree for the whole library (the adapters' own errors
included, marked *adapters*; a test keeps this tree and the classes the same)::

    FsmError
    ├── InvalidDefinition        the transition table is malformed (raised at import)
    ├── InvalidInput             bad input from the caller (ValueError too); nothing changed
    │   └── InvalidRequestId     a signature-request id that is empty or unsafe in a URL path
    ├── TransitionNotAllowed     the trigger has no row from the flow's state; nothing changed
    ├── StaleFlow                another process changed the stored flow first; nothing written
    │   └── FlowBusy             another process holds the flow's lock now; nothing was done
    ├── StoreError               the store failed; a failed write left nothing half-written
    │   ├── StoreUnusable        no such store, not a store, permission denied: fix, then rerun
    │   │   ├── SchemaTooNew     the store was made or migrated by a newer firmaio-fsm
    │   │   └── UnreadableTrail  a stored flow this table cannot read; it is left untouched
    │   └── StoreUnavailable     the store cannot be reached or written now: rerun when it is back
    └── ApiError                 the issuer API gave no usable answer (raised by ports)
        ├── ApiUnavailable       timeouts, dropped connections, 5xx or 429 after retries
        │   └── IncompleteDownload  a download cut short of its declared length (adapters)
        ├── ApiProtocolError     an answer that does not parse as the API documents it
        │   └── DownloadRefused  a signed document not of its declared type or size (adapters)
        ├── ApiConfigurationError  401/403, a redirect, a proxy's page: a setting is wrong
        └── ApiRefused           a final 4xx to a call outside the flow (creating a dossier...)

Answers the API *does* give (refusals, "not found", closed requests) are not exceptions:
they are :class:`fsm.machine.answers.Answer` values that the guards read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .trail.record import AuditRecord


class FsmError(Exception):
    """Base class of every error this library raises on purpose."""


class InvalidDefinition(FsmError):
    """The transition table is malformed; ``problems`` lists every finding."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("invalid transition table: " + "; ".join(problems))


class InvalidInput(FsmError, ValueError):
    """The caller passed something unusable. Nothing was changed."""


class InvalidRequestId(InvalidInput):
    """A signature-request id that is empty or would be unsafe in a URL path."""


class TransitionNotAllowed(FsmError):
    """``trigger`` cannot be fired from ``state``. Nothing was changed, nothing was called."""

    def __init__(self, trigger: str, state: str, allowed: tuple[str, ...] = ()) -> None:
        self.trigger = trigger
        self.state = state
        self.allowed = allowed
        hint = f" (allowed from {state}: {', '.join(allowed)})" if allowed else ""
        super().__init__(f"trigger {str(trigger)!r} is not allowed in state {state}{hint}")


class StaleFlow(FsmError):
    """Another process changed the stored flow first (compare-and-set lost). Nothing was written.

    Reload the flow and decide again; never retry the same write.
    """

    def __init__(self, flow_id: str, expected_seq: int) -> None:
        self.flow_id = flow_id
        self.expected_seq = expected_seq
        super().__init__(
            f"flow {flow_id} was changed by another process (expected it at record {expected_seq})"
        )


class FlowBusy(StaleFlow):
    """Another process is working on the flow right now (it holds the flow's lock). Nothing was
    called or written; look again later."""

    def __init__(self, flow_id: str) -> None:
        self.flow_id = flow_id
        self.expected_seq = -1
        FsmError.__init__(
            self, f"flow {flow_id} is being driven by another process right now; nothing was done"
        )


class StoreError(FsmError):
    """The store failed. Its message says what is wrong and what to do; it never holds a
    password. Every write is one transaction, so a failed one left nothing half-written."""


class StoreUnusable(StoreError):
    """The store cannot be used as given: no such file or folder, not a database, not a
    firmaio-fsm store, permission denied, a schema of another version, a flow written by a table
    this code cannot read. Fix it, then rerun."""


class StoreUnavailable(StoreError):
    """The store cannot be reached or written now: PostgreSQL down, refusing or cut off, a disk
    full, a lock held too long. Nothing was lost: rerun once it is back, and flows resume."""


class SchemaTooNew(StoreUnusable):
    """The database was made or migrated by a newer firmaio-fsm than this one."""

    def __init__(self, *, found: int, supported: int) -> None:
        self.found = found
        self.supported = supported
        super().__init__(
            f"the store's schema is version {found}, newer than this firmaio-fsm's (version "
            f"{supported}): upgrade firmaio-fsm to use it; nothing was changed"
        )


class UnreadableTrail(StoreUnusable):
    """A stored flow the running table cannot read: written by a newer table, or by an older one
    no declared migration reads, or naming a state, trigger or guard the table does not have
    (:mod:`fsm.machine.versions`). Nothing was called or written: the flow is left as it was."""

    def __init__(self, flow_id: str, *, found: int | None, running: int, why: str) -> None:
        self.flow_id = flow_id
        self.found = found
        """The table version the flow's unreadable record (or row) was written by, if known."""
        self.running = running
        by = "" if found is None else f" was written by table version {found} and"
        super().__init__(
            f"flow {flow_id}{by} cannot be read by this firmaio-fsm, which runs table version "
            f"{running}: {why}; the flow was left as it was"
        )


class ApiError(FsmError):
    """The issuer API gave no usable answer. ``record`` is the audit record of the attempt;
    ``http_status`` the status of the answer that was not usable, if one came."""

    record: AuditRecord | None = None
    http_status: int | None = None
    retried: bool = True
    """False for a call with effects whose answer was lost: it is never tried again (it may
    have been done), and the flow's next run reads back what the service did."""


class ApiUnavailable(ApiError):
    """Timeouts, dropped connections, 5xx or 429: transient, and retries did not help."""


class ApiProtocolError(ApiError):
    """The API answered something that does not parse as documented."""


class ApiConfigurationError(ApiError):
    """401 or 403: the API key, its environment or its IP allow-list is wrong; or an answer that
    is not the service's (a redirect, a proxy's 404): the base URL or the network is. Not
    retried."""


class ApiRefused(ApiError):
    """A final 4xx answer to a call that is not one of a flow's triggers (``status``, ``detail``).

    The flow's own calls never raise it: their refusals are :class:`fsm.machine.answers.Answer`
    values.
    """

    def __init__(self, message: str, *, status: int, detail: str | None) -> None:
        self.status = status
        self.detail = detail
        super().__init__(message)
