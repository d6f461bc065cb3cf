"""``firmaio demo`` and ``firmaio sandbox``: the local sandbox, an optional extra.

The sandbox needs starlette and uvicorn (``pip install 'firmaio-fsm[sandbox]'``); it is imported
only when one of these two commands runs, so every other command works without them.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
from pathlib import Path
from typing import TextIO

from firmaio.fsm.driver import Driver
from firmaio.fsm.durable import DurableDriver
from firmaio.fsm.errors import InvalidInput
from firmaio.fsm.ports import Store

from ..client import IssuerClient
from ..clock import SystemClock
from . import exits
from .output import print_flow, write_qr
from .wiring import flow_store

DEMO_ACTOR = "firmaio-demo"
"""The actor the demo's records carry when they are stored (``--db``)."""

SANDBOX_MODULES = ("starlette", "uvicorn", "multipart")


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


async def create_ready_request(client: IssuerClient, dossier_id: str, fiscal_code: str) -> str:
    """The issuer's set-up over HTTP: signer, request, PDF upload, validation, READY."""
    from ..sandbox import MINIMAL_PDF

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
    from ..sandbox import DEMO_DOSSIER, Sandbox

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
            store = None if args.db is None else flow_store(args.db)
            try:
                driver = _driver(client, store)
                if isinstance(driver, DurableDriver):
                    flows = [await driver.open(request_id) for request_id in ids]
                else:
                    flows = [driver.new_flow(request_id) for request_id in ids]
                await asyncio.gather(*(driver.advance(flow) for flow in flows))
            finally:
                if store is not None:
                    await store.close()
        for (title, _fc, _settings), flow in zip(DEMO_CITIZENS, flows, strict=True):
            print_flow(title, flow, write_qr(flow, Path(args.qr_dir)), out)
            print(
                f"  IO messages the sandbox sent: {sandbox.issuer.messages_sent(flow.id)}", file=out
            )
    if args.db is not None:
        print(
            f"\nflows stored in {args.db}: `firmaio report --db {args.db}` reviews them", file=out
        )
    return exits.OK.code


def _driver(client: IssuerClient, store: Store | None) -> Driver:
    if store is None:
        return Driver(client, SystemClock())
    return DurableDriver(client, SystemClock(), store, actor=DEMO_ACTOR)


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
    return exits.OK.code
