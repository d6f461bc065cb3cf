"""The ``firmaio`` command: the composition root, where concrete adapters are chosen.

``main(argv)`` parses, wires and delegates; it returns the exit code. Adapters are built inside
the command functions, never at import.

Exit codes (one per outcome; see the README):

==  ===========================================================================================
0   done: NOTIFIED or SIGNED (and CANCELLED for ``cancel``); diagrams written; sandbox stopped
2   usage: bad arguments or a bad signature-request id
3   configuration: no API key, or the API refused it (401/403)
4   the API gave no usable answer after retries (unavailable, or a garbled answer)
5   the trigger is not allowed in the flow's state (e.g. cancelling a READY request)
10  FALLBACK_SUGGESTED: the citizen must be reached another way (link, QR code)
12  REJECTED
13  CANCELLED (for ``notify`` and ``watch``)
14  FAILED: a permanent error; the reason is printed
15  not settled: still READY or WAIT_FOR_SIGNATURE when the command stopped
20  ``audit verify``: a trail was edited, deleted, reordered or inserted into
==  ===========================================================================================

``FIRMAIO_CRASH_AT=POINT:TRIGGER[:N]`` makes a durable command kill itself with SIGKILL the N-th
time it reaches ``POINT`` (``before_call``, ``after_call``, ``after_write``) on ``TRIGGER``: the
crash tests use it to stop a real process exactly at a step boundary.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

import httpx
import structlog

from firmaio.fsm.audit import AuditRecord, BrokenChain, ChainLink, from_event_dict, verify_chain
from firmaio.fsm.driver import Driver, PollingPolicy
from firmaio.fsm.durable import Boundary, DurableDriver
from firmaio.fsm.engine import Flow, default_engine
from firmaio.fsm.errors import (
    ApiConfigurationError,
    ApiError,
    InvalidInput,
    StaleFlow,
    StoreError,
    TransitionNotAllowed,
)
from firmaio.fsm.ports import StoredFlow, TrailReader
from firmaio.fsm.redact import redact_secrets
from firmaio.fsm.render import FILES, FORMATS, render, table_markdown, to_dot, to_mermaid
from firmaio.fsm.states import State, Trigger

from .batching import DossierStatusReader
from .client import DEFAULT_BASE_URL, IssuerClient
from .clock import SystemClock
from .issuer import DEMO_DOSSIER, MINIMAL_PDF
from .runner import BatchRun, RunReport
from .sandbox import Sandbox, serve
from .store import open_async_store

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_CONFIGURATION = 3
EXIT_UNAVAILABLE = 4
EXIT_NOT_ALLOWED = 5
EXIT_STORE = 6
EXIT_BY_STATE = {
    State.NOTIFIED: EXIT_OK,
    State.SIGNED: EXIT_OK,
    State.FALLBACK_SUGGESTED: 10,
    State.REJECTED: 12,
    State.CANCELLED: 13,
    State.FAILED: 14,
}
EXIT_NOT_SETTLED = 15
EXIT_TAMPERED = 20


def configure_logging(verbose: bool) -> None:
    """Audit and HTTP events go to stderr as JSON lines with ``--verbose``; else only warnings."""
    structlog.configure(
        processors=[
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


# -- output -------------------------------------------------------------------------------------


def format_record(record: AuditRecord) -> str:
    """One audit record as one readable line (and its reason on the next)."""
    evidence = []
    if record.http_status is not None:
        evidence.append(f"HTTP {record.http_status}")
    if record.request_status:
        evidence.append(f"status={record.request_status}")
    if record.io_message_id:
        evidence.append(f"io_message_id={record.io_message_id}")
    if record.detail:
        evidence.append(f"detail={record.detail!r}")
    guard = f"[{record.guard}]" if record.guard else ""
    line = (
        f"  #{record.seq:<2} {record.trigger:<16} {record.source} -> {record.target}"
        f"  {record.outcome} {guard} {' '.join(evidence)}"
    )
    if record.reason:
        line += f"\n       reason: {record.reason}"
    return line.rstrip()


def write_qr(flow: Flow, qr_dir: Path) -> tuple[Path, Path] | None:
    """Write a refused flow's QR code as PNG and SVG; return the two paths."""
    fallback = flow.fallback
    if fallback is None:
        return None
    qr_dir.mkdir(parents=True, exist_ok=True)
    png, svg = qr_dir / f"qr-{flow.id}.png", qr_dir / f"qr-{flow.id}.svg"
    png.write_bytes(fallback.qr_png())
    svg.write_text(fallback.qr_svg())
    return png, svg


def print_flow(title: str, flow: Flow, qr: tuple[Path, Path] | None, out: TextIO) -> None:
    """A flow's audit trail, where it ended, and its fallback if any."""
    print(f"\n== {title}: signature request {flow.id}", file=out)
    for record in flow.history:
        print(format_record(record), file=out)
    print(f"  final state: {flow.state}", file=out)
    if flow.io_message_id:
        print(f"  io_message_id: {flow.io_message_id}", file=out)
    if flow.failure:
        print(f"  failure: {flow.failure}", file=out)
    fallback = flow.fallback
    if fallback is not None:
        print(f"  fallback ({fallback.reason}):", file=out)
        print(f"    advice (it): {fallback.advice_it}", file=out)
        print(f"    advice (en): {fallback.advice_en}", file=out)
        print(f"    link: {fallback.link}", file=out)
        print(f"    QR image URL: {fallback.qr_image_url}", file=out)
        if qr is not None:
            print(f"    QR code written: {qr[0]} and {qr[1]}", file=out)


def flow_json(flow: Flow, exit_code: int, qr: tuple[Path, Path] | None) -> dict[str, Any]:
    """A flow as the ``--json`` output shows it."""
    fallback = flow.fallback
    return {
        "signature_request_id": flow.id,
        "state": str(flow.state),
        "exit_code": exit_code,
        "io_message_id": flow.io_message_id,
        "failure": flow.failure,
        "fallback": None
        if fallback is None
        else {
            "reason": str(fallback.reason),
            "advice_it": fallback.advice_it,
            "advice_en": fallback.advice_en,
            "link": fallback.link,
            "qr_image_url": fallback.qr_image_url,
            "qr_png": None if qr is None else str(qr[0]),
            "qr_svg": None if qr is None else str(qr[1]),
        },
        "history": [record.as_event_dict() for record in flow.history],
    }


def exit_code_for(flow: Flow, goal: State | None = None) -> int:
    """The exit code of the state a command left the flow in."""
    if goal is not None and flow.state is goal:
        return EXIT_OK
    return EXIT_BY_STATE.get(flow.state, EXIT_NOT_SETTLED)


# -- the demo -----------------------------------------------------------------------------------

DEMO_CITIZENS: tuple[tuple[str, str, dict[str, bool]], ...] = (
    ("Citizen who receives messages", "RSSMRA80A01H501U", {}),
    ("Citizen who turned messages off", "XNTMRA80A01H501E", {"messages_on": False}),
    ("Citizen who turned only push notifications off", "VRDLGU75B12F205X", {"push_on": False}),
)
"""The three citizens of the documentation page (made-up fiscal codes)."""


async def create_ready_request(client: IssuerClient, dossier_id: str, fiscal_code: str) -> str:
    """The issuer's set-up over HTTP: signer, request, PDF upload, validation, READY."""
    signer_id = await client.get_signer_id(fiscal_code)
    request = await client.create_signature_request(dossier_id, signer_id)
    for document in request["documents"]:
        url = await client.get_upload_url(request["id"], document["id"])
        await client.upload_document(url, MINIMAL_PDF)
    for _ in range(100):  # validation is asynchronous, as in the real service
        view = await client.get_request_view(request["id"])
        if all(d["status"] == "READY" for d in view["documents"]):
            break
        await asyncio.sleep(0.1)
    await client.mark_ready(request["id"])
    return str(request["id"])


async def _demo(args: argparse.Namespace, out: TextIO) -> int:
    with Sandbox(activation_delay=args.activation_delay) as sandbox:
        for _title, fiscal_code, settings in DEMO_CITIZENS:
            sandbox.issuer.add_citizen(fiscal_code, **settings)
        print(
            f"firmaio demo: three citizens, driven over HTTP against the sandbox at {sandbox.url}",
            file=out,
        )
        async with IssuerClient("sandbox-key", base_url=sandbox.url) as client:
            dossier = await client.create_dossier(DEMO_DOSSIER)
            ids = [
                await create_ready_request(client, dossier["id"], fiscal_code)
                for _title, fiscal_code, _settings in DEMO_CITIZENS
            ]
            driver = Driver(client, SystemClock())
            flows = [driver.new_flow(request_id) for request_id in ids]
            await asyncio.gather(*(driver.advance(flow) for flow in flows))
        for (title, _fc, _settings), flow in zip(DEMO_CITIZENS, flows, strict=True):
            print_flow(title, flow, write_qr(flow, Path(args.qr_dir)), out)
            print(
                f"  IO messages the sandbox sent: {sandbox.issuer.messages_sent(flow.id)}", file=out
            )
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    """Start the sandbox, drive the three citizens of the documentation page over HTTP."""
    return asyncio.run(_demo(args, out))


# -- commands on real requests ------------------------------------------------------------------


def _client(args: argparse.Namespace) -> IssuerClient:
    key = os.environ.get("FIRMAIO_API_KEY", "")
    if not key:
        raise ApiConfigurationError(
            "FIRMAIO_API_KEY is not set: export your issuer API key (from the Firma con IO "
            "reserved area) before running this command"
        )
    return IssuerClient(key, base_url=args.base_url)


def crash_hook_from_env() -> Boundary | None:
    """The SIGKILL switch of ``FIRMAIO_CRASH_AT`` (see the module docstring), if set."""
    spec = os.environ.get("FIRMAIO_CRASH_AT", "")
    if not spec:
        return None
    point, _, rest = spec.partition(":")
    trigger, _, nth = rest.partition(":")
    wanted, seen = int(nth or 1), 0

    def hook(at: str, _flow: Flow, fired: str) -> None:
        nonlocal seen
        if at == point and str(fired) == trigger:
            seen += 1
            if seen == wanted:
                os.kill(os.getpid(), signal.SIGKILL)

    return hook


async def _run_on_flow(
    args: argparse.Namespace,
    out: TextIO,
    body: Callable[[Driver, Flow], Awaitable[None]],
    goal: State | None,
) -> int:
    policy = PollingPolicy(activation_timeout=args.activation_timeout)
    client = _client(args)
    store = open_async_store(args.db) if args.db else None
    driver: Driver
    try:
        if store is not None:
            durable = DurableDriver(
                client, SystemClock(), store, policy=policy, on_boundary=crash_hook_from_env()
            )
            driver, flow = durable, await durable.open(args.request_id)
        else:
            driver = Driver(client, SystemClock(), policy=policy)
            flow = driver.new_flow(args.request_id)
        try:
            await body(driver, flow)
        finally:
            code = exit_code_for(flow, goal)
            qr = write_qr(flow, Path(args.qr_dir)) if flow.fallback is not None else None
            if args.json:
                json.dump(flow_json(flow, code, qr), out, indent=2)
                out.write("\n")
            else:
                print_flow(args.command, flow, qr, out)
    finally:
        await client.aclose()
        if store is not None:
            await store.close()
    return code


async def _notify(driver: Driver, flow: Flow) -> None:
    await driver.advance(flow)


async def _watch(args: argparse.Namespace, driver: Driver, flow: Flow) -> None:
    while flow.state is State.READY:  # learn where the request is, without notifying
        await driver.step(flow, Trigger.CHECK_ACTIVATION)
        if flow.state is State.READY:
            await driver.clock.sleep(args.interval)
    await driver.watch(flow, interval=args.interval, max_checks=args.max_checks)


async def _cancel(driver: Driver, flow: Flow) -> None:
    await driver.step(flow, Trigger.CHECK_ACTIVATION)
    if not flow.is_closed:
        await driver.step(flow, Trigger.CANCEL)


def cmd_notify(args: argparse.Namespace, out: TextIO) -> int:
    """Take one real request from READY to its resting state."""
    return asyncio.run(_run_on_flow(args, out, _notify, State.NOTIFIED))


def cmd_watch(args: argparse.Namespace, out: TextIO) -> int:
    """Check one request until it is closed."""

    async def body(driver: Driver, flow: Flow) -> None:
        await _watch(args, driver, flow)

    return asyncio.run(_run_on_flow(args, out, body, State.SIGNED))


def cmd_cancel(args: argparse.Namespace, out: TextIO) -> int:
    """Cancel one request (possible once it is WAIT_FOR_SIGNATURE)."""
    return asyncio.run(_run_on_flow(args, out, _cancel, State.CANCELLED))


# -- batch runs and the audit trail -------------------------------------------------------------


def _progress(report: RunReport) -> None:
    counts = ", ".join(f"{state} {n}" for state, n in sorted(report.counts.items()))
    line = f"firmaio run: {report.driven}/{report.total} driven ({counts})"
    end = "\r" if sys.stderr.isatty() else "\n"
    print(line, end=end, file=sys.stderr, flush=True)


def print_report(report: RunReport, db: str, out: TextIO) -> None:
    """The summary table of a batch run."""
    print(f"\nBatch run by worker {report.worker}: {report.total} flows in {db}", file=out)
    print(f"  {'state':<20} {'flows':>6}", file=out)
    for state in State:
        if report.counts.get(str(state)):
            print(f"  {state:<20} {report.counts[str(state)]:>6}", file=out)
    print(f"  {'total':<20} {len(report.rows):>6}", file=out)
    print(f"  driven now: {report.driven}; left to other workers: {report.conflicts}", file=out)
    for request_id, error in report.errors.items():
        print(f"  error, rerun to resume: {request_id}: {error}", file=out)
    for request_id, why in report.unsettled.items():
        print(f"  not settled, rerun to try again: {request_id}: {why}", file=out)


async def _run(args: argparse.Namespace, out: TextIO) -> int:
    store = open_async_store(args.db)
    try:
        async with _client(args) as client:
            ids = list(args.request_ids)
            if args.dossier:
                ids += [item["id"] async for item in client.list_dossier_requests(args.dossier)]
            if not ids:
                raise InvalidInput("name the requests to run: IDs, or --dossier DOSSIER_ID")
            reader = DossierStatusReader(client, args.dossier) if args.dossier else None
            batch = BatchRun(
                store,
                client,
                SystemClock(),
                ids,
                worker=args.worker,
                concurrency=args.concurrency,
                lease=args.lease,
                policy=PollingPolicy(activation_timeout=args.activation_timeout),
                on_boundary=crash_hook_from_env(),
                progress=None if args.json else _progress,
                status_reader=reader,
            )
            report = await batch.run()
    finally:
        await store.close()
    code = EXIT_UNAVAILABLE if report.errors else EXIT_NOT_SETTLED if report.unsettled else EXIT_OK
    if args.json:
        summary = {
            "worker": report.worker,
            "exit_code": code,
            "counts": dict(report.counts),
            "driven": report.driven,
            "conflicts": report.conflicts,
            "errors": report.errors,
            "unsettled": report.unsettled,
            "flows": [{"id": r.flow_id, "state": r.state, "records": r.seq} for r in report.rows],
        }
        json.dump(summary, out, indent=2)
        out.write("\n")
    else:
        print_report(report, args.db, out)
    return code


def cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    """Drive many requests to rest, concurrently and resumably."""
    return asyncio.run(_run(args, out))


async def verify_store(store: TrailReader) -> tuple[int, int, list[BrokenChain], str]:
    """Check every chain: (flows, records, broken chains, digest of all heads)."""
    broken: list[BrokenChain] = []
    heads = hashlib.sha256()
    rows = await store.rows()
    records = 0
    for row in rows:
        links = await store.links(row.flow_id)
        records += len(links)
        found = verify_chain(row.flow_id, links, row.seq, row.head_hash, row.state)
        if found is not None:
            broken.append(found)
        heads.update(f"{row.flow_id}:{row.seq}:{row.head_hash}\n".encode())
    for orphan in await store.orphan_flow_ids():
        broken.append(
            BrokenChain(orphan, 1, "inserted", "records of a flow the store does not have")
        )
    return len(rows), records, broken, heads.hexdigest()


def cmd_audit_verify(args: argparse.Namespace, out: TextIO) -> int:
    """Check every flow's hash chain; name the first broken record of each."""

    async def verify() -> tuple[int, int, list[BrokenChain], str]:
        store = open_async_store(args.db)
        try:
            return await verify_store(store)
        finally:
            await store.close()

    flows, records, broken, digest = asyncio.run(verify())
    print(f"checked {flows} flows, {records} records in {args.db}", file=out)
    if broken:
        for found in broken:
            print(f"BROKEN {found}", file=out)
        return EXIT_TAMPERED
    print(f"every chain is intact; digest of all heads: {digest}", file=out)
    return EXIT_OK


def cmd_audit_show(args: argparse.Namespace, out: TextIO) -> int:
    """Print one flow's stored trail, and optionally its diagram with the path highlighted."""

    async def read() -> tuple[StoredFlow | None, list[ChainLink]]:
        store = open_async_store(args.db)
        try:
            return await store.load(args.request_id), await store.links(args.request_id)
        finally:
            await store.close()

    stored, links = asyncio.run(read())
    if stored is None:
        raise InvalidInput(f"no flow {args.request_id!r} in {args.db}")
    flow = default_engine().restore(stored.flow_id, stored.activation_deadline, stored.records)
    if args.diagram:
        renderer = to_mermaid if args.diagram == "mermaid" else to_dot
        out.write(renderer(history=flow.history))
        return EXIT_OK
    print_flow("audit trail", flow, None, out)
    if stored.intent:
        print(f"  open intent: {stored.intent} (the next run reads the request first)", file=out)
    for link in links:
        record = from_event_dict(json.loads(link.payload))
        print(f"  #{record.seq:<2} hash {link.hash[:16]}  prev {link.prev_hash[:16]}", file=out)
    return EXIT_OK


# -- diagrams and the sandbox -------------------------------------------------------------------


def refresh_readme(path: Path) -> None:
    """Rewrite the README's generated blocks (transition table, Mermaid diagram)."""
    text = path.read_text()
    blocks = {"table": table_markdown(), "mermaid": f"```mermaid\n{to_mermaid()}```\n"}
    for name, body in blocks.items():
        start, end = f"<!-- BEGIN generated:{name} -->\n", f"<!-- END generated:{name} -->"
        head, rest = text.split(start, 1)
        text = head + start + body + end + rest.split(end, 1)[1]
    path.write_text(text)


def cmd_diagram(args: argparse.Namespace, out: TextIO) -> int:
    """Print or write the diagrams rendered from the table."""
    if args.write or args.readme:
        if args.write:
            target = Path(args.write)
            target.mkdir(parents=True, exist_ok=True)
            for fmt in FORMATS:
                (target / FILES[fmt]).write_text(render(fmt))
                print(f"wrote {target / FILES[fmt]}", file=out)
        if args.readme:
            refresh_readme(Path(args.readme))
            print(f"refreshed {args.readme}", file=out)
        return EXIT_OK
    text = render(args.format)
    if args.out:
        Path(args.out).write_text(text)
    else:
        out.write(text)
    return EXIT_OK


def cmd_sandbox(args: argparse.Namespace, out: TextIO) -> int:
    """Serve the sandbox in the foreground."""
    keys = dict(k.split(":", 1) if ":" in k else (k, "sandbox-issuer") for k in args.key)
    print(
        f"firmaio sandbox: http://{args.host}:{args.port}/api/v1/sign "
        f"(keys: {', '.join(keys)}; READY -> WAIT_FOR_SIGNATURE after {args.activation_delay} s)",
        file=out,
        flush=True,
    )
    serve(
        args.host,
        args.port,
        activation_delay=args.activation_delay,
        keys=keys,
        rate_calls=args.rate_calls,
        rate_period=args.rate_period,
    )
    return EXIT_OK


# -- parsing ------------------------------------------------------------------------------------


def _request_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("request_id", help="the signature request id")
    parser.add_argument(
        "--base-url",
        default=os.environ.get("FIRMAIO_BASE_URL", DEFAULT_BASE_URL),
        help="issuer API base URL (default: $FIRMAIO_BASE_URL or production)",
    )
    parser.add_argument("--json", action="store_true", help="print the outcome as JSON")
    parser.add_argument("--qr-dir", default="out", help="where a fallback's QR code is written")
    parser.add_argument(
        "--activation-timeout",
        type=float,
        default=120.0,
        help="seconds a request may stay READY before the flow fails (default 120)",
    )
    parser.add_argument(
        "--db", help="keep the flow in this store (SQLite file or postgresql:// URL): resumable"
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``firmaio``."""
    parser = argparse.ArgumentParser(
        prog="firmaio",
        description="Drive Firma con IO signature requests through an audited state machine.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log events to stderr (JSON)")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="three citizens end to end against the local sandbox")
    demo.add_argument("--qr-dir", default="out", help="where to write QR codes (default: out/)")
    demo.add_argument("--activation-delay", type=float, default=3.0, help=argparse.SUPPRESS)
    demo.set_defaults(func=cmd_demo)

    notify = sub.add_parser("notify", help="READY -> notified, or the fallback for the citizen")
    _request_options(notify)
    notify.set_defaults(func=cmd_notify)

    watch = sub.add_parser("watch", help="check a request until it is closed")
    _request_options(watch)
    watch.add_argument("--interval", type=float, default=30.0, help="seconds between checks")
    watch.add_argument("--max-checks", type=int, default=2880, help="give up after this many")
    watch.set_defaults(func=cmd_watch)

    cancel = sub.add_parser("cancel", help="cancel a request (once WAIT_FOR_SIGNATURE)")
    _request_options(cancel)
    cancel.set_defaults(func=cmd_cancel)

    run = sub.add_parser("run", help="drive many requests to rest, concurrently and resumably")
    run.add_argument("request_ids", nargs="*", metavar="ID", help="signature request ids")
    run.add_argument("--dossier", help="also every request of this dossier")
    run.add_argument("--db", default="flows.sqlite", help="SQLite file or postgresql:// URL")
    run.add_argument(
        "--base-url",
        default=os.environ.get("FIRMAIO_BASE_URL", DEFAULT_BASE_URL),
        help="issuer API base URL (default: $FIRMAIO_BASE_URL or production)",
    )
    run.add_argument("--concurrency", type=int, default=20, help="flows driven at once")
    run.add_argument("--lease", type=float, default=60.0, help="seconds a claim lasts unrenewed")
    run.add_argument("--activation-timeout", type=float, default=120.0)
    run.add_argument(
        "--worker",
        help="this worker's name (default host:pid); a worker restarted under the same name "
        "takes its own leases back at once, others wait for them to expire",
    )
    run.add_argument("--json", action="store_true", help="print the summary as JSON")
    run.set_defaults(func=cmd_run)

    audit = sub.add_parser("audit", help="check or show the stored audit trail")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help="check every hash chain")
    verify.add_argument("--db", default="flows.sqlite")
    verify.set_defaults(func=cmd_audit_verify)
    show = audit_sub.add_parser("show", help="print one flow's trail")
    show.add_argument("request_id")
    show.add_argument("--db", default="flows.sqlite")
    show.add_argument("--diagram", choices=("mermaid", "dot"), help="draw it instead")
    show.set_defaults(func=cmd_audit_show)

    diagram = sub.add_parser("diagram", help="render the transition table")
    diagram.add_argument("--format", choices=FORMATS, default="mermaid")
    diagram.add_argument("--out", help="write to this file instead of stdout")
    diagram.add_argument("--write", metavar="DIR", help="write every format into DIR")
    diagram.add_argument("--readme", metavar="FILE", help="refresh the generated blocks of FILE")
    diagram.set_defaults(func=cmd_diagram)

    sandbox = sub.add_parser("sandbox", help="serve a local issuer API on loopback")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=7071)
    sandbox.add_argument("--activation-delay", type=float, default=3.0)
    sandbox.add_argument("--rate-calls", type=int, default=150, help="calls per period per key")
    sandbox.add_argument("--rate-period", type=float, default=5.0, help="seconds")
    sandbox.add_argument(
        "--key", action="append", default=["sandbox-key"], help="accepted key, KEY[:ISSUER_ID]"
    )
    sandbox.set_defaults(func=cmd_sandbox)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run ``firmaio`` with ``argv``; return the exit code. Errors go to stderr with advice."""
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    stream = out if out is not None else sys.stdout
    try:
        code: int = args.func(args, stream)
    except InvalidInput as error:
        print(f"firmaio: {error}", file=sys.stderr)
        return EXIT_USAGE
    except ApiConfigurationError as error:
        print(f"firmaio: {error}", file=sys.stderr)
        return EXIT_CONFIGURATION
    except StoreError as error:
        print(f"firmaio: {error}", file=sys.stderr)
        return EXIT_STORE
    except (TransitionNotAllowed, StaleFlow) as error:
        print(f"firmaio: {error}", file=sys.stderr)
        return EXIT_NOT_ALLOWED
    except (ApiError, httpx.HTTPError) as error:
        print(
            f"firmaio: the issuer API gave no usable answer ({error}); "
            "it was retried with backoff; try again later",
            file=sys.stderr,
        )
        return EXIT_UNAVAILABLE
    return code


if __name__ == "__main__":  # python -m firmaio.adapters.cli
    raise SystemExit(main())
