"""Signed webhooks per tenant: the outbox's events delivered, retried, and logged.

:class:`WebhookTarget` says where a tenant's events go (:mod:`.config`), :class:`Signer` signs
them as Standard Webhooks says (:mod:`.signing`), :class:`Deliverer` delivers them
(:mod:`.delivery`). See docs/events.md, "Webhooks".
"""

from .config import WebhookTarget, default_retries
from .delivery import Deliverer, DueEvent, Outbox, stored_tenant
from .signing import CONTENT_TYPE, Signer

__all__ = [
    "CONTENT_TYPE",
    "Deliverer",
    "DueEvent",
    "Outbox",
    "Signer",
    "WebhookTarget",
    "default_retries",
    "stored_tenant",
]
