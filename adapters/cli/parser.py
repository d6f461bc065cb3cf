"""The argument parser of ``firmaio``: every command, flag and default, and nothing else."""

from __future__ import annotations

import argparse

from firmaio.fsm.diagrams import FORMATS

from ..ratelimit import GATEWAY_CALLS, GATEWAY_PERIOD
from .argtypes import (
    count,
    port,
    positive_seconds,
    request_id,
    seconds,
    tenant,
)
from .audit import cmd_audit_show, cmd_audit_verify
from .batch import add_batch_command
from .check import cmd_check
from .console import add_console_command
from .conventions import Parser, finish
from .demo import cmd_demo, cmd_sandbox
from .diagram import cmd_diagram
from .events import add_events_command
from .evidence import add_evidence_command
from .flows import cmd_cancel, cmd_notify, cmd_run, cmd_watch
from .options import (
    activation_timeout_option,
    api_options,
    base_url_option,
    documents_dir_option,
    metrics_options,
    request_options,
    store_outage_option,
    watch_every_option,
    webhook_options,
)
from .parser_send import add_issuer_commands
from .queue import cmd_enqueue, cmd_worker
from .report import cmd_report
from .serve import cmd_serve


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
    parser.add_argument(
        "--public-key", metavar="PEM", help="check an Ed25519 checkpoint with this public key"
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``firmaio``."""
    parser = Parser(
        prog="firmaio",
        description="Drive Firma con IO signature requests through an audited state machine.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="three citizens end to end against the local sandbox")
    demo.add_argument("--qr-dir", default="out", help="where to write QR codes (default: out/)")
    demo.add_argument("--activation-delay", type=seconds, default=3.0, help=argparse.SUPPRESS)
    demo.add_argument(
        "--db", help="keep the demo's flows in this new SQLite file (for `firmaio report`)"
    )
    demo.add_argument("--pdf", help="the PDF to send (default: the sandbox's sample form)")
    demo.set_defaults(func=cmd_demo)

    notify = sub.add_parser("notify", help="READY -> notified, or the fallback for the citizen")
    request_options(notify)
    notify.add_argument(
        "--again",
        action="store_true",
        help="with --db: re-notify a flow resting in FALLBACK_SUGGESTED now (the citizen turned "
        "messages on, say)",
    )
    notify.set_defaults(func=cmd_notify)

    add_issuer_commands(sub)
    add_batch_command(sub)

    watch = sub.add_parser("watch", help="check a request until it is closed")
    request_options(watch)
    watch.add_argument("--interval", type=seconds, default=30.0, help="seconds between checks")
    watch.add_argument("--max-checks", type=count, default=2880, help="give up after this many")
    watch.set_defaults(func=cmd_watch)

    cancel = sub.add_parser("cancel", help="cancel a request (once WAIT_FOR_SIGNATURE)")
    request_options(cancel)
    cancel.set_defaults(func=cmd_cancel)

    run = sub.add_parser("run", help="drive many requests to rest, concurrently and resumably")
    run.add_argument(
        "request_ids", nargs="*", type=request_id, metavar="ID", help="signature request ids"
    )
    run.add_argument("--dossier", type=request_id, help="also every request of this dossier")
    run.add_argument("--db", required=True, help="SQLite file or postgresql:// URL")
    api_options(run)
    run.add_argument("--concurrency", type=count, default=20, help="flows driven at once")
    activation_timeout_option(run)
    run.add_argument("--worker", help="this process's name in the summary (default host:pid)")
    run.add_argument("--tenant", type=tenant, help="register new flows for this tenant")
    run.add_argument("--json", action="store_true", help="print the summary as JSON")
    run.set_defaults(func=cmd_run)

    serve = sub.add_parser("serve", help="keep every stored flow moving until SIGTERM")
    serve.add_argument(
        "request_ids", nargs="*", type=request_id, metavar="ID", help="register these too"
    )
    serve.add_argument("--db", required=True, help="SQLite file or postgresql:// URL")
    api_options(serve)
    serve.add_argument("--concurrency", type=count, default=20, help="flows driven at once")
    activation_timeout_option(serve)
    serve.add_argument("--worker", help="this worker's name (default host:pid)")
    serve.add_argument(
        "--dossier",
        type=request_id,
        help="register every request of this dossier too; their statuses are read through its "
        "listing",
    )
    serve.add_argument(
        "--tenant", type=tenant, help="serve this tenant's flows (default: flows with none)"
    )
    serve.add_argument(
        "--tick", type=positive_seconds, default=5.0, help="seconds between passes (%(default)g)"
    )
    watch_every_option(serve)
    documents_dir_option(serve, "the served tenant's flows")
    store_outage_option(serve)
    webhook_options(serve)
    metrics_options(serve)
    serve.add_argument("--json", action="store_true", help="print the summary as JSON")
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser(
        "worker", help="run stored flows as jobs, one of many workers on one PostgreSQL store"
    )
    worker.add_argument("--db", required=True, help="postgresql:// URL of the shared store")
    api_options(worker)
    worker.add_argument("--tenants", metavar="FILE", help="tenants file (TOML; see docs)")
    documents_dir_option(worker, "the default tenant (no --tenants; else documents_dir there)")
    worker.add_argument(
        "--concurrency",
        type=count,
        default=50,
        help="flows driven at once by this worker, all tenants together (%(default)d)",
    )
    activation_timeout_option(worker)
    worker.add_argument("--worker", help="this worker's name in records (default: host:pid)")
    watch_every_option(worker)
    worker.add_argument(
        "--retry-after",
        type=positive_seconds,
        default=30.0,
        help="seconds before a flow whose calls failed is tried again (%(default)g)",
    )
    worker.add_argument(
        "--stalled-after",
        type=positive_seconds,
        default=30.0,
        help="seconds without a heartbeat before a worker's flows go to the others (%(default)g)",
    )
    store_outage_option(worker)
    webhook_options(worker)
    metrics_options(worker)
    worker.add_argument("--json", action="store_true", help="print the summary as JSON")
    worker.set_defaults(func=cmd_worker)

    enqueue = sub.add_parser("enqueue", help="register flows of a tenant and queue them")
    enqueue.add_argument(
        "request_ids", nargs="*", type=request_id, metavar="ID", help="signature request ids"
    )
    enqueue.add_argument("--db", required=True, help="postgresql:// URL of the shared store")
    enqueue.add_argument(
        "--tenant", type=tenant, default="default", help="the flows' tenant (default)"
    )
    enqueue.add_argument("--tenants", metavar="FILE", help="tenants file (TOML; see docs)")
    enqueue.add_argument(
        "--dossier",
        type=request_id,
        help="also every request of this dossier (listed with the tenant's key); the workers "
        "read these flows' statuses through the dossier's listing",
    )
    base_url_option(enqueue)  # for --dossier
    enqueue.add_argument(
        "--open", action="store_true", help="also every flow of the store not yet closed"
    )
    activation_timeout_option(enqueue)
    enqueue.add_argument("--json", action="store_true", help="print the summary as JSON")
    enqueue.set_defaults(func=cmd_enqueue)

    check = sub.add_parser(
        "check", help="ask the running service or workers for a status read now of flows"
    )
    check.add_argument("flow_ids", nargs="+", type=request_id, metavar="ID", help="flow ids")
    check.add_argument("--db", required=True, help="SQLite file or postgresql:// URL")
    check.add_argument("--json", action="store_true", help="print the summary as JSON")
    check.set_defaults(func=cmd_check)

    audit = sub.add_parser("audit", help="check or show the stored audit trail")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help="check every hash chain")
    verify.add_argument("--db", required=True, help="SQLite file or postgresql:// URL")
    verify.add_argument("--json", action="store_true", help="print the verdict as JSON")
    _checkpoint_options(verify)
    verify.add_argument(
        "--write-checkpoint",
        metavar="FILE",
        help="sign the heads of every chain with the key and write the checkpoint to FILE "
        "(only when every chain is intact)",
    )
    verify.add_argument(
        "--signing-key", metavar="PEM", help="sign it with this Ed25519 private key (not HMAC)"
    )
    verify.set_defaults(func=cmd_audit_verify)
    show = audit_sub.add_parser("show", help="print one flow's trail")
    show.add_argument("request_id", type=request_id, metavar="FLOW_ID", help="the flow's id")
    show.add_argument("--db", required=True, help="SQLite file or postgresql:// URL")
    show.add_argument("--diagram", choices=("mermaid", "dot"), help="draw it instead")
    show.add_argument("--json", action="store_true", help="print the stored records as JSON")
    show.set_defaults(func=cmd_audit_show)

    add_events_command(sub)
    add_console_command(sub)
    add_evidence_command(sub)

    report = sub.add_parser(
        "report", help="a self-contained HTML report of stored flows for compliance review"
    )
    report.add_argument(
        "request_ids", nargs="*", type=request_id, metavar="ID", help="these flows (default: all)"
    )
    report.add_argument("--db", required=True, help="SQLite file or postgresql:// URL")
    report.add_argument(
        "--out",
        default="out/report.html",
        help="the HTML file to write (a whole store of up to 200 flows, or the flows named), or "
        "a folder (any path not ending in .html): a summary and a page per flow, any size",
    )
    _checkpoint_options(report)
    report.add_argument("--lang", choices=("it", "en"), default="it", help="the report's language")
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
    sandbox.add_argument("--port", type=port, default=7071, help="port (0: a free one)")
    sandbox.add_argument(
        "--activation-delay", type=seconds, default=3.0, help="seconds from READY to activated"
    )
    sandbox.add_argument(
        "--upload-url-ttl", type=positive_seconds, default=900.0, help="seconds an upload URL works"
    )
    sandbox.add_argument(
        "--rate-calls", type=count, default=GATEWAY_CALLS, help="calls per period per key"
    )
    sandbox.add_argument(
        "--rate-period", type=positive_seconds, default=GATEWAY_PERIOD, help="seconds"
    )
    sandbox.add_argument(
        "--key", action="append", default=["sandbox-key"], help="accepted key, KEY[:ISSUER_ID]"
    )
    sandbox.set_defaults(func=cmd_sandbox)
    finish(parser)  # every command, those above and those added later: see .conventions
    return parser
