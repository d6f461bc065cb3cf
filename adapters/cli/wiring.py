"""The composition root of ``firmaio``: where the concrete adapters are chosen and built.

``main`` makes the command's :class:`~firmaio.adapters.settings.Settings` once, from its options
(:func:`settings_from_args`); commands ask this module for their
:class:`~firmaio.adapters.factory.Factory`, the issuer-API client and the store, never build them
themselves. :class:`Wiring` holds what a caller (a test, an embedding program) may replace.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import structlog

from firmaio.fsm.driving import Boundary, PollingPolicy, ResendPolicy
from firmaio.fsm.errors import ApiConfigurationError, InvalidInput
from firmaio.fsm.machine.answers import Answer
from firmaio.fsm.ports import Store
from firmaio.fsm.redact import redact_secrets

from ..client import DEFAULT_TIMEOUT, IssuerClient, RetryPolicy
from ..clock import SystemClock
from ..factory import Factory
from ..flow_locks import FlowLocks
from ..settings import Settings, operator
from ..shared_window import SharedWindow
from ..store import AsyncStore, open_async_store
from ..tenants import DEFAULT_TENANT, key_id
from ..watch_share import watch_calls, watch_key
from ..webhooks import WebhookTarget

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


@dataclass(frozen=True, slots=True)
class Wiring:
    """What ``main`` builds the commands with, beside their arguments."""

    on_boundary: Boundary | None = None
    """Called at every step boundary of a durable flow (``before_call``, ``after_call``,
    ``after_write``): the crash tests stop a real process there."""
    retry: RetryPolicy | None = None
    """How the issuer-API client retries (default: :class:`RetryPolicy`'s defaults)."""


def wiring_of(args: argparse.Namespace) -> Wiring:
    """The wiring ``main`` put on the parsed arguments."""
    wiring: Wiring = getattr(args, "wiring", None) or Wiring()
    return wiring


def settings_of(args: argparse.Namespace) -> Settings:
    """The settings ``main`` made from the parsed arguments (:func:`settings_from_args`)."""
    settings: Settings | None = getattr(args, "settings", None)
    return settings if settings is not None else settings_from_args(args, wiring_of(args))


def factory_of(args: argparse.Namespace, store: Store | None = None) -> Factory:
    """The factory of the command's clients and drivers: its settings, the system clock,
    ``store`` (durable flows) and the wiring's boundary callback."""
    return Factory(settings_of(args), SystemClock(), store, on_boundary=wiring_of(args).on_boundary)


_AS_GIVEN = (
    *("base_url", "concurrency", "watch_every", "watch_share", "tick", "retry_after", "worker"),
)
_SECONDS_AS_GIVEN = ("lock_wait", "store_outage_limit")
"""Settings taken as they are from the option of the same name, where the command has it."""


def settings_from_args(args: argparse.Namespace, wiring: Wiring) -> Settings:
    """The command's settings, made once from its options: the client's retry policy (the
    wiring's, with ``--notification-grace``), ``--activation-timeout``, ``--resend-after``,
    ``--renotify-after``, the recovery grace (the call's timeout plus the notification grace,
    or ``--recovery-grace``), ``--tenant``, the actor (:func:`actor_of`), ``--metrics-port``,
    ``--to`` (where signed documents go), ``--documents-dir`` (where they are collected) and
    the options of :data:`_AS_GIVEN` and :data:`_SECONDS_AS_GIVEN`."""
    given = {name: getattr(args, name) for name in _AS_GIVEN if getattr(args, name, None)}
    given |= {n: getattr(args, n) for n in _SECONDS_AS_GIVEN if getattr(args, n, None) is not None}
    if getattr(args, "metrics_port", None) is not None:  # 0: a free port
        given["metrics_port"] = args.metrics_port
        given["metrics_host"] = args.metrics_host
    if getattr(args, "to", None):
        given["signed_dir"] = args.to
    if getattr(args, "documents_dir", None):
        given["documents_dir"] = args.documents_dir
    retry = wiring.retry or RetryPolicy()
    grace = getattr(args, "notification_grace", None)  # checked by the parser: >= 0, finite
    if grace is not None:
        retry = dataclasses.replace(retry, notification_grace=grace)
    recovery = getattr(args, "recovery_grace", None)
    if recovery is None:  # a process may have died just before the call's timeout fired
        recovery = (DEFAULT_TIMEOUT.read or 0.0) + retry.notification_grace
    timeout = getattr(args, "activation_timeout", None)
    polling = PollingPolicy() if timeout is None else PollingPolicy(activation_timeout=timeout)
    return Settings(
        webhook=webhook_of(args),
        retry=retry,
        polling=polling,
        resend=_resend_policy(args),
        recovery_grace=recovery,
        tenant=tenant_of(args),
        actor=actor_of(args),
        **given,
    )


WEBHOOK_SECRET_ENV = "FIRMAIO_WEBHOOK_SECRET"
"""Where the default tenant's webhook secret is read from, unless an option names another."""


def webhook_of(args: argparse.Namespace) -> WebhookTarget | None:
    """The webhook of ``--webhook-url`` (or ``$FIRMAIO_WEBHOOK_URL``) for the command's tenant,
    its secret from ``--webhook-secret-file`` or the variable ``--webhook-secret-env`` names
    (default ``$FIRMAIO_WEBHOOK_SECRET``); None without a URL. With a tenants file, the file
    says it per tenant: an option too is refused."""
    if not hasattr(args, "webhook_url"):
        return None
    given = [f"--{n}" for n in ("webhook_url", "webhook_secret_env", "webhook_secret_file")
             if getattr(args, n)]  # fmt: skip
    if getattr(args, "tenants", None):
        if given:
            raise InvalidInput(
                f"{', '.join(g.replace('_', '-') for g in given)}: with --tenants, each "
                "tenant's webhook is in the tenants file (webhook_url, webhook_secret_env ...)"
            )
        return None
    url = args.webhook_url or os.environ.get("FIRMAIO_WEBHOOK_URL", "")
    if not url:
        return None
    secret_file = args.webhook_secret_file
    if secret_file and args.webhook_secret_env:
        raise InvalidInput("give --webhook-secret-env or --webhook-secret-file, not both")
    secret_env = None if secret_file else (args.webhook_secret_env or WEBHOOK_SECRET_ENV)
    retries = args.webhook_retries
    return WebhookTarget(
        getattr(args, "tenant", None) or DEFAULT_TENANT,
        url,
        secret_env=secret_env,
        secret_file=None if secret_file is None else Path(secret_file),
        **({} if retries is None else {"retries": retries}),
    )


def actor_of(args: argparse.Namespace) -> str | None:
    """Who a one-flow command's records name: ``--actor`` or the operator's user name, with
    the command (``alice (firmaio cancel)``); None for commands without ``--actor`` (a batch
    run, the service and the workers name the worker)."""
    if not hasattr(args, "actor"):
        return None
    return f"{args.actor or operator()} (firmaio {args.command})"


LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
          "error": logging.ERROR}  # fmt: skip


def configure_logging(args: argparse.Namespace) -> None:
    """The one place logging is configured: the library's events on stderr, one JSON object a
    line (``--log-format json``, the default) or for a person (``console``), from
    ``--log-level`` (``error`` by default; ``info`` with ``-v``). The library itself configures
    nothing (:mod:`firmaio.fsm.logs`)."""
    level = getattr(args, "log_level", None) or (
        "info" if getattr(args, "verbose", False) else "error"
    )
    console = getattr(args, "log_format", None) == "console"
    renderer: structlog.types.Processor = (
        structlog.dev.ConsoleRenderer(colors=False)
        if console
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(LEVELS[level]),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )


def issuer_client(args: argparse.Namespace, key: str | None = None) -> IssuerClient:
    """The command's issuer-API client, with ``key`` or the key from ``FIRMAIO_API_KEY``. With a
    ``postgresql://`` store (``--db``), its calls count in the key's window shared by every
    process of the deployment (:mod:`~firmaio.adapters.shared_window`)."""
    key = _key(key)
    return factory_of(args).client(
        key, rate_limit=_shared_window(args, key), watch_window=_watch_window(args, key)
    )


BASE_URL_NAMED = "the base URL (--base-url or FIRMAIO_BASE_URL)"
"""How a command's error names the base URL setting."""


async def checked_client(
    args: argparse.Namespace, key: str | None = None, *, key_named: str = "FIRMAIO_API_KEY"
) -> IssuerClient:
    """:func:`issuer_client`, once one call has shown the base URL and the key right (``run``,
    ``serve`` and ``send`` check them before they touch any flow): else the error names the
    setting, ``--base-url`` or ``key_named``."""
    key = _key(key)
    return await factory_of(args).checked_client(
        key,
        rate_limit=_shared_window(args, key),
        watch_window=_watch_window(args, key),
        base_url_named=BASE_URL_NAMED,
        key_named=key_named,
        tenant=settings_of(args).tenant,
    )


class NoCalls:
    """The issuer API of a command that calls none (``delivered``: a record of what happened
    outside the service): no key is read, and a call would be refused, naming the command."""

    def __init__(self, command: str) -> None:
        self.command = command

    def _refused(self, request_id: str) -> Answer:
        raise ApiConfigurationError(
            f"firmaio {self.command} calls nothing on the issuer API, yet request {request_id} "
            "was to be called: drive the flow with `firmaio notify` or `firmaio run` first"
        )

    async def get_request(self, request_id: str) -> Answer:
        return self._refused(request_id)

    async def send_notification(self, request_id: str) -> Answer:
        return self._refused(request_id)

    async def cancel_request(self, request_id: str) -> Answer:
        return self._refused(request_id)


def _key(key: str | None) -> str:
    key = key or os.environ.get("FIRMAIO_API_KEY", "")
    if not key:
        raise ApiConfigurationError(
            "FIRMAIO_API_KEY is not set: export your issuer API key (from the Firma con IO "
            "reserved area) before running this command"
        )
    return key


def _shared_window(args: argparse.Namespace, key: str) -> SharedWindow | None:
    settings, db = settings_of(args), getattr(args, "db", None) or ""
    if not db.startswith(POSTGRES_SCHEMES):
        return None
    calls, period = settings.rate_calls, settings.rate_period
    return SharedWindow(db, key_id(key), calls=calls, period=period)


def _watch_window(args: argparse.Namespace, key: str) -> SharedWindow | None:
    """The watch's share of the key's window (:mod:`~firmaio.adapters.watch_share`), shared
    like the key's window with a ``postgresql://`` store."""
    settings, db = settings_of(args), getattr(args, "db", None) or ""
    if not db.startswith(POSTGRES_SCHEMES):
        return None
    calls = watch_calls(settings.rate_calls, settings.watch_share)
    return SharedWindow(db, watch_key(key_id(key)), calls=calls, period=settings.rate_period)


def _resend_policy(args: argparse.Namespace) -> ResendPolicy:
    """When a notification IO did not take is tried again (``--resend-after``)."""
    policy = ResendPolicy()
    delays = getattr(args, "resend_after", None)
    if delays is not None:
        policy = dataclasses.replace(policy, delays=delays)
    renotify = getattr(args, "renotify_after", None)
    if renotify is not None:
        policy = dataclasses.replace(policy, renotify=renotify)
    return policy


def tenant_of(args: argparse.Namespace) -> str | None:
    """The tenant a command's flows belong to (``--tenant``); None for the default one."""
    tenant: str | None = getattr(args, "tenant", None)
    return None if tenant in (None, DEFAULT_TENANT) else tenant


def flow_locks(db: str | None) -> FlowLocks | None:
    """With a ``postgresql://`` store, the locks that keep every other process of the
    deployment off a flow while this one drives it (:mod:`~firmaio.adapters.flow_locks`)."""
    return FlowLocks(db) if db and db.startswith(POSTGRES_SCHEMES) else None


def flow_store(db: str, *, read_only: bool = False) -> AsyncStore:
    """The store at ``db`` (a SQLite file or a ``postgresql://`` URL); a read opens it
    ``read_only``: nothing is created, migrated or written."""
    return open_async_store(db, read_only=read_only)
