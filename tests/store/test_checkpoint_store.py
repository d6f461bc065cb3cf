"""A checkpoint is bound to its store by the id kept in the store: a checkpoint of another store
is refused, and the flows a checkpoint does not cover are counted, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from firmaio.adapters.store import open_store
from firmaio.adapters.store.schema import MIGRATIONS, V1, V2
from tests.store.test_checkpoint_tamper import NOTIFIED, SECRET, _drive, _run, rewrite_and_rechain


@pytest.fixture
def key(tmp_path: Path) -> str:
    path = tmp_path / "checkpoint.key"
    path.write_text(SECRET)
    path.chmod(0o600)
    return str(path)


def checkpoint_of(db: str, key: str, path: Path) -> str:
    code, shown = _run("audit", "verify", "--db", db, "--key-file", key,
                       "--write-checkpoint", str(path))  # fmt: skip
    assert code == 0, shown
    return str(path)


def test_the_checkpoint_of_another_store_is_refused(db: str, key: str, tmp_path: Path) -> None:
    """The issue's case: a store rewritten and re-chained, checked against the checkpoint of an
    empty store signed with the same key. Refused (exit 20), in text and JSON."""
    empty = str(tmp_path / "empty.sqlite")
    open_store(empty).close()
    foreign = checkpoint_of(empty, key, tmp_path / "empty.checkpoint.json")
    _drive(db)
    rewrite_and_rechain(db, NOTIFIED)
    code, shown = _run("audit", "verify", "--db", db, "--key-file", key, "--checkpoint", foreign)
    assert code == 20, shown
    assert "CHECKPOINT REFUSED" in shown
    assert "it is the checkpoint of another store" in shown
    assert "unchanged" not in shown
    code, shown = _run("audit", "verify", "--db", db, "--key-file", key, "--checkpoint", foreign,
                       "--json")  # fmt: skip
    verdict = json.loads(shown)
    assert (code, verdict["checkpoint"]["holds"]) == (20, False)
    assert "another store" in verdict["checkpoint"]["problem"]
    assert verdict["failure"]["kind"] == "tampered"


def test_flows_the_checkpoint_does_not_cover_are_counted(db: str, key: str, tmp_path: Path) -> None:
    """A checkpoint of the store while it was empty holds for what it signed (nothing), and says
    that none of the flows made since is covered."""
    open_store(db).close()
    early = checkpoint_of(db, key, tmp_path / "early.json")
    _drive(db)
    code, shown = _run("audit", "verify", "--db", db, "--key-file", key, "--checkpoint", early)
    assert code == 0, shown
    assert "not covered by the checkpoint (newer than it): 2 of 2 flows" in shown
    later = checkpoint_of(db, key, tmp_path / "later.json")
    code, shown = _run("audit", "verify", "--db", db, "--key-file", key, "--checkpoint", later,
                       "--json")  # fmt: skip
    verdict = json.loads(shown)
    assert (code, verdict["checkpoint"]["uncovered"], verdict["checkpoint"]["holds"]) == (
        0,
        0,
        True,
    )
    code, shown = _run("audit", "verify", "--db", db, "--key-file", key, "--checkpoint", early,
                       "--json")  # fmt: skip
    assert json.loads(shown)["checkpoint"]["uncovered"] == 2


def test_a_store_keeps_its_id_and_a_copy_shares_it(db: str, tmp_path: Path) -> None:
    store = open_store(db)
    try:
        first = store.store_id()
    finally:
        store.close()
    store = open_store(db, read_only=True)
    try:
        assert store.store_id() == first
    finally:
        store.close()
    assert len(first) == 36
    if not db.startswith("postgresql://"):
        copy = tmp_path / "copy.sqlite"
        shutil.copy(db, copy)
        other = open_store(str(copy))
        fresh = open_store(str(tmp_path / "another.sqlite"))
        try:
            assert other.store_id() == first
            assert fresh.store_id() != first
        finally:
            other.close()
            fresh.close()


def test_a_store_migrated_from_version_2_gets_its_id(db: str) -> None:
    open_store(db, migrations=(V1, V2)).close()
    store = open_store(db)
    try:
        assert store.schema_version() == MIGRATIONS[-1].version
        assert len(store.store_id()) == 36
    finally:
        store.close()


def test_a_key_file_others_may_read_is_refused_and_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("FIRMAIO_LOOSE_KEY_FILES", raising=False)
    db = str(tmp_path / "flows.sqlite")
    _drive(db)
    loose = tmp_path / "loose.key"
    loose.write_text(SECRET)
    loose.chmod(0o644)
    written = tmp_path / "cp.json"
    code, _shown = _run("audit", "verify", "--db", db, "--key-file", str(loose),
                        "--write-checkpoint", str(written))  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "may be read or changed by its group and every other user (mode 0644)" in err
    assert SECRET not in err
    assert not written.exists()
