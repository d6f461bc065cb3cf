"""The golden stores of every release (tests/golden/<release>/) are driven on by this code: on
SQLite and on PostgreSQL (mandatory under FIRMAIO_REQUIRE_POSTGRES=1), each chain verifies, and
every open flow reaches its true outcome against the in-process sandbox, seeded with the
requests the release left. Each release adds its own golden store (docs/upgrades.md)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from firmaio.adapters.store import open_store
from firmaio.fsm.machine.states import SETUP_ONLY
from tests.golden.expect import check_replay
from tests.golden.replay import replay

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
RELEASES = sorted(path for path in GOLDEN.iterdir() if (path / "make_golden.py").is_file())


def test_there_is_a_golden_store_of_this_release() -> None:
    import tomllib

    project = tomllib.loads((GOLDEN.parents[1] / "pyproject.toml").read_text())["project"]
    assert project["version"] in {path.name for path in RELEASES}


SET_UP = {str(state) for state in SETUP_ONLY} | {"RECEIVED"}


def heads(execute: Callable[[str], list[Any]]) -> dict[str, int]:
    """Each stored flow's record count, read with raw SQL (the store is not opened)."""
    return {row[0]: int(row[1]) for row in execute("SELECT id, seq FROM flows")}


def check_events(db: str, before: dict[str, int]) -> None:
    """The records a release kept got no event when its store migrated; every record written
    since has exactly one, in order."""
    store = open_store(db, read_only=True)
    try:
        events = store.events(limit=100_000)
        after = {row.flow_id: row.seq for row in store.rows()}
    finally:
        store.close()
    expected = [(f, n) for f in sorted(after) for n in range(before.get(f, 0) + 1, after[f] + 1)]
    assert sorted((e.flow_id, e.seq) for e in events) == expected
    assert expected, "the replay wrote records"
    for event in events:  # a flow from a PDF migrated knows its request's id as one from READY
        data = event.cloud_event()["data"]
        assert data["request_id"] is not None or data["transition"]["from"] in SET_UP, data


@pytest.mark.parametrize("release", RELEASES, ids=lambda path: path.name)
def test_a_golden_sqlite_store_is_driven_on(release: Path, tmp_path: Path) -> None:
    db = tmp_path / "flows.sqlite"
    shutil.copy(release / "flows.sqlite", db)
    with sqlite3.connect(db) as conn:
        before = heads(lambda sql: conn.execute(sql).fetchall())
    conn.close()
    with capture_logs():
        results = replay(release, "sqlite", str(db))
    check_replay(json.loads((release / "sqlite.json").read_text()), results)
    check_events(str(db), before)


@pytest.mark.parametrize("release", RELEASES, ids=lambda path: path.name)
def test_a_golden_postgres_dump_is_driven_on(release: Path, postgres_url: str) -> None:
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute((release / "flows.sql").read_text())  # type: ignore[call-overload]
        before = heads(lambda sql: conn.execute(sql).fetchall())  # type: ignore[arg-type]
    with capture_logs():
        results = replay(release, "postgres", postgres_url)
    check_replay(json.loads((release / "postgres.json").read_text()), results)
    check_events(postgres_url, before)
