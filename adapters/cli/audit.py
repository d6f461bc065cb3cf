"""``firmaio audit``: check every stored hash chain, or show one flow's trail."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
from typing import TextIO

from firmaio.fsm.audit import BrokenChain, ChainLink, from_event_dict, verify_chain
from firmaio.fsm.engine import default_engine
from firmaio.fsm.errors import InvalidInput
from firmaio.fsm.ports import StoredFlow, TrailReader
from firmaio.fsm.render import to_dot, to_mermaid

from ..store import store_name
from . import exits
from .output import print_flow
from .wiring import flow_store


async def verify_store(store: TrailReader) -> tuple[int, int, list[BrokenChain], str]:
    """Check every chain: (flows, records, broken chains, digest of all heads)."""
    broken: list[BrokenChain] = []
    heads = hashlib.sha256()
    rows = await store.rows()
    records = 0
    for row in rows:
        links = await store.links(row.flow_id)
        found = verify_chain(row.flow_id, links, row.seq, row.head_hash, row.state)
        if found is not None:  # a write between the two reads (a live store) looks like an
            fresh = await store.rows([row.flow_id])  # insertion: read both again, in order
            links = await store.links(row.flow_id)
            if fresh:
                row = fresh[0]
                found = verify_chain(row.flow_id, links, row.seq, row.head_hash, row.state)
        records += len(links)
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
        store = flow_store(args.db, read_only=True)
        try:
            return await verify_store(store)
        finally:
            await store.close()

    try:
        flows, records, broken, digest = asyncio.run(verify())
    except Exception as error:
        failure = exits.failure_of(error)
        if failure is not None and args.json:
            _dump(
                {
                    "db": store_name(args.db),
                    "exit_code": failure.exit.code,
                    "failure": failure.as_json(),
                },
                out,
            )
        raise
    code = exits.TAMPERED.code if broken else exits.OK.code
    if args.json:
        verdict = {
            "db": store_name(args.db),
            "exit_code": code,
            "failure": None
            if not broken
            else {"kind": exits.TAMPERED.name, "message": f"{len(broken)} broken chain(s)"},
            "flows": flows,
            "records": records,
            "intact": not broken,
            "broken": [
                {"flow_id": b.flow_id, "seq": b.seq, "kind": b.kind, "why": b.why} for b in broken
            ],
            "digest": digest,
        }
        _dump(verdict, out)
        return code
    print(f"checked {flows} flows, {records} records in {store_name(args.db)}", file=out)
    if broken:
        for found in broken:
            print(f"BROKEN {found}", file=out)
        return code
    print(f"every chain is intact; digest of all heads: {digest}", file=out)
    return code


def _dump(document: object, out: TextIO) -> None:
    json.dump(document, out, indent=2)
    out.write("\n")


def cmd_audit_show(args: argparse.Namespace, out: TextIO) -> int:
    """Print one flow's stored trail, and optionally its diagram with the path highlighted."""

    async def read() -> tuple[StoredFlow | None, list[ChainLink]]:
        store = flow_store(args.db, read_only=True)
        try:
            return await store.load(args.request_id), await store.links(args.request_id)
        finally:
            await store.close()

    stored, links = asyncio.run(read())
    if stored is None:
        raise InvalidInput(f"no flow {args.request_id!r} in {store_name(args.db)}")
    flow = default_engine().restore(stored.flow_id, stored.activation_deadline, stored.records)
    if args.diagram:
        renderer = to_mermaid if args.diagram == "mermaid" else to_dot
        out.write(renderer(history=flow.history))
        return exits.OK.code
    print_flow("audit trail", flow, None, out)
    if stored.intent:
        print(f"  open intent: {stored.intent} (the next run reads the request first)", file=out)
    for link in links:
        record = from_event_dict(json.loads(link.payload))
        print(f"  #{record.seq:<2} hash {link.hash[:16]}  prev {link.prev_hash[:16]}", file=out)
    return exits.OK.code
