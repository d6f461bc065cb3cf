"""The argument parser of ``firmaio``: every command, flag and default, and nothing else."""

from __future__ import annotations

import argparse
import math
import os
from typing import NoReturn
from urllib.parse import urlsplit

from firmaio.fsm.errors import InvalidInput, InvalidRequestId
from firmaio.fsm.ids import check_request_id
from firmaio.fsm.render import FORMATS

from ..client import DEFAULT_BASE_URL
from ..tenants import Tenant
from .audit import cmd_audit_show, cmd_audit_verify
from .demo import cmd_demo, cmd_sandbox
from .diagram import cmd_diagram
from .flows import cmd_cancel, cmd_notify, cmd_run, cmd_watch
from .queue import cmd_enqueue, cmd_worker
from .report import cmd_report
from .serve import cmd_serve


def _base_url_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base-url",
        default=os.environ.get("FIRMAIO_BASE_URL", DEFAULT_BASE_URL),
        type=_base_url,
        help="issuer API base URL (default: $FIRMAIO_BASE_URL or production)",
    )


def _api_options(parser: argparse.ArgumentParser) -> None:
    _base_url_option(parser)
    parser.add_argument(
        "--notification-grace",
        type=_seconds,
        metavar="SECONDS",
        help="how long a notification whose answer was lost is left to settle at the service "
        "before the request is read back (default 30)",
    )
    parser.add_argument(
        "--resend-after",
        type=_delays,
        metavar="SECONDS,...",
        help="when a notification IO did not take is tried again: the least seconds after each "
        "refusal, one per later attempt (default 5,30,120; 'none' for no later attempt)",
    )
    parser.add_argument(
        "--renotify-after",
        type=_delays,
        metavar="DELAY,...",
        help="re-notify a citizen who refused (messages off, no IO profile) this long after each "
        "refusal, when a later run finds it due: seconds or 30m, 12h, 1d (default: never)",
    )


def _seconds(text: str) -> float:
    """A number of seconds, ``>= 0`` and finite."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 <= value < math.inf:
        raise argparse.ArgumentTypeError(f"{text!r}: seconds must be >= 0 and finite")
    return value


def _positive_seconds(text: str) -> float:
    """A number of seconds, ``> 0`` and finite."""
    value = _seconds(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"{text!r}: seconds must be more than 0")
    return value


def _count(text: str) -> int:
    """A whole number, ``>= 1``."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: must be 1 or more")
    return value


def _port(text: str) -> int:
    """A TCP port (0 picks a free one)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: a port is 0 to 65535")
    return value


def _base_url(text: str) -> str:
    """An ``http://`` or ``https://`` URL with a host."""
    parts = urlsplit(text)
    try:
        parts.port  # noqa: B018 - reading it checks it: a port that is not 0..65535 raises
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} has a port that is not 0 to 65535") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"{text!r} is not an http:// or https:// URL with a host")
    return text


def _request_id(text: str) -> str:
    """A signature request id, checked before anything is called or stored."""
    try:
        return check_request_id(text)
    except InvalidRequestId as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _tenant(text: str) -> str:
    """A tenant's name (as a tenants file names it)."""
    try:
        return Tenant(text, key_env="UNUSED").name
    except InvalidInput as error:
        raise argparse.ArgumentTypeError(str(error)) from None


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
MAX_DELAY = 366 * 86_400.0
"""The longest delay ``--resend-after`` and ``--renotify-after`` take: a request lives 90 days."""


def _delay(text: str) -> float:
    text = text.strip().lower()
    unit = _UNITS.get(text[-1:]) if text else None
    return float(text[:-1]) * unit if unit is not None else float(text)


def _delays(text: str) -> tuple[float, ...]:
    """Delays, comma-separated: seconds, or with a unit (``30m``, ``12h``, ``1d``); ``none``."""
    if text.strip().lower() in ("", "none"):
        return ()
    try:
        delays = tuple(_delay(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of seconds (e.g. 5,30,120) or 'none'"
        ) from None
    if not all(0 <= d <= MAX_DELAY for d in delays):
        raise argparse.ArgumentTypeError(
            f"{text!r}: each delay must be from 0 seconds to a year ({MAX_DELAY:.0f} s)"
        )
    return delays


def _request_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("request_id", type=_request_id, help="the signature request id")
    _api_options(parser)
    parser.add_argument("--json", action="store_true", help="print the outcome as JSON")
    parser.add_argument("--qr-dir", default="out", help="where a fallback's QR code is written")
    parser.add_argument(
        "--activation-timeout",
        type=_positive_seconds,
        default=120.0,
        help="seconds a request may stay READY before the flow fails (default 120)",
    )
    parser.add_argument(
        "--db", help="keep the flow in this store (SQLite file or postgresql:// URL): resumable"
    )
    parser.add_argument(
        "--tenant", type=_tenant, help="with --db: the flow's tenant (its key is FIRMAIO_API_KEY)"
    )


def _checkpoint_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--checkpoint", metavar="FILE", help="check the trails against this signed checkpoint"
    )
    parser.add_argument(
        "--key-file",
        metavar="PATH",
        help="the checkpoint's secret key, held outside the database (default: "
        "$FIRMAIO_CHECKPOINT_KEY)",
    )


class _Parser(argparse.ArgumentParser):
    """argparse, with a bad argument raised as :class:`InvalidInput` for ``main`` to report
    like every other error (one line, exit 2, and a JSON answer under ``--json``)."""

    def error(self, message: str) -> NoReturn:
        raise InvalidInput(f"{self.prog}: {message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``firmaio``."""
    parser = _Parser(
        prog="firmaio",
        description="Drive Firma con IO signature requests through an audited state machine.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log events to stderr (JSON)")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="three citizens end to end against the local sandbox")
    demo.add_argument("--qr-dir", default="out", help="where to write QR codes (default: out/)")
    demo.add_argument("--activation-delay", type=_seconds, default=3.0, help=argparse.SUPPRESS)
    demo.add_argument(
        "--db", help="keep the demo's flows in this new SQLite file (for `firmaio report`)"
    )
    demo.set_defaults(func=cmd_demo)

    notify = sub.add_parser("notify", help="READY -> notified, or the fallback for the citizen")
    _request_options(notify)
    notify.add_argument(
        "--again",
        action="store_true",
        help="with --db: re-notify a flow resting in FALLBACK_SUGGESTED now (the citizen turned "
        "messages on, say)",
    )
    notify.set_defaults(func=cmd_notify)

    watch = sub.add_parser("watch", help="check a request until it is closed")
    _request_options(watch)
    watch.add_argument("--interval", type=_seconds, default=30.0, help="seconds between checks")
    watch.add_argument("--max-checks", type=_count, default=2880, help="give up after this many")
    watch.set_defaults(func=cmd_watch)

    cancel = sub.add_parser("cancel", help="cancel a request (once WAIT_FOR_SIGNATURE)")
    _request_options(cancel)
    cancel.set_defaults(func=cmd_cancel)

    run = sub.add_parser("run", help="drive many requests to rest, concurrently and resumably")
    run.add_argument(
        "request_ids", nargs="*", type=_request_id, metavar="ID", help="signature request ids"
    )
    run.add_argument("--dossier", type=_request_id, help="also every request of this dossier")
    run.add_argument("--db", default="flows.sqlite", help="SQLite file or postgresql:// URL")
    _api_options(run)
    run.add_argument("--concurrency", type=_count, default=20, help="flows driven at once")
    run.add_argument("--activation-timeout", type=_positive_seconds, default=120.0)
    run.add_argument("--worker", help="this process's name in the summary (default host:pid)")
    run.add_argument("--tenant", type=_tenant, help="register new flows for this tenant")
    run.add_argument("--json", action="store_true", help="print the summary as JSON")
    run.set_defaults(func=cmd_run)

    serve = sub.add_parser("serve", help="keep every stored flow moving until SIGTERM")
    serve.add_argument(
        "request_ids", nargs="*", type=_request_id, metavar="ID", help="register these too"
    )
    serve.add_argument("--db", default="flows.sqlite", help="SQLite file or postgresql:// URL")
    _api_options(serve)
    serve.add_argument("--concurrency", type=_count, default=20, help="flows driven at once")
    serve.add_argument("--activation-timeout", type=_positive_seconds, default=120.0)
    serve.add_argument("--worker", help="this worker's name (default host:pid)")
    serve.add_argument(
        "--dossier",
        type=_request_id,
        help="register every request of this dossier too; their statuses are read through its "
        "listing",
    )
    serve.add_argument(
        "--tenant", type=_tenant, help="serve this tenant's flows (default: flows with none)"
    )
    serve.add_argument(
        "--tick", type=_positive_seconds, default=5.0, help="seconds between passes (5)"
    )
    serve.add_argument(
        "--watch-every",
        type=_positive_seconds,
        default=3600.0,
        help="seconds between two status checks of a flow at rest (3600)",
    )
    serve.add_argument(
        "--metrics-port",
        type=_port,
        help="serve Prometheus metrics on 127.0.0.1:PORT/metrics (needs the [metrics] extra)",
    )
    serve.add_argument("--json", action="store_true", help="print the summary as JSON")
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser(
        "worker", help="run stored flows as jobs, one of many workers on one PostgreSQL store"
    )
    worker.add_argument("--db", required=True, help="postgresql:// URL of the shared store")
    _api_options(worker)
    worker.add_argument("--tenants", metavar="FILE", help="tenants file (TOML; see docs)")
    worker.add_argument("--concurrency", type=_count, default=50, help="flows driven at once")
    worker.add_argument("--activation-timeout", type=_positive_seconds, default=120.0)
    worker.add_argument("--worker", help="this worker's name (default: Procrastinate's)")
    worker.add_argument(
        "--watch-every",
        type=_positive_seconds,
        default=3600.0,
        help="seconds between two status checks of a flow at rest (3600)",
    )
    worker.add_argument(
        "--retry-after",
        type=_positive_seconds,
        default=30.0,
        help="seconds before a flow whose calls failed is tried again (30)",
    )
    worker.add_argument(
        "--stalled-after",
        type=_positive_seconds,
        default=30.0,
        help="seconds without a heartbeat before a worker's flows go to the others (30)",
    )
    worker.add_argument("--json", action="store_true", help="print the summary as JSON")
    worker.set_defaults(func=cmd_worker)

    enqueue = sub.add_parser("enqueue", help="register flows of a tenant and queue them")
    enqueue.add_argument(
        "request_ids", nargs="*", type=_request_id, metavar="ID", help="signature request ids"
    )
    enqueue.add_argument("--db", required=True, help="postgresql:// URL of the shared store")
    enqueue.add_argument(
        "--tenant", type=_tenant, default="default", help="the flows' tenant (default)"
    )
    enqueue.add_argument("--tenants", metavar="FILE", help="tenants file (TOML; see docs)")
    enqueue.add_argument(
        "--dossier",
        type=_request_id,
        help="also every request of this dossier (listed with the tenant's key); the workers "
        "read these flows' statuses through the dossier's listing",
    )
    _base_url_option(enqueue)  # for --dossier
    enqueue.add_argument(
        "--open", action="store_true", help="also every flow of the store not yet closed"
    )
    enqueue.add_argument("--activation-timeout", type=_positive_seconds, default=120.0)
    enqueue.add_argument("--json", action="store_true", help="print the summary as JSON")
    enqueue.set_defaults(func=cmd_enqueue)

    audit = sub.add_parser("audit", help="check or show the stored audit trail")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help="check every hash chain")
    verify.add_argument("--db", default="flows.sqlite")
    verify.add_argument("--json", action="store_true", help="print the verdict as JSON")
    _checkpoint_options(verify)
    verify.add_argument(
        "--write-checkpoint",
        metavar="FILE",
        help="sign the heads of every chain with the key and write the checkpoint to FILE "
        "(only when every chain is intact)",
    )
    verify.set_defaults(func=cmd_audit_verify)
    show = audit_sub.add_parser("show", help="print one flow's trail")
    show.add_argument("request_id", type=_request_id)
    show.add_argument("--db", default="flows.sqlite")
    show.add_argument("--diagram", choices=("mermaid", "dot"), help="draw it instead")
    show.add_argument("--json", action="store_true", help="print the stored records as JSON")
    show.set_defaults(func=cmd_audit_show)

    report = sub.add_parser(
        "report", help="a self-contained HTML report of stored flows for compliance review"
    )
    report.add_argument(
        "request_ids", nargs="*", type=_request_id, metavar="ID", help="these flows (default: all)"
    )
    report.add_argument("--db", default="flows.sqlite", help="SQLite file or postgresql:// URL")
    report.add_argument("--out", default="out/report.html", help="the HTML file to write")
    _checkpoint_options(report)
    report.set_defaults(func=cmd_report)

    diagram = sub.add_parser("diagram", help="render the transition table")
    diagram.add_argument("--format", choices=FORMATS, default="mermaid")
    diagram.add_argument("--out", help="write to this file instead of stdout")
    diagram.add_argument("--write", metavar="DIR", help="write every format into DIR")
    diagram.add_argument(
        "--readme",
        metavar="FILE",
        action="append",
        help="refresh the generated blocks of FILE (repeatable: README.md, docs/machine.md)",
    )
    diagram.set_defaults(func=cmd_diagram)

    sandbox = sub.add_parser(
        "sandbox",
        help="serve a local issuer API on loopback",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    sandbox.add_argument("--host", default="127.0.0.1", help="address to listen on")
    sandbox.add_argument("--port", type=_port, default=7071, help="port (0: a free one)")
    sandbox.add_argument(
        "--activation-delay", type=_seconds, default=3.0, help="seconds from READY to activated"
    )
    sandbox.add_argument("--rate-calls", type=_count, default=150, help="calls per period per key")
    sandbox.add_argument("--rate-period", type=_positive_seconds, default=5.0, help="seconds")
    sandbox.add_argument(
        "--key", action="append", default=["sandbox-key"], help="accepted key, KEY[:ISSUER_ID]"
    )
    sandbox.set_defaults(func=cmd_sandbox)
    return parser
