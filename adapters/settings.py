"""Settings: what every run mode is built from, made once and never changed.

The command makes one :class:`Settings` per command from its options
(:func:`firmaio.adapters.cli.wiring.settings_from_args`); a program that embeds the library makes
its own, every field with a default::

    settings = Settings(base_url=SANDBOX, worker="worker-7", resend=ResendPolicy(delays=()))

:class:`~firmaio.adapters.factory.Factory` builds the clients and drivers of every run mode from
them: one command, a batch run, the service, the queue's workers, the sync facade and the demo.
A value that cannot work is refused when the settings are made (:class:`InvalidInput`, naming the
field).
"""

from __future__ import annotations

import getpass
import math
import os
import socket
from dataclasses import dataclass, field

from firmaio.fsm.driving import RECOVERY_GRACE, CollectPolicy, PollingPolicy, ResendPolicy
from firmaio.fsm.errors import InvalidInput

from .client import DEFAULT_BASE_URL, RetryPolicy
from .webhooks.config import WebhookTarget

LOCK_WAIT = 10.0
"""Seconds a one-flow command waits for a flow another process is on (``--lock-wait``)."""

STORE_OUTAGE_LIMIT = 60.0
"""Seconds a worker or the service rides out a store outage (``--store-outage-limit``)."""


def operator() -> str:
    """The user running this process (its uid where the system names none): who a command's
    or the sync facade's records name as acting."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name, no passwd entry (a container's random uid)
        return f"uid {os.getuid()}"


def worker_name() -> str:
    """This process's worker id: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True, slots=True)
class Settings:
    """What the clients and drivers of a run mode are built from (see the module docstring)."""

    base_url: str = DEFAULT_BASE_URL
    """The issuer API's base URL."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    """How the client retries (its timeouts, its backoff, the notification's grace)."""
    polling: PollingPolicy = field(default_factory=PollingPolicy)
    """How often a READY request is checked, and until when (the activation timeout)."""
    resend: ResendPolicy = field(default_factory=ResendPolicy)
    """When a refused notification is tried again."""
    recovery_grace: float = RECOVERY_GRACE
    """Seconds a call with effects whose outcome is unknown (an open intent) is left to settle
    before the request is read back; every driver built from these settings waits it."""
    concurrency: int = 20
    """Flows driven at once (a batch run, the service; the queue's workers per tenant)."""
    watch_every: float = 3600.0
    """Seconds between two status checks of a flow at rest (the service, the queue's workers)."""
    tick: float = 5.0
    """Seconds between two passes of the service over the store."""
    retry_after: float = 30.0
    """Seconds before a worker tries again a flow whose calls failed (after the retries)."""
    rate_calls: int = 150
    """Calls per ``rate_period`` with one key, shared by every process (PostgreSQL stores)."""
    rate_period: float = 5.0
    watch_share: float = 0.2
    """The share of a key's window the watch of flows at rest may take (:mod:`.watch_share`)."""
    worker: str = field(default_factory=worker_name)
    """This process's name: a batch run, the service and a worker stamp it (with the tenant)
    on every record as its actor. Default: host and pid, when the settings are made."""
    tenant: str | None = None
    """The tenant whose flows are driven (a batch run, the service, one flow); None: the
    default one."""
    actor: str | None = None
    """Stamped on the records of one flow's driver (a command's, the demo's); never a key."""
    signed_dir: str = "signed"
    """Where signed documents are written (``<signed_dir>/<request id>/``)."""
    documents_dir: str | None = None
    """Where the service, and the workers without a tenants file, collect the signed documents
    of their tenant's flows on their own, once SIGNED (None: they are not collected)."""
    collect: CollectPolicy = field(default_factory=CollectPolicy)
    """When signed documents are collected again after a failed download, and given up."""
    metrics_port: int | None = None
    """With a port, the service and workers serve Prometheus metrics, liveness and readiness
    on ``<metrics_host>:<port>`` (``/metrics``, ``/livez``, ``/readyz``)."""
    metrics_host: str = "127.0.0.1"
    """The address the metrics port listens on (``0.0.0.0``: every interface)."""
    lock_wait: float = LOCK_WAIT
    """Seconds a command on one stored flow waits for the flow's lock while another process
    (a worker's visit) holds it, before it gives up (:class:`~firmaio.fsm.errors.FlowBusy`)."""
    store_outage_limit: float = STORE_OUTAGE_LIMIT
    """Seconds a worker or the service rides out a store it cannot reach (a restart, a
    failover) before it stops (:class:`~firmaio.fsm.errors.StoreUnavailable`)."""
    webhook: WebhookTarget | None = None
    """Where the events of the service's tenant (a worker's default tenant, without a tenants
    file) are delivered; None: nowhere (:mod:`~firmaio.adapters.webhooks`)."""

    def __post_init__(self) -> None:
        for name in ("recovery_grace", "lock_wait", "store_outage_limit"):
            _seconds(name, getattr(self, name), positive=False)
        for name in ("watch_every", "tick", "retry_after", "rate_period"):
            _seconds(name, getattr(self, name), positive=True)
        _share("watch_share", self.watch_share)
        for name in ("concurrency", "rate_calls"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InvalidInput(f"Settings.{name} must be a whole number >= 1, not {value!r}")
        port = self.metrics_port
        if port is not None and (not isinstance(port, int) or not 0 <= port <= 65535):
            raise InvalidInput(f"Settings.metrics_port must be a port, 0 to 65535, not {port!r}")
        if self.webhook is not None and not isinstance(self.webhook, WebhookTarget):
            raise InvalidInput("Settings.webhook must be a WebhookTarget")
        for name, kind in _POLICIES:
            if not isinstance(getattr(self, name), kind):
                raise InvalidInput(f"Settings.{name} must be a {kind.__name__}")
        url = self.base_url
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise InvalidInput(f"Settings.base_url must be an http(s) URL, not {url!r}")

    def worker_actor(self, tenant: str | None) -> str:
        """The actor of the records of a batch run, the service or a worker: the worker's name,
        and the tenant's after a slash."""
        return self.worker if tenant is None else f"{self.worker}/{tenant}"


_POLICIES: tuple[tuple[str, type], ...] = (
    ("retry", RetryPolicy),
    ("polling", PollingPolicy),
    ("resend", ResendPolicy),
    ("collect", CollectPolicy),
)


def _share(name: str, value: object) -> None:
    """Refuse a share that is not more than 0 and at most 1."""
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value <= 1:
        raise InvalidInput(f"Settings.{name} must be more than 0 and at most 1, not {value!r}")


def _seconds(name: str, value: object, *, positive: bool) -> None:
    """Refuse a number of seconds that is not finite, below zero, or zero where it must not be."""
    fine = isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < math.inf
    if not fine or (positive and value == 0):
        least = "> 0" if positive else ">= 0"
        raise InvalidInput(f"Settings.{name} must be seconds {least} and finite, not {value!r}")
