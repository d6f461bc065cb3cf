"""Checking a store's stored trails: every hash chain, the digest of all heads, and, given a
signed checkpoint, that no trail was rewritten since (:mod:`firmaio.fsm.trail.checkpoint`).

``audit verify`` and ``firmaio report`` both read their verdicts here; reading never writes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from firmaio.fsm.errors import InvalidInput
from firmaio.fsm.machine import VERSIONS, TableVersions
from firmaio.fsm.ports import FlowRow, TrailReader
from firmaio.fsm.trail import (
    BrokenChain,
    ChainLink,
    Checkpoint,
    against_checkpoint,
    check_key,
    verify_chain,
)
from firmaio.fsm.trail.checkpoint import HeadsDigest

from .key_files import read_key_file
from .store.paging import PAGE

KEY_ENV = "FIRMAIO_CHECKPOINT_KEY"
"""The environment variable that may hold the checkpoint key (instead of ``--key-file``)."""


@dataclass
class StoreVerdict:
    """What checking every chain of a store found. It holds counts and what is wrong, never
    the store's flows: the store is read a page at a time."""

    flows: int
    records: int
    broken: list[BrokenChain]
    digest: str
    """The digest of all heads (:func:`firmaio.fsm.trail.checkpoint.heads_digest`)."""
    checkpoint: Checkpoint | None = None
    checkpoint_problem: str | None = None
    """Why the checkpoint given could not be used (its signature does not hold)."""
    rewritten: list[BrokenChain] = field(default_factory=list)
    """Flows whose trail is not the one the checkpoint signed."""
    store_id: str = ""
    """The id kept in the store checked (what a checkpoint of it names)."""
    uncovered: int = 0
    """Flows of the store the checkpoint does not know (newer than it): nothing of theirs
    is vouched for by it. 0 without a checkpoint that holds."""
    heads: dict[str, tuple[int, str]] | None = None
    """Every flow's record count and head, kept only when asked (to sign a checkpoint)."""
    last_id: str | None = None
    """The last flow checked, by id (flows stored later may sort before it, most after)."""

    @property
    def intact(self) -> bool:
        return not self.broken

    @property
    def anchored(self) -> bool:
        """A checkpoint was given, its signature holds, and every trail it signed is there."""
        return self.checkpoint is not None and not self.rewritten

    @property
    def tampered(self) -> bool:
        return bool(self.broken or self.rewritten or self.checkpoint_problem)

    def broken_of(self, flow_id: str) -> BrokenChain | None:
        return next((b for b in self.broken if b.flow_id == flow_id), None)

    def rewritten_of(self, flow_id: str) -> BrokenChain | None:
        return next((b for b in self.rewritten if b.flow_id == flow_id), None)

    def to_checkpoint(self, store: str, made_at: float) -> Checkpoint:
        """A checkpoint of the heads read, naming the store by its id (the verdict must have
        been made with ``keep_heads=True``)."""
        if self.heads is None:
            raise InvalidInput("the heads were not kept: verify with keep_heads=True to sign")
        return Checkpoint(store, made_at, self.heads, self.store_id)


async def _checked(
    store: TrailReader, row: FlowRow, links: list[ChainLink], versions: TableVersions
) -> tuple[FlowRow, list[ChainLink], BrokenChain | None]:
    """The flow's row and records, and what is wrong with its chain, if anything."""
    found = verify_chain(row.flow_id, links, row.seq, row.head_hash, row.state, versions=versions)
    if found is not None:  # a write between two reads of a live store looks like an
        fresh = await store.rows([row.flow_id])  # insertion: read both again, in order
        links = await store.links(row.flow_id)
        if fresh:
            row = fresh[0]
        found = verify_chain(
            row.flow_id, links, row.seq, row.head_hash, row.state, versions=versions
        )
    return row, links, found


async def verify_store(
    store: TrailReader,
    checkpoint: Checkpoint | None = None,
    checkpoint_problem: str | None = None,
    *,
    versions: TableVersions = VERSIONS,
    keep_heads: bool = False,
    page: int = PAGE,
) -> StoreVerdict:
    """Check every chain of ``store`` (and, given one, against a checkpoint: a checkpoint of
    another store, by the id kept in the store, is refused); each record's states are read
    through ``versions`` from the table version that wrote it.

    The store is read ``page`` flows at a time, by id: what is held is a page and what is
    wrong, plus, with ``keep_heads``, every flow's head (what a checkpoint signs)."""
    store_id = await store.store_id()
    if checkpoint is not None and checkpoint.store_id != store_id:
        checkpoint_problem = (
            f"it is the checkpoint of another store (store id {checkpoint.store_id[:40]!r}, "
            f"made of {checkpoint.store[:80]!r}); this store's id is {store_id!r}"
        )
        checkpoint = None
    broken: list[BrokenChain] = []
    rewritten: list[BrokenChain] = []
    heads: dict[str, tuple[int, str]] | None = {} if keep_heads else None
    unseen: set[str] = set() if checkpoint is None else set(checkpoint.heads)
    digest = HeadsDigest()
    flows = records = uncovered = 0
    after: str | None = None
    while read := await store.trail_page(after, page):
        after = read[-1][0].flow_id
        for stored, stored_links in read:
            row, links, found = await _checked(store, stored, stored_links, versions)
            flows, records = flows + 1, records + len(links)
            digest.add(row.flow_id, row.seq, row.head_hash)
            if heads is not None:
                heads[row.flow_id] = (row.seq, row.head_hash)
            if found is not None:
                broken.append(found)
            if checkpoint is not None:
                unseen.discard(row.flow_id)
                uncovered += row.flow_id not in checkpoint.heads
                moved = against_checkpoint(checkpoint, row.flow_id, links)
                if moved is not None:
                    rewritten.append(moved)
    for orphan in await store.orphan_flow_ids():
        broken.append(
            BrokenChain(orphan, 1, "inserted", "records of a flow the store does not have")
        )
    if checkpoint is not None:
        rewritten.extend(
            moved
            for flow_id in sorted(unseen)
            if (moved := against_checkpoint(checkpoint, flow_id, None)) is not None
        )
    return StoreVerdict(
        flows, records, broken, digest.hexdigest(), checkpoint, checkpoint_problem,
        rewritten, store_id, uncovered, heads, after,
    )  # fmt: skip


def read_key(key_file: str | None) -> bytes:
    """The checkpoint key: the content of ``key_file`` (surrounding whitespace dropped; refused
    if its group or others may read or write it, :mod:`.key_files`), or of :data:`KEY_ENV`.
    Never printed; an error names the file or the variable, not the key."""
    if key_file is not None:
        key = read_key_file(key_file, "the key file").strip()
        where = f"the key file {key_file!r}"
    elif os.environ.get(KEY_ENV):
        key, where = os.environ[KEY_ENV].strip().encode(), f"${KEY_ENV}"
    else:
        raise InvalidInput(
            f"a checkpoint needs a key held outside the database: --key-file PATH or ${KEY_ENV}"
        )
    try:
        return check_key(key)
    except InvalidInput as error:
        raise InvalidInput(f"{where}: {error}") from None
