"""A store that fails in the middle of a run loses nothing.

``firmaio run`` drives a batch over HTTP against the sandbox while its store goes away: the
PostgreSQL connections are cut (what a restart does to a client), or the SQLite disk fills up (a
small tmpfs, mounted where the test may; skipped with the reason where it may not). The run
stops with one clear line and exit 7; rerunning finishes every flow, each citizen due a message
has exactly one, and ``audit verify`` finds every chain intact.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from firmaio.adapters.cli import Wiring, main
from firmaio.adapters.sandbox import Sandbox
from firmaio.adapters.store import open_store
from firmaio.fsm.driving.engine import Flow
from tests.conftest import FAST_RETRY
from tests.sandbox_helpers import ready_request

RESTING = {"NOTIFIED", "FALLBACK_SUGGESTED"}


def batch(sandbox: Sandbox, n: int) -> dict[str, bool]:
    """``n`` READY requests, and whether each citizen has messages on."""
    wanted = {i: i % 3 != 0 for i in range(n)}
    return {ready_request(sandbox, messages_on=on): on for on in wanted.values()}


def run(db: str, ids: list[str], wiring: Wiring | None = None) -> tuple[int, str]:
    """``firmaio run`` as worker w1; an intent the stopped run left open is read back at once
    (that run has ended: none of its calls can still be under way)."""
    out = io.StringIO()
    argv = ["run", "--db", db, "--worker", "w1", "--recovery-grace", "0", "--json", *ids]
    return main(argv, out=out, wiring=wiring or Wiring(retry=FAST_RETRY)), out.getvalue()


def assert_nothing_lost(sandbox: Sandbox, db: str, citizens: dict[str, bool]) -> None:
    store = open_store(db)
    try:
        rows = {row.flow_id: row for row in store.rows(list(citizens))}
    finally:
        store.close()
    assert {row.state for row in rows.values()} <= RESTING
    assert all(row.intent is None for row in rows.values())
    for request_id, messages_on in citizens.items():
        assert sandbox.issuer.messages_sent(request_id) == (1 if messages_on else 0)
        assert rows[request_id].state == ("NOTIFIED" if messages_on else "FALLBACK_SUGGESTED")
    assert main(["audit", "verify", "--db", db], out=io.StringIO()) == 0


def test_postgresql_cut_off_mid_run(
    api_env: Sandbox, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import psycopg

    app = f"firmaio-outage-{uuid.uuid4().hex[:8]}"
    db = f"{postgres_url}&application_name={app}"
    citizens = batch(api_env, 9)
    seen = []

    def cut_every_connection(point: str, _flow: Flow, trigger: str) -> None:
        if (point, trigger) == ("after_call", "notify"):
            seen.append(trigger)
            if len(seen) == 2:  # a message sent, its record not yet written
                with psycopg.connect(postgres_url, autocommit=True) as admin:
                    admin.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = %s",
                        (app,),
                    )

    code, _ = run(db, list(citizens), Wiring(on_boundary=cut_every_connection, retry=FAST_RETRY))
    err = capsys.readouterr().err
    assert code == 7, err
    assert "cannot be reached or the connection was cut" in err
    assert "Traceback" not in err
    code, out = run(db, list(citizens))
    assert code == 0, capsys.readouterr().err
    assert json.loads(out)["errors"] == {}
    assert_nothing_lost(api_env, db, citizens)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MB tmpfs: mounted where this process may, else the test is skipped with the reason.
    The rerun after the disk is freed needs room for the write-ahead log between two checkpoints
    (every 500 calls, :mod:`~firmaio.adapters.store.sqlite_aio`): 8.5 MB for these 40 flows with
    schema 10's indexes on the last change (7.4 MB before them, too near 8 MB)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mount = shutil.which("mount")
    tried = (
        subprocess.run(
            [mount, "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(disk)],
            capture_output=True,
            text=True,
            check=False,
        )
        if mount and os.geteuid() == 0
        else None
    )
    if tried is None or tried.returncode != 0:
        reason = "cannot mount a small tmpfs here" + (
            f" ({tried.stderr.strip()})" if tried else " (needs root and mount)"
        )
        if os.environ.get("FIRMAIO_REQUIRE_TMPFS") == "1":
            pytest.fail(f"{reason}; FIRMAIO_REQUIRE_TMPFS=1 makes this test mandatory")
        pytest.skip(reason)
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path, leave: int) -> Path:
    """Fill ``disk`` but for about ``leave`` bytes."""
    filler = disk / "filler"
    free = shutil.disk_usage(disk).free
    with filler.open("wb") as out:
        out.write(b"\0" * max(0, free - leave))
    return filler


def test_sqlite_disk_full_mid_run(
    api_env: Sandbox, small_disk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(small_disk / "flows.sqlite")
    citizens = batch(api_env, 40)
    # activated at once: each flow's writes are its check, its intent, its answer
    open_store(db).close()  # the store exists; then the disk fills up
    filler = fill(small_disk, leave=512 * 1024)
    code, _ = run(db, list(citizens))
    err = capsys.readouterr().err
    assert code == 7, err
    assert "the disk is full" in err
    assert "Traceback" not in err
    sent_before = sum(api_env.issuer.messages_sent(request_id) for request_id in citizens)
    assert 0 < sent_before < sum(citizens.values())  # it stopped mid-run
    filler.unlink()
    code, out = run(db, list(citizens))
    assert code == 0, capsys.readouterr().err
    assert json.loads(out)["errors"] == {}
    assert_nothing_lost(api_env, db, citizens)
