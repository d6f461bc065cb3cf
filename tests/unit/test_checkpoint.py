"""Checkpoints: the heads signed with a key outside the database; a forged or altered checkpoint
is refused, and a trail re-chained after it no longer matches it."""

from __future__ import annotations

import json

import pytest

from firmaio.fsm import Answer
from firmaio.fsm.driving.engine import default_engine
from firmaio.fsm.errors import InvalidInput
from firmaio.fsm.testing import EXAMPLE_IO_MESSAGE_ID
from firmaio.fsm.trail.chain import ChainLink, canonical, chain_hash, genesis, verify_chain
from firmaio.fsm.trail.checkpoint import (
    Checkpoint,
    against_checkpoint,
    heads_digest,
    read_checkpoint,
)

RID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
KEY = b"k" * 32
STORE_ID = "6f1c2f0e-5d0a-4c57-9a43-0d7f3b1e2a11"


def _chain(detail: str | None = None) -> list[ChainLink]:
    """A two-record trail, chained; ``detail`` rewrites the second record's detail."""
    engine = default_engine()
    flow = engine.new_flow(RID, now=0.0)
    records = [
        engine.fire(flow, "check_activation", Answer.request("WAIT_FOR_SIGNATURE"), now=1.0),
        engine.fire(flow, "notify", Answer.sent(EXAMPLE_IO_MESSAGE_ID), now=2.0),
    ]
    if detail is not None:
        records[1] = records[1]._replace(detail=detail)
    links, prev = [], genesis(RID)
    for record in records:
        payload = canonical(record)
        digest = chain_hash(prev, payload)
        links.append(ChainLink(record.seq, payload, prev, digest))
        prev = digest
    return links


def test_a_signed_checkpoint_reads_back_under_its_key() -> None:
    links = _chain()
    checkpoint = Checkpoint("flows.sqlite", 1_800_000_000.0, {RID: (2, links[-1].hash)}, STORE_ID)
    text = checkpoint.signed(KEY)
    read, problem = read_checkpoint(text, KEY)
    assert problem is None
    assert read == checkpoint
    assert json.loads(text)["digest"] == heads_digest([(RID, 2, links[-1].hash)])
    assert KEY.decode() not in text


def test_another_key_or_an_altered_checkpoint_is_refused() -> None:
    links = _chain()
    text = Checkpoint("flows.sqlite", 0.0, {RID: (2, links[-1].hash)}, STORE_ID).signed(KEY)
    read, problem = read_checkpoint(text, b"another key of 32 bytes, at least")
    assert read is None
    assert problem is not None
    assert "signature" in problem
    forged = json.loads(text)
    forged["heads"][RID] = [2, "0" * 64]
    read, problem = read_checkpoint(json.dumps(forged), KEY)
    assert read is None
    assert problem is not None


@pytest.mark.parametrize(
    ("text", "why"),
    [("not json", "not a firmaio-fsm checkpoint"), ("{}", "not a firmaio-fsm checkpoint")],
)
def test_a_file_that_is_no_checkpoint_is_a_usage_error(text: str, why: str) -> None:
    with pytest.raises(InvalidInput, match=why):
        read_checkpoint(text, KEY)


def test_a_short_key_is_refused_without_showing_it() -> None:
    with pytest.raises(InvalidInput) as refused:
        Checkpoint("s", 0.0, {}, STORE_ID).signed(b"secret-ish")
    assert "secret-ish" not in str(refused.value)
    assert "at least 16" in str(refused.value)


def test_a_trail_rewritten_and_rechained_passes_its_chain_but_not_the_checkpoint() -> None:
    original = _chain()
    checkpoint = Checkpoint("s", 0.0, {RID: (2, original[-1].hash)}, STORE_ID)
    rewritten = _chain(detail="nothing happened here")
    assert verify_chain(RID, rewritten, 2, rewritten[-1].hash, "NOTIFIED") is None
    found = against_checkpoint(checkpoint, RID, rewritten)
    assert found is not None
    assert (found.flow_id, found.kind) == (RID, "rewritten")
    assert against_checkpoint(checkpoint, RID, original) is None


def test_records_after_the_checkpoint_and_flows_newer_than_it_are_fine() -> None:
    links = _chain()
    early = Checkpoint("s", 0.0, {RID: (1, links[0].hash)}, STORE_ID)
    assert against_checkpoint(early, RID, links) is None
    assert against_checkpoint(early, "01BX5ZZKBKACTAV9WEVGEMMVRZ", links) is None


def test_records_the_checkpoint_signed_cannot_go_missing() -> None:
    links = _chain()
    checkpoint = Checkpoint("s", 0.0, {RID: (2, links[-1].hash)}, STORE_ID)
    short = against_checkpoint(checkpoint, RID, links[:1])
    assert short is not None
    assert short.kind == "deleted"
    gone = against_checkpoint(checkpoint, RID, None)
    assert gone is not None
    assert gone.kind == "deleted"


def test_a_checkpoint_names_its_store_and_that_name_is_signed() -> None:
    links = _chain()
    text = Checkpoint("flows.sqlite", 0.0, {RID: (2, links[-1].hash)}, STORE_ID).signed(KEY)
    assert json.loads(text)["store_id"] == STORE_ID
    moved = json.loads(text)
    moved["store_id"] = "another-store"
    read, problem = read_checkpoint(json.dumps(moved), KEY)
    assert read is None
    assert problem is not None
    assert "signature does not hold" in problem


def test_a_checkpoint_of_version_1_names_no_store_and_is_refused() -> None:
    old = json.loads(Checkpoint("s", 0.0, {}, STORE_ID).signed(KEY))
    old["version"] = "firmaio-fsm/checkpoint/v1"
    del old["store_id"]
    with pytest.raises(InvalidInput, match="a v1 checkpoint names no store: sign a new one"):
        read_checkpoint(json.dumps(old), KEY)
