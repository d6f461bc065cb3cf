"""``firmaio evidence``: per flow, a bundle an outside auditor verifies with the published
public key alone; ``firmaio evidence verify BUNDLE --public-key KEY`` checks one; ``firmaio
evidence keygen PRIVATE PUBLIC`` makes an Ed25519 key pair.

``firmaio evidence ID... --checkpoint FILE --public-key KEY --out DIR`` checks the checkpoint
(signed with Ed25519 by ``audit verify --signing-key``) under the public key and that it covers
every flow named, then writes ``DIR/ID/``: the trail with its chain, the documents' SHA-256, the
checkpoint, how to verify, and the evidence document (``evidence.pdf``, PDF/A; ``--no-pdf``
leaves it out). Needs the ``[evidence]`` extra (cryptography, WeasyPrint).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any, TextIO

from firmaio.fsm.errors import InvalidInput
from firmaio.fsm.ids import check_request_id

from ..store import store_name
from . import exits
from .envelope import emit
from .options import need_db
from .output import iso_utc
from .wiring import flow_store

LANGS = ("it", "en")


def add_evidence_command(sub: Any) -> None:
    """``firmaio evidence``, registered on the command's subparsers."""
    evidence = sub.add_parser(
        "evidence",
        help="bundles an auditor verifies with the public key: write, verify, keygen",
        description="firmaio evidence ID... --checkpoint FILE --public-key PEM --out DIR | "
        "firmaio evidence verify BUNDLE --public-key PEM | "
        "firmaio evidence keygen PRIVATE_PEM PUBLIC_PEM",
    )
    evidence.add_argument(
        "targets", nargs="+", metavar="ID | verify BUNDLE | keygen PRIVATE PUBLIC",
        help="flow ids to bundle; or verify and a bundle's folder; or keygen and two PEM paths",
    )  # fmt: skip
    evidence.add_argument(
        "--db", help="the store: SQLite file or postgresql:// URL (needed to write bundles)"
    )
    evidence.add_argument(
        "--checkpoint", metavar="FILE", help="the Ed25519-signed checkpoint covering the flows"
    )
    evidence.add_argument(
        "--public-key", metavar="PEM", help="the published Ed25519 public key (PEM)"
    )
    evidence.add_argument(
        "--out", default="out/evidence", help="where each flow's bundle goes (DIR/ID/)"
    )
    evidence.add_argument(
        "--lang", choices=LANGS, default="it", help="the evidence document's language"
    )
    evidence.add_argument(
        "--no-pdf", action="store_true", help="leave the evidence document (PDF/A) out"
    )
    evidence.add_argument("--json", action="store_true", help="print the verdict as JSON")
    evidence.set_defaults(func=cmd_evidence)


def cmd_evidence(args: argparse.Namespace, out: TextIO) -> int:
    """Dispatch on the first target: ``verify``, ``keygen`` or flow ids."""
    first, rest = args.targets[0], args.targets[1:]
    if first == "verify":
        if len(rest) != 1:
            raise InvalidInput("firmaio evidence verify takes one bundle's folder")
        return _verify(args, Path(rest[0]), out)
    if first == "keygen":
        if len(rest) != 2:
            raise InvalidInput("firmaio evidence keygen takes two paths: PRIVATE_PEM PUBLIC_PEM")
        from ..evidence.keys import write_key_pair

        made = write_key_pair(rest[0], rest[1])
        if args.json:
            emit(args, out, exits.OK.code, key_id=made, private_key=rest[0], public_key=rest[1])
        else:
            said = f"Ed25519 key {made}: private key {rest[0]} (chmod 600), publish {rest[1]}"
            print(said, file=out)
        return exits.OK.code
    ids = [check_request_id(target) for target in args.targets]
    need_db(args)
    return _write(args, ids, out)


def _public_key(args: argparse.Namespace) -> Any:
    if args.public_key is None:
        raise InvalidInput("--public-key PEM is needed: the published Ed25519 public key")
    from ..evidence.keys import read_public_key  # cryptography: the [evidence] extra

    return read_public_key(args.public_key)


def _verify(args: argparse.Namespace, folder: Path, out: TextIO) -> int:
    from ..evidence.verify import verify_bundle

    verdict = verify_bundle(folder, _public_key(args))
    code = exits.OK.code if verdict.holds else exits.TAMPERED.code
    made = None if verdict.checkpoint is None else iso_utc(verdict.checkpoint.made_at)
    if args.json:
        failure = None
        if not verdict.holds:
            failure = exits.Failure(exits.TAMPERED, "; ".join(verdict.problems) or "not verified")
        emit(
            args, out, code, failure, bundle=str(folder), flow_id=verdict.flow_id,
            holds=verdict.holds, problems=verdict.problems, record_count=verdict.records,
            signed_records=verdict.signed_records, checkpoint_made_at=made,
            documents=verdict.documents,
        )  # fmt: skip
        return code
    for problem in verdict.problems:
        print(f"NOT VERIFIED {verdict.flow_id}: {problem}", file=out)
    if verdict.holds:
        later = verdict.records - verdict.signed_records
        print(
            f"verified {verdict.flow_id}: {verdict.records} records chained; the first "
            f"{verdict.signed_records} signed by the checkpoint of {made}"
            + (f" ({later} later, chained only)" if later else ""),
            file=out,
        )
        for document in verdict.documents:
            print(f"  {document['fact']} sha256 {document['sha256']} (record #{document['seq']})",
                  file=out)  # fmt: skip
    return code


def _write(args: argparse.Namespace, ids: list[str], out: TextIO) -> int:

    from ..evidence.bundle import PDF, gather, write_bundle
    from ..evidence.verify import verify_bundle

    verifier = _public_key(args)
    text, checkpoint = _checkpoint(args, verifier)
    label = store_name(args.db)
    render = None if args.no_pdf else _renderer()

    async def read() -> list[Any]:
        store = flow_store(args.db, read_only=True)
        try:
            return await gather(store, ids, checkpoint, label)
        finally:
            await store.close()

    code, written, problems = exits.OK.code, [], []
    for gathered in asyncio.run(read()):
        folder = write_bundle(Path(args.out), gathered, text)
        verdict = verify_bundle(folder, verifier)
        if render is not None:
            from ..report.evidence import evidence_html

            html = evidence_html(
                gathered.stored, checkpoint, verdict.problems, verifier.key_id, args.lang
            )
            (folder / PDF).write_bytes(render(html))
        problems += [f"{verdict.flow_id}: {problem}" for problem in verdict.problems]
        written.append({"flow_id": verdict.flow_id, "bundle": str(folder), "holds": verdict.holds})
        if not verdict.holds:
            code = exits.TAMPERED.code
        if not args.json:
            for problem in verdict.problems:
                print(f"NOT VERIFIED {verdict.flow_id}: {problem}", file=out)
            print(f"evidence written: {folder}", file=out)
    if args.json:
        failure = exits.Failure(exits.TAMPERED, "; ".join(problems)) if problems else None
        emit(args, out, code, failure, bundles=written)
    return code


def _checkpoint(args: argparse.Namespace, verifier: Any) -> tuple[str, Any]:
    """The checkpoint file's text and the checkpoint it holds, signed with Ed25519 and verified
    with ``verifier``; else refused, nothing written."""
    from firmaio.fsm.trail import read_checkpoint

    from ..evidence.keys import FIELD

    if args.checkpoint is None:
        raise InvalidInput("--checkpoint FILE is needed: the signed checkpoint covering the flows")
    try:
        text = Path(args.checkpoint).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise InvalidInput(f"cannot read the checkpoint {args.checkpoint!r}") from None
    checkpoint, problem = read_checkpoint(text, verifier)
    if checkpoint is None or FIELD not in json.loads(text):
        raise InvalidInput(f"{args.checkpoint!r}: {problem}; nothing written")
    return text, checkpoint


def _renderer() -> Any:
    """The evidence document's renderer; a clear error if WeasyPrint or pango is missing."""
    from ..report.evidence import pdf_renderer

    return pdf_renderer()
