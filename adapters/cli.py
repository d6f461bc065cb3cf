"""The ``firmaio`` command: the composition root, where concrete adapters are chosen.

``main(argv)`` parses, wires and delegates; it returns the exit code. Adapters are built inside
the command functions, never at import.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import structlog

from adapters.issuer import InMemoryApi, SimulatedIssuer
from fsm.audit import AuditRecord
from fsm.driver import Driver
from fsm.engine import Flow
from fsm.render import FILES, FORMATS, render, table_markdown, to_mermaid
from fsm.testing import ManualClock

EXIT_OK = 0
EXIT_USAGE = 2


def configure_logging(verbose: bool) -> None:
    """Audit events go to stderr as JSON lines with ``--verbose``; otherwise only warnings."""
    from fsm.redact import redact_secrets

    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            redact_secrets,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.DEBUG if verbose else logging.WARNING
        ),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )


def format_record(record: AuditRecord) -> str:
    """One audit record as one readable line."""
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


def print_flow(title: str, flow: Flow, out: TextIO) -> None:
    """A flow's audit trail and where it ended."""
    print(f"\n== {title}: signature request {flow.id}", file=out)
    for record in flow.history:
        print(format_record(record), file=out)
    print(f"  final state: {flow.state}", file=out)
    if flow.io_message_id:
        print(f"  io_message_id: {flow.io_message_id}", file=out)
    if flow.failure:
        print(f"  failure: {flow.failure}", file=out)


def write_fallback(flow: Flow, out_dir: Path, out: TextIO) -> None:
    """Print a refused flow's fallback and write its QR code as PNG and SVG."""
    fallback = flow.fallback
    if fallback is None:
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    png = out_dir / f"qr-{flow.id}.png"
    svg = out_dir / f"qr-{flow.id}.svg"
    png.write_bytes(fallback.qr_png())
    svg.write_text(fallback.qr_svg())
    print(f"  fallback ({fallback.reason}):", file=out)
    print(f"    advice (it): {fallback.advice_it}", file=out)
    print(f"    advice (en): {fallback.advice_en}", file=out)
    print(f"    link: {fallback.link}", file=out)
    print(f"    QR image URL: {fallback.qr_image_url}", file=out)
    print(f"    QR code written: {png} and {svg}", file=out)


DEMO_CITIZENS: tuple[tuple[str, str, dict[str, bool]], ...] = (
    ("Citizen who receives messages", "RSSMRA80A01H501U", {}),
    ("Citizen who turned messages off", "XNTMRA80A01H501E", {"messages_on": False}),
    ("Citizen who turned only push notifications off", "VRDLGU75B12F205X", {"push_on": False}),
)
"""The three citizens of the documentation page (fiscal codes are made up)."""


async def _demo_in_memory(out_dir: Path, out: TextIO) -> int:
    clock = ManualClock()
    issuer = SimulatedIssuer(now=clock.now, activation_delay=3.0)
    issuer.add_key("demo-key", "demo-issuer")
    driver = Driver(InMemoryApi(issuer, "demo-key"), clock)
    print(
        "firmaio demo: three citizens, driven through the flow against an in-memory issuer",
        file=out,
    )
    for title, fiscal_code, settings in DEMO_CITIZENS:
        issuer.add_citizen(fiscal_code, **settings)
        flow = driver.new_flow(issuer.create_ready_request("demo-key", fiscal_code))
        await driver.advance(flow)
        print_flow(title, flow, out)
        write_fallback(flow, out_dir, out)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    """Run the three citizens of the documentation page through the flow."""
    return asyncio.run(_demo_in_memory(Path(args.out), out))


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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``firmaio``."""
    parser = argparse.ArgumentParser(
        prog="firmaio", description="Drive Firma con IO signature requests through an audited FSM."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log audit events to stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="three citizens end to end (the README's main job)")
    demo.add_argument("--out", default="out", help="where to write QR codes (default: out/)")
    demo.set_defaults(func=cmd_demo)

    diagram = sub.add_parser("diagram", help="render the transition table")
    diagram.add_argument("--format", choices=FORMATS, default="mermaid")
    diagram.add_argument("--out", help="write to this file instead of stdout")
    diagram.add_argument("--write", metavar="DIR", help="write every format into DIR")
    diagram.add_argument("--readme", metavar="FILE", help="refresh the generated blocks of FILE")
    diagram.set_defaults(func=cmd_diagram)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run ``firmaio`` with ``argv``; return the exit code."""
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    stream = out if out is not None else sys.stdout
    code: int = args.func(args, stream)
    return code


__all__ = ["main"]
