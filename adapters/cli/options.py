"""Options several ``firmaio`` commands share: the API's, and one request's."""

from __future__ import annotations

import argparse
import os

from firmaio.fsm.driving import RECOVERY_GRACE, ResendPolicy
from firmaio.fsm.errors import InvalidInput
from firmaio.fsm.machine import DEFAULT_ACTIVATION_TIMEOUT

from ..client import DEFAULT_BASE_URL
from ..client.transport import NOTIFICATION_GRACE
from ..settings import LOCK_WAIT, STORE_OUTAGE_LIMIT
from ..watch_share import DEFAULT_WATCH_SHARE
from ..webhooks import default_retries
from .argtypes import (
    actor,
    base_url,
    delays,
    port,
    positive_seconds,
    request_id,
    seconds,
    share,
    tenant,
)


def _seconds(values: tuple[float, ...]) -> str:
    return ",".join(f"{value:g}" for value in values)


def need_db(args: argparse.Namespace) -> str:
    """The store ``--db`` names (before or after a subcommand), or ``$FIRMAIO_DB``: never a
    default (one would make, or read, a store where the command happens to run)."""
    if not getattr(args, "db", None):
        command = getattr(args, "invocation", None) or "this command"
        raise InvalidInput(f"firmaio {command}: name the store: --db (or $FIRMAIO_DB)")
    db: str = args.db
    return db


def base_url_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base-url",
        default=os.environ.get("FIRMAIO_BASE_URL", DEFAULT_BASE_URL),
        type=base_url,
        help="issuer API base URL (default: $FIRMAIO_BASE_URL or production)",
    )


def documents_dir_option(parser: argparse.ArgumentParser, whose: str) -> None:
    parser.add_argument(
        "--documents-dir",
        metavar="DIR",
        default=os.environ.get("FIRMAIO_DOCUMENTS_DIR") or None,
        help=f"collect the signed documents of {whose} into DIR as soon as a flow is SIGNED "
        "(default: $FIRMAIO_DOCUMENTS_DIR, else not collected)",
    )


def watch_every_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--watch-every",
        type=positive_seconds,
        default=3600.0,
        help="seconds between two status checks of a flow at rest (%(default)g)",
    )
    parser.add_argument(
        "--watch-share",
        type=share,
        default=DEFAULT_WATCH_SHARE,
        help="the share of the API key's rate window the status checks of flows at rest may "
        "take; they wait while calls to drive flows do (default %(default)g)",
    )


def activation_timeout_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--activation-timeout",
        type=positive_seconds,
        default=DEFAULT_ACTIVATION_TIMEOUT,
        help="seconds a request may stay READY before its flow fails (default %(default)g)",
    )


def api_options(parser: argparse.ArgumentParser, *, notifies: bool = True) -> None:
    """The API's options; without ``notifies``, only those of a command that never notifies
    (the base URL and the recovery grace)."""
    base_url_option(parser)
    if notifies:
        _notification_options(parser)
    parser.add_argument(
        "--recovery-grace",
        type=seconds,
        metavar="SECONDS",
        help="how long a call with effects whose outcome is unknown (an open intent: a crash, "
        "a lost answer, a stop) is left to settle before the request is read back (default: "
        f"the call's timeout plus the notification grace, {RECOVERY_GRACE:g})",
    )


def _notification_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--notification-grace",
        type=seconds,
        metavar="SECONDS",
        help="how long a notification whose answer was lost is left to settle at the service "
        f"before the request is read back (default {NOTIFICATION_GRACE:g})",
    )
    parser.add_argument(
        "--resend-after",
        type=delays,
        metavar="SECONDS,...",
        help="when a notification IO did not take is tried again: the least seconds after each "
        f"refusal, one per later attempt (default {_seconds(ResendPolicy().delays)}; 'none' for "
        "no later attempt)",
    )
    parser.add_argument(
        "--renotify-after",
        type=delays,
        metavar="DELAY,...",
        help="re-notify a citizen who refused (messages off, no IO profile) this long after each "
        "refusal, when a later run finds it due: seconds or 30m, 12h, 1d (default: never)",
    )


def request_options(
    parser: argparse.ArgumentParser,
    *,
    positional: bool = True,
    id_help: str = "the signature request id",
    notifies: bool = True,
    calls_api: bool = True,
) -> None:
    """The options of a command on one flow; without ``notifies`` (``fetch``, ``delivered``),
    none of those about notifying (the graces and delays, ``--qr-dir``), and the positional is
    named FLOW_ID; without ``calls_api`` (``delivered``), none of the API's either."""
    if positional:
        metavar = "ID" if notifies else "FLOW_ID"
        parser.add_argument("request_id", type=request_id, metavar=metavar, help=id_help)
    if calls_api:
        api_options(parser, notifies=notifies)
    parser.add_argument("--json", action="store_true", help="print the outcome as JSON")
    if notifies:
        parser.add_argument("--qr-dir", default="out", help="where a fallback's QR code is written")
    if calls_api:
        activation_timeout_option(parser)
    parser.add_argument(
        "--db", help="keep the flow in this store (SQLite file or postgresql:// URL): resumable"
    )
    key = " (its key is FIRMAIO_API_KEY)" if calls_api else ""
    parser.add_argument("--tenant", type=tenant, help=f"with --db: the flow's tenant{key}")
    parser.add_argument(
        "--actor",
        type=actor,
        help="who the records name as acting, with the command (default: your user name)",
    )
    parser.add_argument(
        "--lock-wait",
        type=seconds,
        default=LOCK_WAIT,
        metavar="SECONDS",
        help="with a postgresql:// --db: how long to wait for a flow another process is on "
        "before giving up, exit 5 (%(default)g)",
    )


def store_outage_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store-outage-limit",
        type=seconds,
        default=STORE_OUTAGE_LIMIT,
        metavar="SECONDS",
        help="how long to ride out a store that cannot be reached (a restart, a failover) "
        "before stopping, exit 7 (%(default)g)",
    )


def webhook_options(parser: argparse.ArgumentParser) -> None:
    """Where the default tenant's events are delivered, without a tenants file."""
    parser.add_argument(
        "--webhook-url",
        metavar="URL",
        help="deliver the flows' events, signed, to this http(s) URL (default: "
        "$FIRMAIO_WEBHOOK_URL; none: not delivered; with --tenants, the file says it per tenant)",
    )
    parser.add_argument(
        "--webhook-secret-env",
        metavar="NAME",
        help="the environment variable holding the webhook's secret, whsec_... (default "
        "FIRMAIO_WEBHOOK_SECRET)",
    )
    parser.add_argument(
        "--webhook-secret-file",
        metavar="FILE",
        help="read the webhook's secret from this file (mode 600) instead",
    )
    parser.add_argument(
        "--webhook-retries",
        type=delays,
        metavar="DELAY,...",
        help="seconds (or 30m, 12h) before each retry of an event its receiver did not take; "
        f"then it is dead (default {_seconds(default_retries())})",
    )


def metrics_options(parser: argparse.ArgumentParser) -> None:
    """``--metrics-port`` and ``--metrics-host``: liveness, readiness and Prometheus metrics."""
    parser.add_argument(
        "--metrics-port",
        type=port,
        help="serve /metrics, /livez and /readyz on PORT (needs the [metrics] extra; 0: a free "
        "port, printed at start)",
    )
    parser.add_argument(
        "--metrics-host",
        default="127.0.0.1",
        help="the address the metrics port listens on (%(default)s; 0.0.0.0: every interface)",
    )
