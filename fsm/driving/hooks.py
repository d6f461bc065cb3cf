"""Hooks: code of yours called after each transition's record is written.

Subscribe a callback to every transition, or to those into one target state, of one outcome or
of one trigger; it gets the flow and the record, and may be a plain function or a coroutine
function. The driver calls the matching hooks after the record is kept (for a
:class:`~fsm.driving.durable.DurableDriver`, after the store's write), in the order they
subscribed. A
hook that raises is logged (``fsm.hook_failed``, with the hook's name and the error's type) and
skipped: the flow goes on and its record is already safe.

    >>> hooks = Hooks()
    >>> seen = []
    >>> unsubscribe = hooks.subscribe(lambda flow, record: seen.append(record.target),
    ...                               target=State.NOTIFIED)

Keep hooks quick: the flow waits for them. For slow work, start a task from the hook.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..logs import get_logger
from ..machine.states import State
from ..redact import redact_text
from ..trail.record import AuditRecord, Outcome

if TYPE_CHECKING:
    from .engine import Flow

Hook = Callable[["Flow", AuditRecord], "Awaitable[None] | None"]
"""A subscriber: called with the flow and the record just written."""


@dataclass(frozen=True, slots=True)
class Subscription:
    """One hook, and which records it wants (``None`` matches any)."""

    hook: Hook
    target: State | None = None
    outcome: Outcome | None = None
    trigger: str | None = None

    def wants(self, record: AuditRecord) -> bool:
        """Whether ``record`` is one this subscription asked for."""
        return (
            (self.target is None or record.target is self.target)
            and (self.outcome is None or record.outcome is self.outcome)
            and (self.trigger is None or record.trigger == self.trigger)
        )


class Hooks:
    """The hooks of a driver (see the module docstring)."""

    def __init__(self, *, logger: Any = None) -> None:
        self._subscriptions: list[Subscription] = []
        self._log = logger if logger is not None else get_logger("firmaio.fsm.driving.hooks")

    def __len__(self) -> int:
        return len(self._subscriptions)

    def subscribe(
        self,
        hook: Hook,
        *,
        target: State | None = None,
        outcome: Outcome | None = None,
        trigger: str | None = None,
    ) -> Callable[[], None]:
        """Call ``hook`` after each matching record is written; returns the unsubscriber."""
        if not callable(hook):
            raise TypeError(f"a hook must be callable, not {type(hook).__name__}")
        subscription = Subscription(hook, target, outcome, trigger)
        self._subscriptions.append(subscription)

        def unsubscribe() -> None:
            if subscription in self._subscriptions:
                self._subscriptions.remove(subscription)

        return unsubscribe

    def on(
        self,
        *,
        target: State | None = None,
        outcome: Outcome | None = None,
        trigger: str | None = None,
    ) -> Callable[[Hook], Hook]:
        """:meth:`subscribe` as a decorator: ``@hooks.on(target=State.FALLBACK_SUGGESTED)``."""

        def register(hook: Hook) -> Hook:
            self.subscribe(hook, target=target, outcome=outcome, trigger=trigger)
            return hook

        return register

    async def emit(self, flow: Flow, record: AuditRecord) -> None:
        """Call every hook that wants ``record``; a failing one is logged, never raised."""
        for subscription in tuple(self._subscriptions):
            if not subscription.wants(record):
                continue
            try:
                result = subscription.hook(flow, record)
                if inspect.isawaitable(result):
                    await result
            except Exception as error:  # a subscriber's bug must not break the flow
                self._log.error(
                    "fsm.hook_failed",
                    hook=getattr(subscription.hook, "__qualname__", repr(subscription.hook)),
                    flow_id=flow.id,
                    seq=record.seq,
                    error=type(error).__name__,
                    message=redact_text(str(error)),
                )
