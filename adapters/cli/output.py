"""What ``firmaio`` prints: audit trails, fallbacks, JSON outcomes and batch summaries."""

from __future__ import annotations

import html
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple, TextIO

from firmaio.fsm.driving import Fallback, Flow
from firmaio.fsm.machine import State
from firmaio.fsm.trail import AuditRecord

from ..runner import RunReport


def iso_utc(epoch: float) -> str:
    """``epoch`` seconds as ISO-8601 UTC, to the second."""
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="seconds")


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
    shown = [f"{k}={v}" for k, v in record.facts or () if not k.startswith(HIDDEN_FACTS)]
    if shown:
        line += f"\n       learned: {' '.join(shown)}"
    return line.rstrip()


HIDDEN_FACTS = (
    "order.fields",
    "order.more",
    "order.validation_timeout",
    "order.activation_timeout",
)
"""Facts kept in the record but too long or too dull for a line of the trail."""


class FallbackFiles(NamedTuple):
    """The files written for a refused flow: its QR code as PNG and SVG, and its button page."""

    png: Path
    svg: Path
    button: Path


def button_page(fallback: Fallback) -> str:
    """A standalone HTML page with ``fallback``'s "Firma con IO" button: it says, in Italian and
    English, what the button does, shows the snippet to paste into the administration's page,
    then holds that same snippet, live."""
    request_id = html.escape(fallback.signature_request_id)
    snippet = fallback.button_html()
    return f"""<!DOCTYPE html>
<html lang="it">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pulsante Firma con IO / Firma con IO button: {request_id}</title>
</head>
<body>
<p lang="it">Pulsante «Firma con IO» per la richiesta di firma <code>{request_id}</code>, il cui
messaggio in app IO è stato rifiutato. Per offrirlo dal sito dell'ente, copia nella pagina il
codice qui sotto: carica il componente di PagoPA, aggiunge l'elemento <code>&lt;io-sign&gt;</code>
e, al clic, gli passa questa richiesta; il cittadino la apre nell'app IO (da smartphone) o ne
inquadra il QR code (da computer). La richiesta deve essere ancora in attesa di firma
(WAIT_FOR_SIGNATURE).</p>
<p lang="en">"Firma con IO" button for signature request <code>{request_id}</code>, whose IO
message was refused. To offer it from the administration's website, copy the code below into the
page: it loads PagoPA's component, adds the <code>&lt;io-sign&gt;</code> element and, on a click,
hands it this request; the citizen opens it in the IO app (on a phone) or scans its QR code (on a
computer). The request must still be waiting for signature (WAIT_FOR_SIGNATURE).</p>
<pre><code>{html.escape(snippet)}</code></pre>
{snippet}</body>
</html>
"""


def write_qr(flow: Flow, qr_dir: Path) -> FallbackFiles | None:
    """Write a refused flow's QR code as PNG and SVG, and its button page; return the paths."""
    fallback = flow.fallback
    if fallback is None:
        return None
    qr_dir.mkdir(parents=True, exist_ok=True)
    named = fallback.signature_request_id  # the request the QR code and the button lead to
    png, svg = qr_dir / f"qr-{named}.png", qr_dir / f"qr-{named}.svg"
    button = qr_dir / f"{named}-button.html"
    png.write_bytes(fallback.qr_png())
    svg.write_text(fallback.qr_svg())
    button.write_text(button_page(fallback), encoding="utf-8")
    return FallbackFiles(png, svg, button)


def print_flow(title: str, flow: Flow, qr: FallbackFiles | None, out: TextIO) -> None:
    """A flow's audit trail, where it ended, and its fallback if any."""
    if flow.request_id == flow.id:
        print(f"\n== {title}: signature request {flow.id}", file=out)
    else:  # a flow from a PDF: its own id, and the request's once the service made it
        made = flow.request_id or "not made yet"
        print(f"\n== {title}: flow {flow.id}, signature request {made}", file=out)
    for record in flow.history:
        print(format_record(record), file=out)
    print(f"  final state: {flow.state}", file=out)
    if flow.unknown_status is not None:
        print(f"  needs attention: {attention(flow.unknown_status)}", file=out)
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
            print(f"    QR code written: {qr.png} and {qr.svg}", file=out)
            print(f"    button page written: {qr.button}", file=out)


def on_a_terminal(args: object) -> bool:
    """Whether progress is shown: stderr is a terminal and the output is not ``--json``."""
    return sys.stderr.isatty() and not getattr(args, "json", False)


BAR = 24
"""The progress bar's width, in characters."""


def progress(report: RunReport, *, final: bool = False) -> None:
    """A batch run's progress bar on stderr, rewritten in place (a terminal only: the caller
    asks :func:`on_a_terminal`); ``final`` ends it with the counts the summary shows."""
    counts = ", ".join(f"{state} {n}" for state, n in sorted(report.counts.items()))
    total = max(report.total, 1)
    filled = BAR * min(report.driven, total) // total if not final else BAR
    bar = "#" * filled + "-" * (BAR - filled)
    line = f"firmaio run: [{bar}] {report.driven}/{report.total} driven ({counts})"
    print(f"{line:<100}", end="\n" if final else "\r", file=sys.stderr, flush=True)


def print_step(_flow: Flow, record: AuditRecord) -> None:
    """A step of a flow on stderr, as it is written (a hook: see :func:`on_a_terminal`)."""
    print(format_record(record), file=sys.stderr, flush=True)


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
    for request_id, status in report.attention.items():
        print(f"  needs attention: {request_id}: {attention(status)}", file=out)
    for request_id, why in report.unsettled.items():
        if request_id not in report.attention:
            print(f"  not settled, rerun to try again: {request_id}: {why}", file=out)


def attention(status: str) -> str:
    """Why a flow whose request reads an unknown ``status`` needs a person's look."""
    return (
        f"the request reads status {status!r}, which the table does not know; the flow stays "
        "open, and is watched (check the issuer API's notes, or ask the service)"
    )
