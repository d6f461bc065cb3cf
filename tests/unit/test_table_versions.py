"""Table versions: every record names the table that wrote it; the trails of older tables read
through declared migrations and are never rewritten; what no migration reads is refused, naming
both versions. The story of the version 1 read here is in tests/versions_helpers.py."""

from __future__ import annotations

import json
import re

import pytest
from structlog.testing import capture_logs

from firmaio.fsm import Engine, State, default_engine
from firmaio.fsm.errors import InvalidDefinition, UnreadableTrail
from firmaio.fsm.machine import (
    MIGRATIONS,
    TABLE_VERSION,
    VERSIONS,
    TableMigration,
    TableVersions,
)
from firmaio.fsm.machine import spine_guards as g
from firmaio.fsm.machine.types import Guard
from firmaio.fsm.testing import EXAMPLE_REQUEST_ID, witness
from firmaio.fsm.trail import (
    AuditRecord,
    ChainLink,
    canonical,
    chain_hash,
    from_event_dict,
    genesis,
    verify_chain,
)
from firmaio.fsm.trail.reading import migration_note, read_fields, read_state, written_by
from tests.versions_helpers import V3, V3_MIGRATION, as_version_1

START = 1_800_000_000.0
RID = EXAMPLE_REQUEST_ID


def notified(engine: Engine) -> list[AuditRecord]:
    """READY -> WAIT_FOR_SIGNATURE -> NOTIFIED, as ``engine`` records it."""
    flow = engine.new_flow(RID, now=START)
    with capture_logs():
        engine.fire(flow, "check_activation", witness(g.is_waiting_for_signature), now=START + 1)
        engine.fire(flow, "notify", witness(g.message_was_sent), now=START + 2)
    return flow.history


def chained(payloads: list[dict[str, object]]) -> list[ChainLink]:
    """The stored links of ``payloads``, hash-chained as a store writes them."""
    links, prev = [], genesis(RID)
    for seq, fields in enumerate(payloads, start=1):
        text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        links.append(ChainLink(seq, text, prev, chain_hash(prev, text)))
        prev = links[-1].hash
    return links


def test_every_record_names_the_table_version_that_wrote_it() -> None:
    records = notified(default_engine())
    assert TABLE_VERSION == VERSIONS.version == 2
    assert {r.table_version for r in records} == {TABLE_VERSION}
    assert all(json.loads(canonical(r))["table_version"] == 2 for r in records)
    assert written_by({}) == 1  # a record stored before versions were recorded
    assert written_by({"table_version": "2"}) is None
    assert from_event_dict(json.loads(canonical(records[0]))) == records[0]


def test_an_older_table_s_trail_reads_in_this_table_s_names_and_is_not_rewritten() -> None:
    records = notified(default_engine())
    stored = [as_version_1(r) for r in records]
    before = json.dumps(stored)
    assert stored[1]["source"] == "WAITING"
    assert stored[1]["trigger"] == "send_message"
    read = [from_event_dict(fields) for fields in read_fields(RID, stored, V3)]
    assert read == [r._replace(table_version=None) for r in records]
    assert json.dumps(stored) == before  # what is stored is only read
    engine = Engine(versions=V3)
    with capture_logs() as events:
        flow = engine.restore(RID, START + 120, read)
        record = engine.fire(flow, "check_status", witness(g.is_signed), now=START + 3)
    assert flow.state is State.SIGNED
    assert flow.io_message_id is not None
    assert record.table_version == 3
    [note] = [e for e in events if e["event"] == "fsm.trail_read_through_migrations"]
    assert (note["flow_id"], note["written_by"], note["table_version"]) == (RID, [1], 3)
    assert migration_note(flow.history, 3) == (
        "records #1 to #2 written by table version 1, shown as table version 3 names them "
        "(read through its migrations; the stored records are unchanged)"
    )
    assert migration_note(records, TABLE_VERSION) is None


def test_a_record_through_a_removed_row_reads_as_one_through_the_row_in_its_place() -> None:
    records = notified(default_engine())
    old = as_version_1(records[1], through_removed_row=True)
    assert (old["guard"], old["guards"]) == ("already_sent", "message_sent=False,already_sent=True")
    [fields] = read_fields(RID, [old], V3)
    assert (fields["trigger"], fields["guard"]) == ("notify", "message_was_sent")
    assert fields["guards"] == "message_was_sent=True"  # the two guards merged into one
    assert from_event_dict(fields).target is State.NOTIFIED


def test_a_trail_of_a_newer_table_is_refused_naming_both_versions() -> None:
    newer = json.loads(canonical(notified(Engine(versions=V3))[0]))
    assert newer["table_version"] == 3
    with pytest.raises(UnreadableTrail, match=r"written by table version 3 .* table version 2: "):
        read_fields(RID, [newer], VERSIONS)
    with pytest.raises(UnreadableTrail, match="table version 3 is newer: upgrade firmaio-fsm"):
        read_state(RID, "READY", 3, VERSIONS)


def test_a_version_no_declared_migration_reads_is_refused() -> None:
    only_from_2 = TableVersions(3, (TableMigration(3, "rows added and one renamed"),))
    stored = [as_version_1(r) for r in notified(default_engine())]
    with pytest.raises(UnreadableTrail) as refused:
        read_fields(RID, stored, only_from_2)
    assert (refused.value.found, refused.value.running) == (1, 3)
    assert "no migration reads table version 1 (this firmaio-fsm reads versions 2 to 3)" in str(
        refused.value
    )


def test_an_old_name_no_migration_renames_is_refused_naming_it() -> None:
    stored = [as_version_1(r) for r in notified(default_engine())]
    with pytest.raises(UnreadableTrail, match="record #1 names state WAITING, which this table"):
        read_fields(RID, stored, VERSIONS)  # version 1 names, read as if nothing had changed
    with pytest.raises(UnreadableTrail, match="the flow rests in WAITING"):
        read_state(RID, "WAITING", None, VERSIONS)


def test_the_engine_refuses_a_record_that_is_none_of_its_rows() -> None:
    """Names the store can parse but the table does not have: the trigger, a guard, the row."""
    engine = default_engine()
    records = notified(engine)
    odd_trigger = records[1]._replace(trigger="send_message")
    odd_guard = records[1]._replace(guards=(("already_sent", True),))
    odd_row = records[1]._replace(target=State.SIGNED)
    for record, why in (
        (odd_trigger, "record #2 fires send_message from WAIT_FOR_SIGNATURE, which this table"),
        (odd_guard, "record #2 names guard already_sent of WAIT_FOR_SIGNATURE --notify-->"),
        (odd_row, "--notify [message_was_sent]--> SIGNED, no row of this table"),
    ):
        with pytest.raises(UnreadableTrail, match=f"runs table version 2: .*{re.escape(why)}"):
            engine.restore(RID, START + 120, [records[0], record])


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (
            lambda: TableVersions(3, (TableMigration(3, "x"), TableMigration(2, "y"))),
            r"one version at a time to table version 3, from version 2 or later: found \[3, 2\]",
        ),
        (lambda: TableVersions(3, (TableMigration(2, "x"),)), r"found \[2\]"),
        (lambda: TableVersions(1, (TableMigration(1, "x"),)), "from version 2 or later"),
        (lambda: TableVersions(0), "an integer from 1"),
        (
            lambda: TableVersions(2, (TableMigration(2, "x", states={"A": "A"}),)),
            "renames state A to itself",
        ),
        (
            lambda: TableVersions(2, (TableMigration(2, "x", guards={"a": "b", "b": "c"}),)),
            "renames guard b and renames another guard to it",
        ),
        (
            lambda: TableVersions(
                3,
                (
                    TableMigration(2, "x", states={"WAITING": "WAIT_FOR_SIGNATURE"}),
                    TableMigration(3, "y", states={"NOTIFIED": "WAITING"}),
                ),
            ),
            "names a state WAITING that migration 2 renamed away",
        ),
        (
            lambda: Engine(
                versions=TableVersions(
                    2, (TableMigration(2, "x", rows={("READY", "poll", "g"): ("poll", "g")}),)
                )
            ),
            r"replaces a removed row by READY --poll \[g\]-->, which is no row of the table",
        ),
    ],
)
def test_declarations_that_cannot_be_followed_are_refused(make: object, problem: str) -> None:
    with pytest.raises(InvalidDefinition, match=problem):
        make()  # type: ignore[operator]


def test_chains_verify_across_table_versions() -> None:
    """Records 1-2 by table version 1 (old names), 3 by version 3: the chain verifies under
    version 3; version 2 code checks its hashes but does not judge the newer names."""
    old = [as_version_1(r) for r in notified(default_engine())]
    engine = Engine(versions=V3)
    flow = engine.restore(RID, START + 120, [from_event_dict(f) for f in read_fields(RID, old, V3)])
    with capture_logs():
        engine.fire(flow, "check_status", witness(g.is_signed), now=START + 3)
    links = chained([*old, json.loads(canonical(flow.history[-1]))])
    head = links[-1].hash
    assert verify_chain(RID, links, 3, head, "SIGNED", versions=V3) is None
    assert verify_chain(RID, links, 3, head, "SIGNED") is None  # hashes only: a newer table
    edited = verify_chain(RID, links, 3, head, "CANCELLED", versions=V3)
    assert edited is not None
    assert "the flow says CANCELLED, its trail SIGNED" in edited.why
    from_elsewhere = json.loads(canonical(flow.history[-1]))
    from_elsewhere["source"] = "FALLBACK_SUGGESTED"
    jumped = chained([*old, from_elsewhere])
    broken = verify_chain(RID, jumped, 3, jumped[-1].hash, "SIGNED", versions=V3)
    assert broken is not None
    assert "record 3 starts in FALLBACK_SUGGESTED, not in NOTIFIED" in (broken.why)


def test_a_state_s_older_names_are_known_for_the_store_s_own_rows() -> None:
    assert V3.names_of({"WAIT_FOR_SIGNATURE", "READY"}) == {
        "WAIT_FOR_SIGNATURE",
        "WAITING",
        "READY",
    }
    assert V3.state_name("WAITING", 1) == "WAIT_FOR_SIGNATURE"
    assert V3.state_name("WAITING", 2) == "WAIT_FOR_SIGNATURE"
    assert V3.state_name("WAITING", 3) == "WAITING"  # a name of version 3 is not renamed again
    assert (V3.oldest, V3.reads(1), V3.reads(4), VERSIONS.reads(3)) == (1, True, False, False)
    assert (VERSIONS.oldest, VERSIONS.reads(1), VERSIONS.reads(2)) == (1, True, True)
    assert V3.after(1) == (*MIGRATIONS, V3_MIGRATION)
    assert V3.after(2) == (V3_MIGRATION,)


# A record as the code before table versions stored it: the first of tests/golden/eae5cbc/'s
# store (commit eae5cbc wrote it): the request read DRAFT while it activated, and the row issue
# #26 removed failed the flow.
OLD_FLOW = "01M958Y8C7B30NCWHH3RBEYW66"
THROUGH_HAS_UNEXPECTED_STATUS = {
    "actor": "vm:2828", "answer": "request", "decided_at": 1796547224.887451, "detail": None,
    "flow_id": OLD_FLOW, "guard": "has_unexpected_status",
    "guards": "is_waiting_for_signature=False,is_still_ready=False,was_already_notified=False,"
    "is_signed=False,is_rejected=False,is_cancelled=False,activation_deadline_passed=False,"
    "request_not_found=False,has_unexpected_status=True",
    "http_status": 200, "io_message_id": None, "outcome": "accepted", "qr_code_url": None,
    "reason": "the request reads status DRAFT, which this step cannot go on from",
    "request_status": "DRAFT", "requested_at": 1796547224.8544154, "seq": 1, "source": "READY",
    "target": "FAILED", "trigger": "check_activation",
}  # fmt: skip


def test_table_version_2_reads_the_removed_unexpected_status_row_as_fell_back_to_draft() -> None:
    stored = dict(THROUGH_HAS_UNEXPECTED_STATUS)
    [fields] = read_fields(OLD_FLOW, [stored], VERSIONS)
    assert (fields["trigger"], fields["guard"]) == ("check_activation", "fell_back_to_draft")
    assert fields["guards"].endswith(",request_not_found=False,fell_back_to_draft=True")
    assert (fields["request_status"], fields["reason"]) == (
        stored["request_status"],
        stored["reason"],
    )
    assert stored == THROUGH_HAS_UNEXPECTED_STATUS  # what is stored is only read
    with capture_logs():
        flow = default_engine().restore(OLD_FLOW, START, [from_event_dict(fields)])
    assert (flow.state, flow.history[0].table_version) == (State.FAILED, None)
    with pytest.raises(UnreadableTrail, match="names guard has_unexpected_status of READY"):
        Engine(versions=TableVersions(1)).restore(OLD_FLOW, START, [from_event_dict(stored)])


@pytest.mark.parametrize(
    "guard",
    [g.fell_back_to_draft, g.waits_in_an_unknown_status, g.is_still_ready, g.request_not_found],
)
def test_records_the_table_before_version_2_stamped_1_read_unchanged(guard: Guard) -> None:
    """Issue #26's own table (3822a9f) stamped its records 1 and already had version 2's rows."""
    engine = default_engine()
    flow = engine.new_flow(RID, now=START)
    with capture_logs():
        record = engine.fire(flow, "check_activation", witness(guard), now=START + 1)
    stamped_1 = {**json.loads(canonical(record)), "table_version": 1}
    assert read_fields(RID, [dict(stamped_1)], VERSIONS) == [stamped_1]
