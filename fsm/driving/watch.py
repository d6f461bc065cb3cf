"""A status check that finds nothing new: which answers leave a flow at rest where it was.

A flow at rest (NOTIFIED, FALLBACK_SUGGESTED) is watched with ``check_status`` every
``watch_every`` seconds. Most checks find the request still waiting for its signature: the row
that keeps the flow where it is (``is_still_open``) holds, and a record would say nothing. The
watch (``firmaio.adapters.watch``) reads many requests' statuses at once from their dossier's
listing and asks :func:`finds_nothing_new` for each: where it does, the flow's last-checked time
and due time are written in one statement and no record (:meth:`DurableDriver.check_with
<fsm.driving.durable.DurableDriver.check_with>`); any other answer (signed, rejected, cancelled,
expired, a status the table does not know) is fired as the step, and recorded once, with the
answer as its evidence.
"""

from __future__ import annotations

from ..machine.answers import Answer, Observation
from ..machine.states import Trigger
from .engine import Engine
from .flow import Flow


def finds_nothing_new(engine: Engine, flow: Flow, answer: Answer, now: float) -> bool:
    """Whether ``check_status`` with ``answer`` at ``now`` would leave ``flow`` where it is,
    accepted (the first row of the table whose guard holds, as the engine picks it, keeps the
    state). An answer no row takes (a status the table does not know) is news: it is recorded."""
    if Trigger.CHECK_STATUS not in engine.allowed(flow.state):
        return False
    deadline = flow.activation_deadline if flow.order is None else flow.deadline()
    seen = Observation(answer, now, deadline)
    for row in engine.table:
        if (
            row.source is flow.state
            and row.trigger == Trigger.CHECK_STATUS
            and (row.guard is None or row.guard(seen))
        ):
            return row.target is flow.state
    return False
