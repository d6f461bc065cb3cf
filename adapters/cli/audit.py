"""``firmaio audit``: check every stored hash chain (and sign or check a checkpoint of their
heads), or show one flow's trail."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any, TextIO

from firmaio.fsm.diagrams import to_dot, to_mermaid
from firmaio.fsm.driving import default_engine
from firmaio.fsm.errors import InvalidInput
from firmaio.fsm.ports import StoredFlow
from firmaio.fsm.trail import (
    ChainLink,
    Checkpoint,
    Signer,
    Verifier,
    from_event_dict,
    migration_note,
    older_versions,
    read_checkpoint,
)

from ..store import store_name
from ..trail import StoreVerdict, read_key, verify_store
from . import exits
from .envelope import emit, flow_json, record_json
from .output import iso_utc, print_flow
from .wiring import flow_store

__all__ = ["cmd_audit_show", "cmd_audit_verify", "load_checkpoint", "verify_store"]


def load_checkpoint(
    path: str, key_file: str | None, public_key: str | None = None
) -> tuple[Checkpoint | None, str | None]:
    """The checkpoint at ``path`` if its signature holds under the key (the Ed25519
    ``public_key``'s PEM file, else the HMAC secret), else ``(None, why)``."""
    key: bytes | Verifier
    if public_key is not None:
        from ..evidence.keys import read_public_key  # cryptography: the [evidence] extra

        key = read_public_key(public_key)
    else:
        key = read_key(key_file)
    try:
        text = Path(path).read_text()
    except OSError as error:
        raise InvalidInput(f"cannot read the checkpoint {path!r}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{path!r} is not a firmaio-fsm checkpoint") from None
    try:
        return read_checkpoint(text, key)
    except InvalidInput as error:
        raise InvalidInput(f"{path!r}: {error}") from None


def _signer(args: argparse.Namespace) -> bytes | Signer:
    """What signs the checkpoint: the Ed25519 ``--signing-key``, else the HMAC secret."""
    if args.signing_key is not None:
        from ..evidence.keys import read_private_key  # cryptography: the [evidence] extra

        return read_private_key(args.signing_key)
    return read_key(args.key_file)


def _verdict_json(args: argparse.Namespace, verdict: StoreVerdict, code: int) -> dict[str, Any]:
    return {
        "db": store_name(args.db),
        "store_id": verdict.store_id,
        "flow_count": verdict.flows,
        "record_count": verdict.records,
        "intact": verdict.intact,
        "broken": [
            {"flow_id": b.flow_id, "seq": b.seq, "kind": b.kind, "why": b.why}
            for b in [*verdict.broken, *verdict.rewritten]
        ],
        "digest": verdict.digest,
        "checkpoint": None
        if args.checkpoint is None
        else {
            "path": args.checkpoint,
            "problem": verdict.checkpoint_problem,
            "made_at": None if verdict.checkpoint is None else iso_utc(verdict.checkpoint.made_at),
            "holds": verdict.anchored,
            "uncovered": verdict.uncovered if verdict.checkpoint is not None else None,
        },
        "checkpoint_written": args.write_checkpoint if code == exits.OK.code else None,
    }


def _print_verdict(args: argparse.Namespace, verdict: StoreVerdict, out: TextIO) -> None:
    print(
        f"checked {verdict.flows} flows, {verdict.records} records in {store_name(args.db)}",
        file=out,
    )
    for found in verdict.broken:
        print(f"BROKEN {found}", file=out)
    if args.checkpoint is not None:
        if verdict.checkpoint_problem:
            print(f"CHECKPOINT REFUSED {args.checkpoint}: {verdict.checkpoint_problem}", file=out)
        for found in verdict.rewritten:
            print(f"REWRITTEN {found}", file=out)
        if verdict.anchored and verdict.checkpoint is not None:
            made = iso_utc(verdict.checkpoint.made_at)
            print(f"every trail the checkpoint of {made} signed is unchanged", file=out)
            print(
                f"not covered by the checkpoint (newer than it): {verdict.uncovered} of "
                f"{verdict.flows} flows",
                file=out,
            )
    if verdict.intact:
        print(f"every chain is intact; digest of all heads: {verdict.digest}", file=out)


def cmd_audit_verify(args: argparse.Namespace, out: TextIO) -> int:
    """Check every flow's hash chain; name the first broken record of each. With
    ``--checkpoint``, check that no trail was rewritten since; with ``--write-checkpoint``, sign
    the heads (only when every chain is intact)."""

    async def verify() -> StoreVerdict:
        checkpoint, problem = (None, None)
        if args.checkpoint is not None:
            checkpoint, problem = load_checkpoint(args.checkpoint, args.key_file, args.public_key)
        key = _signer(args) if args.write_checkpoint else None
        store = flow_store(args.db, read_only=True)
        try:
            verdict = await verify_store(store, checkpoint, problem, keep_heads=key is not None)
        finally:
            await store.close()
        if key is not None and not verdict.tampered:
            signed = verdict.to_checkpoint(store_name(args.db), time.time()).signed(key)
            Path(args.write_checkpoint).write_text(signed)
        return verdict

    try:
        verdict = asyncio.run(verify())
    except Exception as error:
        failure = exits.failure_of(error)
        if failure is not None and args.json:
            emit(args, out, failure.exit.code, failure, db=store_name(args.db))
        raise
    code = exits.TAMPERED.code if verdict.tampered else exits.OK.code
    if args.json:
        failure = None
        if verdict.tampered:
            problems = len(verdict.broken) + len(verdict.rewritten)
            said = verdict.checkpoint_problem or f"{problems} broken or rewritten trail(s)"
            failure = exits.Failure(exits.TAMPERED, said)
        emit(args, out, code, failure, **_verdict_json(args, verdict, code))
        return code
    _print_verdict(args, verdict, out)
    if args.write_checkpoint and not verdict.tampered:
        print(f"checkpoint signed and written: {args.write_checkpoint}", file=out)
    elif args.write_checkpoint:
        print("no checkpoint written: a trail does not check out", file=out)
    return code


def _show_json(stored: StoredFlow, links: list[ChainLink]) -> dict[str, Any]:
    engine = default_engine()
    flow = engine.restore(
        stored.flow_id, stored.activation_deadline, stored.records, initial=stored.initial
    )
    shown = flow_json(flow)
    shown["records"] = [  # as stored: the names the table that wrote each record used
        record_json(from_event_dict(json.loads(link.payload)), (link.hash, link.prev_hash))
        for link in links
    ]
    return shown | {
        "tenant": stored.tenant,
        "open_intent": stored.intent,
        "table_version": engine.version,
        "written_by_older_tables": list(older_versions(flow.history, engine.version)),
    }


def cmd_audit_show(args: argparse.Namespace, out: TextIO) -> int:
    """Print one flow's stored trail, with times, actors and hashes; or its diagram with the
    path highlighted; or (``--json``) its stored records."""

    async def read() -> tuple[StoredFlow | None, list[ChainLink]]:
        store = flow_store(args.db, read_only=True)
        try:
            return await store.load(args.request_id), await store.links(args.request_id)
        finally:
            await store.close()

    try:
        stored, links = asyncio.run(read())
        if stored is None:
            raise InvalidInput(f"no flow {args.request_id!r} in {store_name(args.db)}")
    except Exception as error:
        failure = exits.failure_of(error)
        if failure is not None and args.json:
            db = store_name(args.db)
            emit(args, out, failure.exit.code, failure, db=db, flow_id=args.request_id)
        raise
    if args.json:
        emit(args, out, exits.OK.code, flow=_show_json(stored, links), db=store_name(args.db))
        return exits.OK.code
    flow = default_engine().restore(
        stored.flow_id, stored.activation_deadline, stored.records, initial=stored.initial
    )
    if args.diagram:
        renderer = to_mermaid if args.diagram == "mermaid" else to_dot
        out.write(renderer(history=flow.history))
        return exits.OK.code
    print_flow("audit trail", flow, None, out)
    if note := migration_note(flow.history, default_engine().version):
        print(f"  {note}", file=out)
    if stored.intent:
        print(f"  open intent: {stored.intent} (the next run reads the request first)", file=out)
    named = {record.seq: record for record in flow.history}  # as this table names them
    for link in links:
        record = named.get(link.seq) or from_event_dict(json.loads(link.payload))
        by = f"  by {record.actor}" if record.actor else ""
        print(
            f"  #{record.seq:<2} {iso_utc(record.decided_at)}  hash {link.hash[:16]}  "
            f"prev {link.prev_hash[:16]}{by}",
            file=out,
        )
    return exits.OK.code
