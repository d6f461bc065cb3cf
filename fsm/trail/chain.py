"""The hash chain of a flow's stored trail: each record's canonical JSON, chained to the one
before it from a genesis hash tied to the flow, and the check that finds the first broken record.

A stored record is :func:`canonical` (its :meth:`~fsm.trail.record.AuditRecord.as_event_dict`,
as sorted compact JSON) and its hash is :func:`chain_hash` of the previous record's hash (or the
flow's :func:`genesis`) and that JSON. :func:`verify_chain` reads a flow's links
(:class:`ChainLink`) with what the flow's own row says of its head and state, and names the first
record that was edited, deleted, reordered or inserted (:class:`BrokenChain`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from ..machine.versions import VERSIONS, TableVersions
from .reading import state_mismatch
from .record import AuditRecord

CHAIN_VERSION = "firmaio-fsm/chain/v1"


def canonical(record: AuditRecord) -> str:
    """The record as canonical JSON: what is stored and hashed."""
    return json.dumps(
        record.as_event_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def genesis(flow_id: str) -> str:
    """The hash a flow's chain starts from: it ties the chain to its flow."""
    return hashlib.sha256(f"{CHAIN_VERSION}:{flow_id}".encode()).hexdigest()


def chain_hash(prev_hash: str, payload: str) -> str:
    """The hash of a stored record: its canonical JSON, chained to the record before it."""
    return hashlib.sha256(f"{prev_hash}\n{payload}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainLink:
    """One stored record as kept: its position, its JSON, and the two hashes."""

    seq: int
    payload: str
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class BrokenChain:
    """The first broken record of a flow's trail, and how it broke."""

    flow_id: str
    seq: int
    kind: str
    """``edited``, ``deleted``, ``reordered`` or ``inserted``."""
    why: str

    def __str__(self) -> str:
        return f"flow {self.flow_id}: record #{self.seq} {self.kind}: {self.why}"


def _claimed_seq(link: ChainLink) -> int | None:
    try:
        value = json.loads(link.payload).get("seq")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, int) else None


def _first_edited(flow_id: str, links: Sequence[ChainLink]) -> BrokenChain | None:
    for link in links:
        if chain_hash(link.prev_hash, link.payload) != link.hash:
            return BrokenChain(flow_id, link.seq, "edited", "its content does not match its hash")
    return None


def _first_misplaced(
    flow_id: str, links: Sequence[ChainLink], claimed: list[int | None], head_seq: int
) -> BrokenChain | None:
    expected = list(range(1, len(links) + 1))
    if sorted(c for c in claimed if c is not None) == expected and claimed != expected:
        position = next(i for i, c in enumerate(claimed) if c != i + 1)
        return BrokenChain(
            flow_id,
            links[position].seq,
            "reordered",
            f"it was written as record #{claimed[position]}",
        )
    prev = genesis(flow_id)
    for position, (link, written) in enumerate(zip(links, claimed, strict=True), start=1):
        if link.seq > position or (written is not None and written > position):
            return BrokenChain(flow_id, position, "deleted", "it is missing from the trail")
        if written != position or link.prev_hash != prev or link.seq > head_seq:
            return BrokenChain(
                flow_id, link.seq, "inserted", "it does not follow the record before it"
            )
        prev = link.hash
    return None


def _head_mismatch(
    flow_id: str,
    links: Sequence[ChainLink],
    head_seq: int,
    head_hash: str,
    state: str,
    versions: TableVersions,
) -> BrokenChain | None:
    if len(links) < head_seq:
        return BrokenChain(
            flow_id, len(links) + 1, "deleted", "the flow's last records are missing"
        )
    last = links[-1].hash if links else genesis(flow_id)
    if last != head_hash:
        return BrokenChain(
            flow_id, len(links), "edited", "the trail does not end at the flow's head"
        )
    why = state_mismatch([json.loads(link.payload) for link in links], state, versions)
    return None if why is None else BrokenChain(flow_id, len(links), "edited", why)


def verify_chain(
    flow_id: str,
    links: Sequence[ChainLink],
    head_seq: int,
    head_hash: str,
    state: str,
    *,
    versions: TableVersions = VERSIONS,
) -> BrokenChain | None:
    """Check one flow's stored trail; return its first broken record, or None if intact.

    ``head_seq``, ``head_hash`` and ``state`` are what the flow's own row says: they catch the
    removal of the last records and an edited state (named as ``versions``' table names it:
    :func:`~fsm.trail.reading.state_mismatch`). Kinds: a record whose content no longer
    matches its hash was *edited*; a position with no record was *deleted*; records that are all
    there but out of their written order were *reordered*; a record that does not follow the
    one before it was *inserted*.
    """
    links = sorted(links, key=lambda link: link.seq)
    claimed = [_claimed_seq(link) for link in links]
    return (
        _first_edited(flow_id, links)
        or _first_misplaced(flow_id, links, claimed, head_seq)
        or _head_mismatch(flow_id, links, head_seq, head_hash, state, versions)
    )
