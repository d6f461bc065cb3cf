"""Anchored evidence: someone who can write the database rewrites a record AND recomputes that
flow's whole chain and head. Plain ``audit verify`` cannot tell; verifying against a checkpoint
signed with a key held outside the database names the flow, and so does the report."""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from firmaio.adapters.cli import main
from firmaio.adapters.store import open_async_store
from firmaio.fsm import Answer, State
from firmaio.fsm.driving.durable import DurableDriver
from firmaio.fsm.testing import EXAMPLE_IO_MESSAGE_ID, ManualClock, ScriptedApi
from firmaio.fsm.trail.chain import chain_hash, genesis

NOTIFIED = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
REFUSED = "01BX5ZZKBKACTAV9WEVGEMMVRZ"
SECRET = "0123456789abcdef0123456789abcdef-kept-far-from-the-database"


def _drive(db: str) -> None:
    async def run() -> None:
        store = open_async_store(db)
        try:
            for flow_id, answers in (
                (
                    NOTIFIED,
                    [Answer.request("WAIT_FOR_SIGNATURE"), Answer.sent(EXAMPLE_IO_MESSAGE_ID)],
                ),
                (REFUSED, [Answer.request("WAIT_FOR_SIGNATURE"), Answer.messages_disabled()]),
            ):
                driver = DurableDriver(ScriptedApi(answers), ManualClock(), store, actor="w1")
                assert await driver.advance(await driver.open(flow_id)) in (
                    State.NOTIFIED,
                    State.FALLBACK_SUGGESTED,
                )
        finally:
            await store.close()

    asyncio.run(run())


@contextmanager
def _connect(db: str) -> Iterator[Any]:
    if db.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(db) as connection:
            yield connection
    else:
        connection = sqlite3.connect(db)
        try:
            with connection:
                yield connection
        finally:
            connection.close()


def rewrite_and_rechain(db: str, flow_id: str) -> None:
    """What an insider with write access does: edit a record's payload, then recompute every
    hash of that flow's chain and its head, so that the chain checks out again."""
    mark = "%s" if db.startswith("postgresql://") else "?"
    with _connect(db) as connection:
        rows = connection.execute(
            f"SELECT seq, payload FROM audit_records WHERE flow_id = {mark} ORDER BY seq",
            (flow_id,),
        ).fetchall()
        prev = genesis(flow_id)
        for seq, payload in rows:
            fields = json.loads(payload)
            if fields.get("io_message_id"):
                fields["io_message_id"] = "01HZZZZZZZZZZZZZZZZZZZZZZZ"  # a message never sent
            payload = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            digest = chain_hash(prev, payload)
            connection.execute(
                f"UPDATE audit_records SET payload = {mark}, prev_hash = {mark}, hash = {mark} "
                f"WHERE flow_id = {mark} AND seq = {mark}",
                (payload, prev, digest, flow_id, seq),
            )
            prev = digest
        connection.execute(
            f"UPDATE flows SET head_hash = {mark} WHERE id = {mark}", (prev, flow_id)
        )


EN = ("--lang", "en")
"""The report in English: these tests read its English words."""


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


@pytest.fixture
def key_file(tmp_path: Path) -> str:
    path = tmp_path / "outside" / "checkpoint.key"
    path.parent.mkdir()
    path.write_text(SECRET + "\n")
    path.chmod(0o600)  # a key file others may read is refused
    return str(path)


def test_a_rechained_rewrite_passes_plain_verify_but_not_the_checkpoint(
    db: str, tmp_path: Path, key_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _drive(db)
    checkpoint = str(tmp_path / "checkpoint.json")
    code, shown = _run("audit", "verify", "--db", db, "--key-file", key_file,
                       "--write-checkpoint", checkpoint)  # fmt: skip
    assert code == 0, shown
    assert Path(checkpoint).is_file()
    assert _run("audit", "verify", "--db", db, "--key-file", key_file,
                "--checkpoint", checkpoint)[0] == 0  # fmt: skip

    rewrite_and_rechain(db, NOTIFIED)

    code, shown = _run("audit", "verify", "--db", db)
    assert code == 0, "the rewrite was meant to fool the chain alone"
    assert "every chain is intact" in shown
    code, shown = _run("audit", "verify", "--db", db, "--key-file", key_file,
                       "--checkpoint", checkpoint, "--json")  # fmt: skip
    verdict = json.loads(shown)
    assert (code, verdict["exit_code"]) == (20, 20)
    assert verdict["intact"] is True
    assert [(b["flow_id"], b["kind"]) for b in verdict["broken"]] == [(NOTIFIED, "rewritten")]
    assert verdict["checkpoint"]["holds"] is False
    code, shown = _run("audit", "verify", "--db", db, "--key-file", key_file,
                       "--checkpoint", checkpoint)  # fmt: skip
    assert code == 20
    assert f"REWRITTEN flow {NOTIFIED}" in shown
    assert REFUSED not in shown
    assert SECRET not in shown

    report = tmp_path / "report.html"
    code, shown = _run("report", *EN, "--db", db, "--key-file", key_file, "--checkpoint",
                       checkpoint, "--out", str(report))  # fmt: skip
    assert code == 20
    html = report.read_text()
    assert "Rewritten since the checkpoint" in html
    assert f'href="#flow-{NOTIFIED}"' in html
    assert SECRET not in html
    folder = tmp_path / "report"  # the folder: its summary and the flow's own page say it
    code, shown = _run("report", *EN, "--db", db, "--key-file", key_file, "--checkpoint",
                       checkpoint, "--out", str(folder))  # fmt: skip
    assert code == 20
    index = (folder / "index.html").read_text()
    assert "Rewritten since the checkpoint" in index
    assert f'href="flows/{NOTIFIED}.html"' in index
    assert "REWRITTEN since the checkpoint" in (folder / "flows" / f"{NOTIFIED}.html").read_text()
    assert "matches the checkpoint" in (folder / "flows" / f"{REFUSED}.html").read_text()


def test_a_checkpoint_signed_with_another_key_is_refused(
    tmp_path: Path, key_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(tmp_path / "flows.sqlite")
    _drive(db)
    checkpoint = str(tmp_path / "checkpoint.json")
    assert _run("audit", "verify", "--db", db, "--key-file", key_file,
                "--write-checkpoint", checkpoint)[0] == 0  # fmt: skip
    monkeypatch.setenv("FIRMAIO_CHECKPOINT_KEY", "another secret, long enough to sign")
    code, shown = _run("audit", "verify", "--db", db, "--checkpoint", checkpoint)
    assert code == 20
    assert "CHECKPOINT REFUSED" in shown
    assert "another secret" not in shown


def test_no_checkpoint_is_written_for_a_broken_store(tmp_path: Path, key_file: str) -> None:
    db = str(tmp_path / "flows.sqlite")
    _drive(db)
    with sqlite3.connect(db) as connection:
        connection.execute("DELETE FROM audit_records WHERE seq = 1")
    checkpoint = tmp_path / "checkpoint.json"
    code, shown = _run("audit", "verify", "--db", db, "--key-file", key_file,
                       "--write-checkpoint", str(checkpoint))  # fmt: skip
    assert code == 20
    assert not checkpoint.exists()
    assert "no checkpoint written" in shown


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "a checkpoint needs a key held outside the database"),
        ("short", "needs at least 16"),
        ("unreadable", "cannot read the key file"),
    ],
)
def test_a_missing_or_weak_key_is_a_usage_error_and_writes_nothing(
    tmp_path: Path,
    setup: str,
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FIRMAIO_CHECKPOINT_KEY", raising=False)
    db = str(tmp_path / "flows.sqlite")
    _drive(db)
    argv = ["audit", "verify", "--db", db, "--write-checkpoint", str(tmp_path / "cp.json")]
    if setup == "short":
        (tmp_path / "short.key").write_text("tiny-secret")
        (tmp_path / "short.key").chmod(0o600)
        argv += ["--key-file", str(tmp_path / "short.key")]
    elif setup == "unreadable":
        argv += ["--key-file", str(tmp_path / "no-such.key")]
    code, _shown = _run(*argv)
    assert code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "tiny-secret" not in err
    assert not (tmp_path / "cp.json").exists()
