"""The composition root of ``firmaio``: where the concrete adapters are chosen and built.

Commands ask this module for the issuer-API client and the store, never build them themselves;
:class:`Wiring` holds what a caller (a test, an embedding program) may replace.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from dataclasses import dataclass

import structlog

from firmaio.fsm.driving import Boundary, ResendPolicy
from firmaio.fsm.errors import ApiConfigurationError
from firmaio.fsm.redact import redact_secrets

from ..client import DEFAULT_TIMEOUT, IssuerClient, RetryPolicy
from ..flow_locks import FlowLocks
from ..shared_window import SharedWindow
from ..store import AsyncStore, open_async_store
from ..tenants import DEFAULT_TENANT, key_id

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


def configure_logging(verbose: bool) -> None:
    """Audit and HTTP events go to stderr as JSON lines with ``--verbose``; else only warnings."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_secrets,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.DEBUG if verbose else logging.ERROR
        ),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )


def issuer_client(args: argparse.Namespace, key: str | None = None) -> IssuerClient:
    """The issuer-API client, with ``key`` or the key from ``FIRMAIO_API_KEY``. With a
    ``postgresql://`` store, its calls count in the key's window shared by every process of
    the deployment (:mod:`~firmaio.adapters.shared_window`)."""
    key = key or os.environ.get("FIRMAIO_API_KEY", "")
    if not key:
        raise ApiConfigurationError(
            "FIRMAIO_API_KEY is not set: export your issuer API key (from the Firma con IO "
            "reserved area) before running this command"
        )
    db = getattr(args, "db", None) or ""
    shared = SharedWindow(db, key_id(key)) if db.startswith(POSTGRES_SCHEMES) else None
    return IssuerClient(key, base_url=args.base_url, retry=retry_policy(args), rate_limit=shared)


def retry_policy(args: argparse.Namespace) -> RetryPolicy:
    """The client's retry policy: the wiring's (or the default), with ``--notification-grace``."""
    retry = wiring_of(args).retry or RetryPolicy()
    grace = getattr(args, "notification_grace", None)  # checked by the parser: >= 0, finite
    if grace is not None:
        retry = dataclasses.replace(retry, notification_grace=grace)
    return retry


def resend_policy(args: argparse.Namespace) -> ResendPolicy:
    """When a notification IO did not take is tried again (``--resend-after``)."""
    policy = ResendPolicy()
    delays = getattr(args, "resend_after", None)
    if delays is not None:
        policy = dataclasses.replace(policy, delays=delays)
    renotify = getattr(args, "renotify_after", None)
    if renotify is not None:
        policy = dataclasses.replace(policy, renotify=renotify)
    return policy


def recovery_grace(args: argparse.Namespace) -> float:
    """How old an open intent must be before it is recovered: ``--recovery-grace``, else the
    call's timeout (a process may have died just before it fired) plus the notification grace."""
    given: float | None = getattr(args, "recovery_grace", None)  # checked: >= 0, finite
    if given is not None:
        return given
    call_timeout = DEFAULT_TIMEOUT.read or 0.0
    return call_timeout + retry_policy(args).notification_grace


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
