"""A store the code before table versions left (commit eae5cbc: tests/golden/eae5cbc/, made by its
own ``firmaio`` against its own sandbox, see make_store.py there) holds a flow through the row
issue #26 removed, ``READY --check_activation [has_unexpected_status]--> FAILED``, in records that
name no table version. Table version 2's migration reads it as a flow through fell_back_to_draft:
``audit show``, ``audit verify``, the report and a driver read it, its chain intact, and none of
them writes a byte. The stored record keeps its own words: the guard it named, the status it read.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

from structlog.testing import capture_logs

from firmaio.adapters.cli import main
from firmaio.adapters.store import open_async_store, open_store
from firmaio.fsm import DurableDriver, State
from firmaio.fsm.machine import TABLE_VERSION
from firmaio.fsm.testing import ManualClock, ScriptedApi

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "eae5cbc"
MANIFEST = json.loads((GOLDEN / "flows.json").read_text())
[FAILED, NOTIFIED] = [flow["id"] for flow in MANIFEST["flows"]]
NOTE = (
    f"record #1 written by table version 1, shown as table version {TABLE_VERSION} names them "
    "(read through its migrations; the stored records are unchanged)"
)


def payloads(db: Path) -> list[tuple[str, int, str]]:
    """Every stored record as stored: flow, seq, the JSON text."""
    with closing(sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)) as conn:
        rows = conn.execute("SELECT flow_id, seq, payload FROM audit_records ORDER BY 1, 2")
        return [(flow_id, seq, payload) for flow_id, seq, payload in rows]


def stored_bytes(db: Path) -> str:
    """A digest of the store's file and its write-ahead log, as they are on disk."""
    wal = db.with_name(f"{db.name}-wal")
    data = db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    return hashlib.sha256(data).hexdigest()


def firmaio(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_a_store_of_the_code_before_table_versions_reads_through_table_version_2(
    tmp_path: Path,
) -> None:
    db = tmp_path / "flows.sqlite"
    shutil.copy(GOLDEN / "flows.sqlite", db)
    as_left = payloads(db)
    [(_, _, failed)] = [p for p in as_left if p[0] == FAILED]
    assert json.loads(failed)["guard"] == "has_unexpected_status"
    assert "table_version" not in failed
    open_store(str(db)).close()  # schema 2 to this code's, as a command that drives flows does
    assert payloads(db) == as_left  # the schema moved on; no record was rewritten
    before = stored_bytes(db)

    code, shown = firmaio("audit", "show", FAILED, "--db", str(db))
    assert code == 0, shown
    assert "#1  check_activation READY -> FAILED  accepted [fell_back_to_draft] HTTP 200 " in shown
    assert "status=DRAFT" in shown  # the record's own evidence: the status it read
    assert "final state: FAILED" in shown
    assert NOTE in shown
    assert "has_unexpected_status" not in shown
    code, as_json = firmaio("audit", "show", FAILED, "--db", str(db), "--json")
    assert code == 0
    shown_json = json.loads(as_json)
    assert (shown_json["flow"]["table_version"], shown_json["flow"]["written_by_older_tables"]) == (
        2,
        [1],
    )
    assert shown_json["flow"]["records"][0]["guard"] == "has_unexpected_status"  # as stored
    code, shown = firmaio("audit", "show", NOTIFIED, "--db", str(db))
    assert code == 0, shown
    assert "WAIT_FOR_SIGNATURE -> NOTIFIED  accepted [message_was_sent]" in shown

    code, verified = firmaio("audit", "verify", "--db", str(db), "--json")
    assert code == 0, verified
    verdict = json.loads(verified)
    assert verdict["intact"] is True
    assert (verdict["flow_count"], verdict["record_count"]) == (2, 3)

    report = tmp_path / "report.html"
    code, said = firmaio("report", "--db", str(db), "--out", str(report))
    assert code == 0, said
    assert "every chain intact" in said
    html = report.read_text()
    assert f'data-flow="{FAILED}"' in html
    assert "fell_back_to_draft" in html
    assert "has_unexpected_status" not in html
    assert html.count(f"written by table version 1, shown as table version {TABLE_VERSION}") == 2

    api = ScriptedApi()

    async def reopen() -> tuple[State, str | None]:
        store = open_async_store(str(db))
        try:
            flow = await DurableDriver(api, ManualClock(), store).open(FAILED, create=False)
            return flow.state, flow.history[0].guard
        finally:
            await store.close()

    with capture_logs():
        assert asyncio.run(reopen()) == (State.FAILED, "fell_back_to_draft")
    assert api.calls == []

    assert stored_bytes(db) == before
    assert payloads(db) == as_left
