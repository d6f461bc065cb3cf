"""``firmaio evidence verify``: a bundle checked with the published public key alone.

The same checks as the standalone script in docs/evidence.md, with the reasons named: the
checkpoint's Ed25519 signature under the public key given (altered, or signed with another key),
its digest against its heads, each record chained to the one before it from the flow's genesis
(edited, dropped, moved), the flow's head at the checkpoint's record count against the head the
checkpoint signed (a trail rewritten and re-chained), and each document's SHA-256 against the
record that states it. Reading never writes; nothing here needs the store or a secret.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from firmaio.fsm.errors import InvalidInput
from firmaio.fsm.trail import Checkpoint, Verifier, read_checkpoint
from firmaio.fsm.trail.chain import chain_hash, genesis

from .bundle import CHECKPOINT, DOCUMENTS, TRAIL


@dataclass
class BundleVerdict:
    """What checking a bundle found."""

    flow_id: str
    records: int = 0
    signed_records: int = 0
    """How many of its records the checkpoint signed (later ones: the chain alone)."""
    checkpoint: Checkpoint | None = None
    documents: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def holds(self) -> bool:
        return not self.problems


def _read(folder: Path, name: str) -> str:
    try:
        return (folder / name).read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidInput(
            f"{str(folder)!r} is not an evidence bundle: cannot read {name} ({error.strerror})"
        ) from None


def _links(text: str) -> list[dict[str, Any]]:
    try:
        links = [json.loads(line) for line in text.splitlines() if line.strip()]
        for link in links:
            _ = (int(link["seq"]), str(link["prev_hash"]), str(link["hash"]), str(link["record"]))
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidInput(f"{TRAIL} is not a trail ({type(error).__name__})") from None
    return links


def _chain(verdict: BundleVerdict, links: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records, each checked against its hash and the one before it."""
    prev = genesis(verdict.flow_id)
    records: list[dict[str, Any]] = []
    for n, link in enumerate(links, start=1):
        record = json.loads(link["record"])
        if link["seq"] != n or record.get("seq") != n or record.get("flow_id") != verdict.flow_id:
            verdict.problems.append(f"record #{n}: not the flow's record #{n} (moved or foreign)")
        elif link["prev_hash"] != prev:
            verdict.problems.append(
                f"record #{n}: it does not follow record #{n - 1} (a record was dropped or moved)"
            )
        elif chain_hash(prev, link["record"]) != link["hash"]:
            verdict.problems.append(f"record #{n}: edited (its content does not match its hash)")
        if verdict.problems:
            break
        prev = link["hash"]
        records.append(record)
    return records


def _against(verdict: BundleVerdict, checkpoint: Checkpoint, links: list[dict[str, Any]]) -> None:
    if verdict.flow_id not in checkpoint.heads:
        verdict.problems.append("the checkpoint does not cover this flow")
        return
    seq, head = checkpoint.heads[verdict.flow_id]
    verdict.signed_records = seq
    if len(links) < seq:
        verdict.problems.append(
            f"the checkpoint signed {seq} records; the bundle has {len(links)} (records dropped)"
        )
    elif seq and links[seq - 1]["hash"] != head:
        verdict.problems.append(
            f"its trail up to record #{seq} is not the one the checkpoint signed: rewritten "
            "and re-chained"
        )


def _documents(verdict: BundleVerdict, text: str, records: list[dict[str, Any]]) -> None:
    try:
        listed = json.loads(text)["documents"]
    except (ValueError, KeyError, TypeError):
        verdict.problems.append(f"{DOCUMENTS} is not a list of documents")
        return
    for document in listed:
        seq, fact, sha = document.get("seq"), document.get("fact"), document.get("sha256")
        stated = (
            records[seq - 1].get("facts", {})
            if isinstance(seq, int) and 0 < seq <= len(records)
            else {}
        )
        if stated.get(fact) != sha:
            verdict.problems.append(f"document {fact}: record #{seq} does not state {sha}")
        else:
            verdict.documents.append(document)


def verify_bundle(folder: Path, key: Verifier) -> BundleVerdict:
    """Check the bundle in ``folder`` with ``key`` (the published public key). Raises
    :class:`InvalidInput` if ``folder`` is not a bundle at all."""
    documents_text = _read(folder, DOCUMENTS)
    try:
        flow_id = str(json.loads(documents_text)["flow_id"])
    except (ValueError, KeyError, TypeError):
        raise InvalidInput(f"{DOCUMENTS} names no flow: not an evidence bundle") from None
    verdict = BundleVerdict(flow_id)
    links = _links(_read(folder, TRAIL))
    verdict.records = len(links)
    checkpoint, problem = read_checkpoint(_read(folder, CHECKPOINT), key)
    if checkpoint is None:
        verdict.problems.append(f"checkpoint refused: {problem}")
        return verdict
    verdict.checkpoint = checkpoint
    records = _chain(verdict, links)
    if not verdict.problems:
        _against(verdict, checkpoint, links)
    if not verdict.problems:
        _documents(verdict, documents_text, records)
    return verdict
