"""Evidence bundles: one folder per flow that an auditor verifies with the published public key
alone (``firmaio evidence verify``, or the standalone script in docs/evidence.md).

A bundle holds the flow's stored records as they were hashed, with the hash chain
(``trail.jsonl``), the SHA-256 of its documents as its records state them (``documents.json``),
the signed checkpoint that covers the flow, as it was signed (``checkpoint.json``), and how to
verify it (``LEGGIMI.txt``); ``firmaio evidence`` adds the evidence document (``evidence.pdf``).
Nothing in it is a secret: records carry no fiscal code or key, and the checkpoint's signature is
checked with a public key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from firmaio.fsm.errors import InvalidInput
from firmaio.fsm.ports import FlowStore, StoredFlow, TrailReader
from firmaio.fsm.trail import ChainLink, Checkpoint

BUNDLE_VERSION = "firmaio-fsm/evidence/v1"
TRAIL = "trail.jsonl"
DOCUMENTS = "documents.json"
CHECKPOINT = "checkpoint.json"
README = "LEGGIMI.txt"
PDF = "evidence.pdf"

HOW_TO_VERIFY = """\
Prova della richiesta di firma {flow_id} (firmaio-fsm, {version})

trail.jsonl     i record registrati, uno per riga, con la catena di hash (prev_hash, hash)
documents.json  lo SHA-256 dei documenti (il PDF inviato, il PDF firmato) e il record che lo dice
checkpoint.json il checkpoint firmato con Ed25519 che copre questa richiesta
evidence.pdf    il documento di prova, leggibile su carta

Verifica, con la chiave pubblica pubblicata dall'ente (un file PEM):
    firmaio evidence verify {folder} --public-key CHIAVE_PUBBLICA.pem
oppure, senza firmaio, con lo script di docs/evidence.md (Python e cryptography):
    python3 verifica.py {folder} CHIAVE_PUBBLICA.pem

Verify with the issuer's published public key (a PEM file): the two commands above.
"""


@dataclass(frozen=True, slots=True)
class Document:
    """A document's SHA-256, as the record ``seq`` states it under ``fact``."""

    fact: str
    sha256: str
    seq: int

    @property
    def what(self) -> str:
        """``sent`` (the PDF the flow sent) or ``signed`` (a signed file fetched)."""
        return "signed" if self.fact.startswith("signed.") else "sent"


def documents_of(stored: StoredFlow) -> list[Document]:
    """Every SHA-256 the flow's records state: the PDF sent (``order.pdf_sha256``) and each
    signed file fetched (``signed.N.sha256``), with the record stating it; each once."""
    found: dict[tuple[str, str], Document] = {}
    for record in stored.records:
        for name, value in record.facts or ():
            if name.endswith("sha256") and (name, value) not in found:
                found[(name, value)] = Document(name, value, record.seq)
    return list(found.values())


def bundle_dir(out: Path, flow_id: str) -> Path:
    """The bundle's folder: ``out/ID`` (ids are checked before they name a path)."""
    return out / flow_id


def trail_lines(links: list[ChainLink]) -> str:
    """``trail.jsonl``: each stored record byte for byte as hashed, with its chain's hashes."""
    return "".join(
        json.dumps(
            {"seq": link.seq, "prev_hash": link.prev_hash, "hash": link.hash,
             "record": link.payload},
            sort_keys=True, ensure_ascii=False,
        ) + "\n"
        for link in sorted(links, key=lambda link: link.seq)
    )  # fmt: skip


def documents_json(flow_id: str, documents: list[Document]) -> str:
    body: dict[str, Any] = {
        "version": BUNDLE_VERSION,
        "flow_id": flow_id,
        "documents": [
            {"what": d.what, "fact": d.fact, "sha256": d.sha256, "seq": d.seq} for d in documents
        ],
    }
    return json.dumps(body, indent=2, sort_keys=True) + "\n"


class EvidenceStore(FlowStore, TrailReader, Protocol):
    """What a bundle reads: a flow and its stored links (any firmaio-fsm store)."""


@dataclass(frozen=True, slots=True)
class Gathered:
    """What a flow's bundle is made of, read from the store."""

    stored: StoredFlow
    links: list[ChainLink]
    documents: list[Document]


async def gather(
    store: EvidenceStore, ids: list[str], checkpoint: Checkpoint, label: str
) -> list[Gathered]:
    """Each flow's records and links; refused, naming them, for flows the store does not have
    or the checkpoint does not cover (nothing is written then)."""
    missing = [flow_id for flow_id in ids if flow_id not in checkpoint.heads]
    gathered: list[Gathered] = []
    absent: list[str] = []
    for flow_id in ids:
        stored = await store.load(flow_id)
        if stored is None:
            absent.append(flow_id)
            continue
        links = await store.links(flow_id)
        gathered.append(Gathered(stored, links, documents_of(stored)))
    if absent:
        raise InvalidInput(f"no flow {', '.join(map(repr, absent))} in {label}; nothing written")
    if missing:
        raise InvalidInput(
            f"the checkpoint does not cover {', '.join(map(repr, missing))} (newer than it): "
            "sign a new checkpoint (firmaio audit verify --signing-key ... --write-checkpoint) "
            "and give it; nothing written"
        )
    return gathered


def write_bundle(out: Path, gathered: Gathered, checkpoint_text: str) -> Path:
    """The flow's bundle under ``out`` (without its PDF); returns its folder."""
    flow_id = gathered.stored.flow_id
    folder = bundle_dir(out, flow_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / TRAIL).write_text(trail_lines(gathered.links), encoding="utf-8")
    (folder / DOCUMENTS).write_text(documents_json(flow_id, gathered.documents), encoding="utf-8")
    (folder / CHECKPOINT).write_text(checkpoint_text, encoding="utf-8")
    readme = HOW_TO_VERIFY.format(flow_id=flow_id, version=BUNDLE_VERSION, folder=folder)
    (folder / README).write_text(readme, encoding="utf-8")
    return folder
