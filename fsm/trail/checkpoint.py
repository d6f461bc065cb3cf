"""Checkpoints: the heads of every stored chain, signed with a key the database never holds.

A hash chain kept in the same database as its head shows that a trail was not edited by hand,
not that nobody rewrote it and recomputed every hash. A checkpoint closes that gap: it records
each flow's head (record count and hash) and the digest of all heads, signed under a key held
outside the database: HMAC-SHA256 with a shared secret, or Ed25519 (:class:`Signer`, made in
``firmaio.adapters.evidence.keys`` with the ``cryptography`` library), whose public key lets an
auditor verify a checkpoint without holding anything that could forge one. Verifying a store
against it checks that each flow still has, at the checkpoint's record count, the hash the
checkpoint signed: a trail rewritten and re-chained by whoever can write the database no longer
has it, and without the key they cannot sign a checkpoint that says otherwise. Records appended
after the checkpoint are covered by the chain, which starts from the signed head.

A checkpoint names the store it was made of by the id kept in that store (not its path, which
another store can take): a checkpoint of another store, even one signed with the right key, says
nothing about this one and is refused.

Pure: the caller reads the key and the files (``firmaio audit verify --write-checkpoint``); the
public-key algorithm sits behind :class:`Signer` and :class:`Verifier`, so this module needs only
the standard library.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import InvalidInput
from .chain import BrokenChain, ChainLink

CHECKPOINT_VERSION = "firmaio-fsm/checkpoint/v2"
"""v2 names its store by id; v1 did not, and is no longer read (sign a new one)."""
MIN_KEY_BYTES = 16
"""A shorter secret is refused: HMAC is only as strong as its key."""


def heads_digest(heads: Iterable[tuple[str, int, str]]) -> str:
    """The digest of all heads, as ``audit verify`` prints it: ``flow_id:seq:hash`` lines, in
    the order given (the store's, by flow id)."""
    digest = HeadsDigest()
    for flow_id, seq, head in heads:
        digest.add(flow_id, seq, head)
    return digest.hexdigest()


class HeadsDigest:
    """:func:`heads_digest` made a head at a time, for a store read in pages."""

    def __init__(self) -> None:
        self._sha = hashlib.sha256()

    def add(self, flow_id: str, seq: int, head: str) -> None:
        self._sha.update(f"{flow_id}:{seq}:{head}\n".encode())

    def hexdigest(self) -> str:
        return self._sha.hexdigest()


class Signer(Protocol):
    """What signs a checkpoint: the document's field its signature goes in, and the signing."""

    @property
    def field(self) -> str:
        """``hmac_sha256`` or ``ed25519``: the field of the document holding the signature."""
        ...

    def public_fields(self) -> dict[str, str]:
        """What the signed body says of the key (a public key's id), or nothing."""
        ...

    def sign(self, message: bytes) -> str:
        """The signature of ``message``, as text."""
        ...


class Verifier(Protocol):
    """What checks a checkpoint's signature: the field it reads, and the check."""

    @property
    def field(self) -> str: ...

    def check(self, document: Mapping[str, Any], message: bytes, signature: str) -> str | None:
        """``None`` if ``signature`` of ``message`` holds, else why not (never the key)."""
        ...


class HmacKey:
    """A shared secret: HMAC-SHA256 signs and checks (whoever can check can also sign)."""

    field = "hmac_sha256"

    def __init__(self, key: bytes) -> None:
        self._key = check_key(key)

    def public_fields(self) -> dict[str, str]:
        return {}

    def sign(self, message: bytes) -> str:
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def check(self, document: Mapping[str, Any], message: bytes, signature: str) -> str | None:
        del document  # a shared secret has no public id to compare
        if hmac.compare_digest(signature, self.sign(message)):
            return None
        return (
            "its signature does not hold under this key: the checkpoint was altered, or signed "
            "with another key"
        )


SIGNATURE_FIELDS = (HmacKey.field, "ed25519")
"""The fields a checkpoint's signature may be in; a document has exactly one."""


def _as_signer(key: bytes | Signer) -> Signer:
    return HmacKey(key) if isinstance(key, bytes) else key


def _as_verifier(key: bytes | Verifier) -> Verifier:
    return HmacKey(key) if isinstance(key, bytes) else key


def signed_message(body: Mapping[str, Any]) -> bytes:
    """What a checkpoint's signature covers: its body without the signature, as sorted compact
    JSON in UTF-8 (the standalone verifier in docs/evidence.md computes the same bytes)."""
    unsigned = {k: v for k, v in body.items() if k not in SIGNATURE_FIELDS}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def check_key(key: bytes) -> bytes:
    """``key`` if it is long enough to sign with; the message never shows the key."""
    if len(key) < MIN_KEY_BYTES:
        raise InvalidInput(
            f"the checkpoint key is {len(key)} bytes long; it needs at least {MIN_KEY_BYTES}"
        )
    return key


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The heads of a store's chains at one moment, and where and when they were read."""

    store: str
    """The store as its reader named it (a file name, a URL without password): for people."""
    made_at: float
    heads: Mapping[str, tuple[int, str]]
    """Each flow's record count and head hash."""
    store_id: str
    """The id kept in the store: what binds the checkpoint to it."""

    @property
    def digest(self) -> str:
        return heads_digest((fid, seq, head) for fid, (seq, head) in sorted(self.heads.items()))

    def _body(self) -> dict[str, Any]:
        return {
            "version": CHECKPOINT_VERSION,
            "store": self.store,
            "store_id": self.store_id,
            "made_at": self.made_at,
            "digest": self.digest,
            "heads": {fid: [seq, head] for fid, (seq, head) in sorted(self.heads.items())},
        }

    def signed(self, key: bytes | Signer) -> str:
        """The checkpoint as a JSON document, signed: HMAC-SHA256 under ``key`` (bytes), or by
        a :class:`Signer` (Ed25519)."""
        signer = _as_signer(key)
        body = {**self._body(), **signer.public_fields()}
        body[signer.field] = signer.sign(signed_message(body))
        return json.dumps(body, indent=2, sort_keys=True) + "\n"


def read_checkpoint(text: str, key: bytes | Verifier) -> tuple[Checkpoint | None, str | None]:
    """The checkpoint in ``text`` if its signature holds under ``key`` (an HMAC secret, or a
    :class:`Verifier`: an Ed25519 public key): ``(checkpoint, None)``; else ``(None, why)``.
    Raises :class:`InvalidInput` if ``text`` is not a checkpoint at all."""
    verifier = _as_verifier(key)
    try:
        document = json.loads(text)
        version = document["version"]
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidInput(f"not a firmaio-fsm checkpoint ({type(error).__name__})") from None
    if version != CHECKPOINT_VERSION:
        raise InvalidInput(
            f"a checkpoint of version {str(version)[:40]!r}; this reads {CHECKPOINT_VERSION} "
            "only (a v1 checkpoint names no store: sign a new one)"
        )
    present = [name for name in SIGNATURE_FIELDS if name in document]
    if present and verifier.field not in present:
        option = "--public-key" if present[0] == "ed25519" else "--key-file"
        return None, (
            f"it is signed with {present[0]}, and the key given checks {verifier.field}: give "
            f"the key it was signed with ({option})"
        )
    try:
        signature = str(document[verifier.field])
        heads = {str(f): (int(s), str(h)) for f, (s, h) in document["heads"].items()}
        checkpoint = Checkpoint(
            str(document["store"]),
            float(document["made_at"]),
            heads,
            store_id=str(document["store_id"]),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise InvalidInput(f"not a firmaio-fsm checkpoint ({type(error).__name__})") from None
    problem = verifier.check(document, signed_message(document), signature)
    if problem is not None:
        return None, problem
    if document.get("digest") != checkpoint.digest:  # pragma: no cover - only with the key
        return None, "its digest does not match its heads"
    return checkpoint, None


def against_checkpoint(
    checkpoint: Checkpoint, flow_id: str, links: Sequence[ChainLink] | None
) -> BrokenChain | None:
    """Whether a flow's stored trail still holds the head the checkpoint signed for it.

    ``links`` is the flow's stored records (``None`` if the store no longer has the flow); the
    chain itself is checked by :func:`fsm.trail.chain.verify_chain`. A flow the checkpoint does not
    know is newer than it: nothing to compare.
    """
    if flow_id not in checkpoint.heads:
        return None
    seq, head = checkpoint.heads[flow_id]
    if links is None:
        return BrokenChain(flow_id, 1, "deleted", "the checkpoint has this flow; the store has not")
    ordered = sorted(links, key=lambda link: link.seq)
    if seq == 0:
        return None
    if len(ordered) < seq:
        return BrokenChain(
            flow_id,
            len(ordered) + 1,
            "deleted",
            f"the checkpoint signed {seq} records; the store has {len(ordered)}",
        )
    if ordered[seq - 1].hash != head:
        return BrokenChain(
            flow_id,
            seq,
            "rewritten",
            f"its trail up to record #{seq} is not the one the checkpoint signed: rewritten "
            "and re-chained after the checkpoint",
        )
    return None
