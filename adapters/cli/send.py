"""``firmaio send``, ``firmaio fetch`` and ``firmaio delivered``: a PDF to its resting state, the
signed documents back, and how a citizen who got the fallback was reached.

``send`` builds an :class:`~firmaio.fsm.machine.order.Order` from the PDF and its signature fields
and
drives a flow from RECEIVED through the issuer's set-up to READY and on to NOTIFIED or
FALLBACK_SUGGESTED, one audited step per issuer-API call. With ``--db`` every step is stored:
running the same command again with the same ``--id`` resumes it, and never makes a second
request, a second upload or a second message. The fiscal code is held in memory only, and read
from the environment, a file or standard input (:mod:`.fiscal`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import sys
import tomllib
from pathlib import Path
from typing import Any, TextIO

from ulid import ULID

from firmaio.fsm.driving import Driver, Flow
from firmaio.fsm.errors import InvalidInput
from firmaio.fsm.machine import State, Trigger, check_fields, default_title

from ..client import document_from_pdf, order_from_pdf
from ..document_fields import fields_by_document
from . import exits
from .fiscal import fiscal_code_of
from .flows import run_on_flow


def _fields_file(path: str) -> Any:
    """The signature fields of a JSON or TOML file: a list (``fields = [...]`` in TOML), or an
    object keyed by document (``[fields]`` in TOML: ``"a.pdf" = [...]``)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidInput(f"--fields {path}: {error.strerror}") from None
    try:
        loaded: Any = (
            tomllib.loads(text).get("fields") if path.endswith(".toml") else json.loads(text)
        )
    except (ValueError, tomllib.TOMLDecodeError) as error:
        raise InvalidInput(
            f"--fields {path}: not valid {'TOML' if path.endswith('.toml') else 'JSON'} ({error})"
        ) from None
    if not isinstance(loaded, list | dict):
        raise InvalidInput(
            f"--fields {path}: expected a list of signature fields, or lists keyed by document"
        )
    return loaded


def _order_values(args: argparse.Namespace) -> dict[str, Any]:
    pdfs: list[str] = list(args.pdf)
    loaded = _fields_file(args.fields) if args.fields else None
    fields = fields_by_document(pdfs, list(args.field or []), loaded, f"--fields {args.fields}")
    values: dict[str, Any] = {
        "fields": check_fields(fields[pdfs[0]]),
        "document_title": args.title or default_title(Path(pdfs[0]).stem),
        "expires_at": args.expires_at,
        "support_email": args.support_email,
        "validation_timeout": args.validation_timeout,
        "activation_timeout": args.activation_timeout,
        "more_documents": tuple(
            document_from_pdf(pdf, fields[pdf], default_title(Path(pdf).stem)) for pdf in pdfs[1:]
        ),
    }
    if args.dossier:
        values["dossier_id"] = args.dossier
    else:
        values["dossier_title"] = args.dossier_title
    return values


def cmd_send(args: argparse.Namespace, out: TextIO) -> int:
    """A PDF and a citizen to NOTIFIED or FALLBACK_SUGGESTED, through the issuer's set-up."""
    if args.manifest is not None:
        from .manifest_send import cmd_send_manifest

        return cmd_send_manifest(args, out)
    if not args.pdf:
        raise InvalidInput("name the PDF (or PDFs) to have signed, or --manifest FILE")
    from ..client.pdf_check import check_pdf  # pypdf, imported by send only

    order = order_from_pdf(args.pdf[0], **_order_values(args))  # each read, starting with %PDF
    for document in order.documents:  # each opens as a PDF, with the fields it names
        check_pdf(document.pdf, Path(document.pdf).read_bytes(), document.fields)
    order = order.with_fiscal_code(fiscal_code_of(args))
    if args.request_id is None:
        args.request_id = str(ULID())

    async def body(driver: Driver, flow: Flow) -> None:
        await driver.advance(flow)

    return asyncio.run(run_on_flow(args, out, body, State.NOTIFIED, order=order, check=True))


async def _to_signed(driver: Driver, flow: Flow) -> None:
    """Learn where the request is (READY, then its status) until it is SIGNED or closed."""
    if flow.state is State.READY:
        await driver.step(flow, Trigger.CHECK_ACTIVATION)
    if Trigger.CHECK_STATUS in driver.engine.allowed(flow.state):
        await driver.step(flow, Trigger.CHECK_STATUS)


def _db_shown(db: str) -> str:
    """``--db``'s value for a command line printed to be run again: a path as given, quoted for
    the shell; a PostgreSQL URL is not repeated (it may hold a password)."""
    if db.startswith(("postgresql://", "postgres://")):
        return "URL"
    return shlex.quote(db)


def cmd_fetch(args: argparse.Namespace, out: TextIO) -> int:
    """Download a SIGNED request's signed documents to ``--to``; print each file's SHA-256.
    Exit 0 only when they were fetched (15 for a request not signed yet)."""

    short: list[str] = []

    async def body(driver: Driver, flow: Flow) -> None:
        await _to_signed(driver, flow)
        if flow.state is not State.SIGNED:  # the report says where it is; this line, what next
            again = f"{flow.id} --db {_db_shown(args.db)}"
            short.append(
                f"firmaio fetch: nothing was downloaded: the request is {flow.state}, not SIGNED; "
                f"rerun `firmaio fetch {again}` once it is signed (`firmaio watch {again}` waits)"
            )
            return
        record = await driver.fetch_documents(flow)
        if not args.json:
            facts = dict(record.facts or ())
            for name, value in facts.items():
                if name.startswith("signed.") and name.endswith(".sha256"):
                    document = name[len("signed.") : -len(".sha256")]  # an id may hold dots
                    where = facts.get(f"signed.{document}.file")
                    print(f"signed document {document}: {where}\n  sha256 {value}", file=out)

    code = asyncio.run(
        run_on_flow(args, out, body, State.SIGNED, stored_only=True, short=exits.NOT_SETTLED)
    )
    for line in short:
        print(line, file=sys.stderr)
    return code


def cmd_delivered(args: argparse.Namespace, out: TextIO) -> int:
    """Record that the fallback reached the citizen through ``--channel``: a stored flow's record,
    no call on the API (no key needed)."""
    if not args.db:
        raise InvalidInput("firmaio delivered needs --db: the record joins the flow's stored trail")

    async def body(driver: Driver, flow: Flow) -> None:
        await driver.deliver_fallback(flow, args.channel, args.note)

    return asyncio.run(
        run_on_flow(args, out, body, State.FALLBACK_SUGGESTED, stored_only=True, calls_api=False)
    )
