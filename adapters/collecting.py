"""Signed documents collected on their own by a worker or the service, for the tenants that ask
for it: a ``documents_dir`` in the tenants file, ``--documents-dir`` (``FIRMAIO_DOCUMENTS_DIR``)
for the default tenant and for ``firmaio serve``.

When a flow of such a tenant is recorded SIGNED, its next visit fires ``fetch_documents`` once
(:func:`collect_due`); the record keeps each file's path, size and SHA-256. A failed download is
tried again on :class:`~firmaio.fsm.driving.CollectPolicy`'s schedule, and past the 90 days IO
keeps the documents, collecting gives up, recorded. Every folder is checked writable when the
worker or the service starts (:func:`~firmaio.adapters.documents.check_writable`).
"""

from __future__ import annotations

from firmaio.fsm.driving import CollectPolicy, Driver, Flow
from firmaio.fsm.errors import ApiConfigurationError, ApiError
from firmaio.fsm.logs import get_logger
from firmaio.fsm.machine import Trigger
from firmaio.fsm.trail import Outcome

_log = get_logger("firmaio.adapters.collecting")


async def collect_due(driver: Driver, flow: Flow, policy: CollectPolicy, now: float) -> str | None:
    """Fetch ``flow``'s signed documents if that is due now (``driver``'s set-up port writes
    them into its sink); give up, recorded, past the documents' keep. What it did
    (``fetched``, ``fetch_failed``, ``fetch_refused``, ``gave_up``), or None: nothing due. A
    refused key still raises; another failed download is recorded and tried again later."""
    due = policy.next_fetch(flow.state, flow.history)
    if due is None or due > now:
        return None
    if policy.expired(flow.history, now):
        await driver.step(flow, Trigger.FETCH_DOCUMENTS, policy.given_up_answer(flow.history))
        _log.warning("firmaio.collect.gave_up", flow_id=flow.id)
        return "gave_up"
    try:
        record = await driver.fetch_documents(flow)
    except ApiConfigurationError:
        raise
    except ApiError as error:  # recorded as an ERROR: tried again on the policy's schedule
        _log.warning("firmaio.collect.failed", flow_id=flow.id, error=str(error))
        return "fetch_failed"
    return "fetched" if record.outcome is Outcome.ACCEPTED else "fetch_refused"


def next_collect(flow: Flow, policy: CollectPolicy) -> float | None:
    """When ``flow`` next wants a visit to collect its documents (None: it does not)."""
    return policy.next_fetch(flow.state, flow.history)
