"""``firmaio demo`` and ``firmaio sandbox``: the local sandbox, an optional extra.

The demo starts from a PDF (the sandbox's sample, or ``--pdf``): three citizens, each taken
through the issuer's set-up to NOTIFIED or FALLBACK_SUGGESTED; then the first one signs in the
sandbox, and the flow fetches the signed document and prints its SHA-256. With ``--db``, the
flows' events are delivered, signed, to a receiver on loopback, and what it got is printed.

The sandbox needs starlette and uvicorn (``pip install 'firmaio-fsm[sandbox]'``); it is imported
only when one of these two commands runs, so every other command works without them.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from ulid import ULID

from firmaio.fsm.driving import Driver, Flow
from firmaio.fsm.errors import InvalidInput
from firmaio.fsm.machine import Order, State, Trigger

from ..client import order_from_pdf
from ..factory import open_flow
from . import exits
from .demo_events import show_events
from .output import print_flow, write_qr
from .wiring import factory_of, flow_store

DEMO_ACTOR = "firmaio-demo"
"""The actor the demo's records carry when they are stored (``--db``)."""

SANDBOX_MODULES = ("starlette", "uvicorn", "multipart", "pypdf")


def _require_sandbox(command: str) -> None:
    missing = [name for name in SANDBOX_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise InvalidInput(
            f"firmaio {command} needs the sandbox extra ({', '.join(missing)} missing): "
            "pip install 'firmaio-fsm[sandbox]'"
        )


DEMO_CITIZENS: tuple[tuple[str, str, dict[str, bool]], ...] = (
    ("Citizen who receives messages", "RSSMRA80A01H501U", {}),
    ("Citizen who turned messages off", "XNTMRA80A01H501E", {"messages_on": False}),
    ("Citizen who turned only push notifications off", "VRDLGU75B12F205X", {"push_on": False}),
)
"""The three citizens of the documentation page (made-up fiscal codes)."""


def sample_pdf() -> Path:
    """The sandbox's sample PDF: one page, one signature field (``firma_richiedente``)."""
    return Path(str(resources.files("firmaio.adapters.sandbox").joinpath("modulo.pdf")))


async def _demo(args: argparse.Namespace, out: TextIO) -> int:
    from ..sandbox import Sandbox

    pdf = Path(args.pdf) if args.pdf else sample_pdf()
    with Sandbox(activation_delay=args.activation_delay) as sandbox:
        for _title, fiscal_code, settings in DEMO_CITIZENS:
            sandbox.issuer.add_citizen(fiscal_code, **settings)
        print(
            f"firmaio demo: {pdf.name} to three citizens, driven over HTTP against the sandbox "
            f"at {sandbox.url}",
            file=out,
        )
        store = None if args.db is None else flow_store(args.db)
        factory = factory_of(args, store).with_settings(
            base_url=sandbox.url, actor=DEMO_ACTOR, signed_dir=str(Path(args.qr_dir) / "signed")
        )
        try:
            async with factory.client("sandbox-key") as client:
                driver = factory.driver(client)
                flows = [
                    await open_flow(driver, str(ULID()), order=_order(pdf, fiscal_code))
                    for _title, fiscal_code, _settings in DEMO_CITIZENS
                ]
                await asyncio.gather(*(driver.advance(flow) for flow in flows))
                for (title, _fc, _settings), flow in zip(DEMO_CITIZENS, flows, strict=True):
                    print_flow(title, flow, write_qr(flow, Path(args.qr_dir)), out)
                    sent = sandbox.issuer.messages_sent(flow.request_id or "")
                    print(f"  IO messages the sandbox sent: {sent}", file=out)
                await _sign_and_fetch(sandbox, driver, flows[0], out)
            if store is not None:
                await show_events(store, out)
        finally:
            if store is not None:
                await store.close()
    if args.db is not None:
        print(
            f"\nflows stored in {args.db}: `firmaio report --db {args.db}` reviews them", file=out
        )
    return exits.OK.code


def _order(pdf: Path, fiscal_code: str) -> Order:
    from ..sandbox import SAMPLE_PDF_FIELDS

    return order_from_pdf(
        pdf,
        fields=tuple(SAMPLE_PDF_FIELDS),
        document_title="Modulo di adesione",
        dossier_title="richiesta di firma di prova",
    ).with_fiscal_code(fiscal_code)


async def _sign_and_fetch(sandbox: Any, driver: Driver, flow: Flow, out: TextIO) -> None:
    """The first citizen signs (in the sandbox); the flow reads it and fetches the document."""
    if flow.request_id is None or flow.state is not State.NOTIFIED:
        return
    sandbox.issuer.close(flow.request_id, "SIGNED")
    await driver.step(flow, Trigger.CHECK_STATUS)
    record = await driver.fetch_documents(flow)
    facts = dict(record.facts or ())
    print(f"\n== {DEMO_CITIZENS[0][0]} signed in the sandbox: {flow.state}", file=out)
    for name, value in sorted(facts.items()):
        if name.endswith(".sha256"):
            document = name.split(".")[1]
            print(f"  signed document: {facts.get(f'signed.{document}.file')}", file=out)
            print(f"  sha256: {value}", file=out)


def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    """Start the sandbox, drive the three citizens of the documentation page over HTTP (and keep
    their flows in a new store with ``--db``)."""
    _require_sandbox("demo")
    if args.db is not None and Path(args.db).exists():
        raise InvalidInput(
            f"firmaio demo --db: {args.db!r} exists; the demo's flows go into a new store "
            "(remove it, or name another file)"
        )
    return asyncio.run(_demo(args, out))


def cmd_sandbox(args: argparse.Namespace, out: TextIO) -> int:
    """Serve the sandbox in the foreground."""
    _require_sandbox("sandbox")
    from ..sandbox import serve

    keys = dict(k.split(":", 1) if ":" in k else (k, "sandbox-issuer") for k in args.key)
    root = f"http://{args.host}:{args.port}"
    print(
        f"firmaio sandbox: {root}/api/v1/sign "
        f"(keys: {', '.join(keys)}; READY -> WAIT_FOR_SIGNATURE after {args.activation_delay} s)\n"
        f"  export FIRMAIO_API_KEY=sandbox-key FIRMAIO_BASE_URL={root}/api/v1/sign\n"
        f"  a READY request: curl -s -X POST {root}/__sandbox/ready-requests "
        """-d '{"fiscal_code": "RSSMRA80A01H501U"}'""",
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
        upload_url_ttl=args.upload_url_ttl,
    )
    return exits.OK.code
