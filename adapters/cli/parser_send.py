"""The parsers of the issuer-side commands: ``send``, ``fetch`` and ``delivered``."""

from __future__ import annotations

from typing import Any

from firmaio.fsm.machine import DEFAULT_VALIDATION_TIMEOUT

from .argtypes import count, positive_seconds, request_id
from .options import request_options
from .send import cmd_delivered, cmd_fetch, cmd_send

FLOW_ID_HELP = (
    "the flow's id: with --db, the stored flow's (a flow from `send` has its own, printed as "
    "flow_id); without, the signature request id"
)

DELIVERED_ID_HELP = (
    "the stored flow's id (a flow from `send` has its own, printed as flow_id); no call is made "
    "on the API, and no key is read"
)


def add_issuer_commands(sub: Any) -> None:
    """Add ``send``, ``fetch`` and ``delivered`` to ``firmaio``'s subparsers."""
    _send(sub)
    fetch = sub.add_parser("fetch", help="download a SIGNED request's signed documents")
    request_options(fetch, id_help=FLOW_ID_HELP, notifies=False)
    fetch.add_argument("--to", default="signed", help="folder for the files (signed/<id>/)")
    fetch.set_defaults(func=cmd_fetch)

    delivered = sub.add_parser(
        "delivered", help="record how a citizen offered the fallback was reached"
    )
    request_options(delivered, id_help=DELIVERED_ID_HELP, notifies=False, calls_api=False)
    delivered.add_argument(
        "--channel", required=True, help="email, letter, desk, pec, phone... (a short name)"
    )
    delivered.add_argument("--note", help="a short note for the trail (no personal data)")
    delivered.set_defaults(func=cmd_delivered)


def _send(sub: Any) -> None:
    send = sub.add_parser(
        "send", help="a PDF and a citizen: create the request, upload, notify (or fall back)"
    )
    send.add_argument(
        "pdf", nargs="*", help="the PDF (or PDFs: one request, signed in one go) to have signed"
    )
    send.add_argument(
        "--manifest",
        metavar="FILE",
        help="send to every citizen of a CSV or JSON Lines list (docs/issuer.md); no PDF then",
    )
    send.add_argument(
        "--dry-run", action="store_true", help="with --manifest: check every row, send nothing"
    )
    send.add_argument(
        "--batch",
        metavar="ID",
        help="with --manifest: the batch's id (default: made from the manifest's bytes); the "
        "same id continues a batch from a corrected manifest",
    )
    send.add_argument(
        "--concurrency",
        type=count,
        default=20,
        help="with --manifest: flows driven at a time, under the key's rate window (%(default)d)",
    )
    send.add_argument(
        "--fiscal-code-file",
        metavar="FILE",
        help="a file whose first line is the citizen's fiscal code (- reads standard input); "
        "or set $FIRMAIO_FISCAL_CODE. Never stored",
    )
    send.add_argument(
        "--fiscal-code",
        metavar="CF",
        help="the fiscal code itself: every local user sees it in the process list (a warning "
        "says so); prefer $FIRMAIO_FISCAL_CODE or --fiscal-code-file",
    )
    send.add_argument(
        "--field",
        action="append",
        metavar="[PDF:]NAME[:CLAUSE[:TYPE]]",
        help="a signature field of the PDF (repeatable; with several PDFs, PDF: names which); "
        "TYPE REQUIRED (default), UNFAIR, OPTIONAL",
    )
    send.add_argument(
        "--fields",
        metavar="FILE",
        help="signature fields as JSON, or TOML with fields = [...]; keyed by PDF for several",
    )
    send.add_argument(
        "--title",
        help="the (first) document's title (3-60 characters, no fiscal code; default: the "
        "file's name, any fiscal code taken out)",
    )
    send.add_argument("--dossier", type=request_id, help="an existing dossier's id")
    send.add_argument(
        "--dossier-title",
        default="Richiesta di firma",
        help="the new dossier's title (when no --dossier)",
    )
    send.add_argument("--expires-at", help="ISO-8601 with a time zone (default: 90 days)")
    send.add_argument("--support-email", help="the dossier's support e-mail")
    send.add_argument(
        "--id",
        dest="request_id",
        type=request_id,
        help="the flow's id (default: a new ULID); with --db, the same id resumes the flow",
    )
    send.add_argument(
        "--validation-timeout",
        type=positive_seconds,
        default=DEFAULT_VALIDATION_TIMEOUT,
        help="seconds the service may take to validate the upload (%(default)g)",
    )
    request_options(send, positional=False)
    send.set_defaults(func=cmd_send)
