"""The store's schema has a version: older databases move forward, newer ones are refused."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from firmaio.adapters.cli import main
from firmaio.adapters.store import MIGRATIONS, Migration, open_store
from firmaio.adapters.store.schema import V1
from firmaio.fsm.errors import SchemaTooNew, StoreError

CODE_VERSION = len(MIGRATIONS)
NEXT = Migration(
    CODE_VERSION + 1, "a table only this test knows", ("CREATE TABLE test_extra (note TEXT)",)
)
NEWER = rf"version {NEXT.version}, newer than this firmaio-fsm's \(version {CODE_VERSION}"


def test_a_new_store_records_this_code_s_version(db: str) -> None:
    store = open_store(db)
    try:
        assert store.schema_version() == CODE_VERSION
    finally:
        store.close()


def test_a_database_from_before_versions_is_adopted_as_version_1(db: str) -> None:
    """Tables made by the code before versions were recorded (with the leases workers took
    then): adopted as version 1, then migrated; the flows are kept, with no tenant."""
    first = open_store(db, migrations=(V1,))
    first.execute("DROP TABLE firmaio_schema")
    first.execute(
        "INSERT INTO flows (id, state, seq, head_hash, activation_deadline, created_at,"
        " updated_at, lease_owner, lease_until)"
        " VALUES ('01ARZ3NDEKTSV4RRFFQ69G5FAV', 'READY', 0, 'h', 1, 1, 1, 'w1', 99)"
    )
    first.close()
    old = open_store(db, migrations=(V1,))  # the code of then sees a version 1 database
    try:
        assert old.schema_version() == 1
    finally:
        old.close()
    store = open_store(db)
    try:
        assert store.schema_version() == CODE_VERSION
        [row] = store.rows()
        assert (row.flow_id, row.state, row.tenant) == ("01ARZ3NDEKTSV4RRFFQ69G5FAV", "READY", None)
    finally:
        store.close()


def test_migrations_move_a_database_forward(db: str) -> None:
    open_store(db).close()  # at this code's version
    store = open_store(db, migrations=(*MIGRATIONS, NEXT))
    try:
        assert store.schema_version() == NEXT.version
        store.execute("INSERT INTO test_extra (note) VALUES ('migrated')")
    finally:
        store.close()


def test_a_newer_database_is_refused_naming_both_versions(db: str) -> None:
    open_store(db, migrations=(*MIGRATIONS, NEXT)).close()
    with pytest.raises(SchemaTooNew, match=NEWER):
        open_store(db)
    assert issubclass(SchemaTooNew, StoreError)
    store = open_store(db, migrations=(*MIGRATIONS, NEXT))  # left as it was, at the newer one
    try:
        assert store.schema_version() == NEXT.version
    finally:
        store.close()


def test_a_refused_sqlite_file_is_not_changed(tmp_path: Path) -> None:
    path = tmp_path / "newer.sqlite"
    open_store(str(path), migrations=(*MIGRATIONS, NEXT)).close()
    before = path.read_bytes()
    with pytest.raises(SchemaTooNew):
        open_store(str(path))
    assert path.read_bytes() == before


def test_migrations_must_be_numbered_in_order(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"numbered 1, 2, ... in order, not \[1, 3\]"):
        open_store(str(tmp_path / "x.sqlite"), migrations=(V1, Migration(3, "gap", ())))


def test_the_command_says_what_is_wrong_with_a_newer_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "newer.sqlite"
    open_store(str(path), migrations=(*MIGRATIONS, NEXT)).close()
    assert main(["audit", "verify", "--db", str(path)]) == 6
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert re.search(NEWER, err[0])
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version FROM firmaio_schema").fetchall() == [(NEXT.version,)]
