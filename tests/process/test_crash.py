"""Real processes against the sandbox: killed with SIGKILL at each step boundary, then resumed.

``firmaio run`` runs as a child process; ``FIRMAIO_CRASH_AT`` makes it SIGKILL itself exactly at
a boundary (through ``tests/crashing_cli.py``: the shipped command has no such switch). The
sandbox runs in this process and counts the IO messages; the rerun that resumes the killed one
runs in this process too (what it reads is what the killed process left in the store).
"""

from __future__ import annotations

import io
import json
import signal
import subprocess
from pathlib import Path

import pytest

from firmaio.adapters.cli import main
from firmaio.adapters.sandbox import Sandbox
from firmaio.adapters.store import open_store
from tests.crashing_cli import command
from tests.sandbox_helpers import ready_request

BOUNDARIES = [
    ("before_call", "notify"),
    ("after_call", "notify"),
    ("after_write", "notify"),
    ("before_call", "check_activation"),
    ("after_call", "check_activation"),
    ("after_write", "check_activation"),
]


def firmaio(
    sandbox: Sandbox, *args: str, crash: str | None = None, cwd: Path
) -> subprocess.CompletedProcess[str]:
    argv, env = command(sandbox.url, crash)
    return subprocess.run(
        [*argv, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def here(*args: str) -> tuple[int, str]:
    """``firmaio`` in this process (the key and the sandbox's URL in the environment)."""
    out = io.StringIO()
    return main(list(args), out=out), out.getvalue()


def three_citizens(sandbox: Sandbox) -> dict[str, str]:
    return {
        "receives": ready_request(sandbox),
        "messages_off": ready_request(sandbox, messages_on=False),
        "push_off": ready_request(sandbox, push_on=False),
    }


EXPECTED = {"receives": "NOTIFIED", "messages_off": "FALLBACK_SUGGESTED", "push_off": "NOTIFIED"}
MESSAGES = {"receives": 1, "messages_off": 0, "push_off": 1}


def assert_all_right(sandbox: Sandbox, db: str, ids: dict[str, str]) -> None:
    store = open_store(db)
    try:
        states = {row.flow_id: row.state for row in store.rows(list(ids.values()))}
        intents = [row.intent for row in store.rows(list(ids.values()))]
    finally:
        store.close()
    assert {who: states[rid] for who, rid in ids.items()} == EXPECTED
    assert intents == [None, None, None]
    assert {who: sandbox.issuer.messages_sent(rid) for who, rid in ids.items()} == MESSAGES
    verify = io.StringIO()
    assert main(["audit", "verify", "--db", db], out=verify) == 0, verify.getvalue()
    assert "every chain is intact" in verify.getvalue()


@pytest.mark.parametrize(("point", "trigger"), BOUNDARIES, ids=[f"{p}-{t}" for p, t in BOUNDARIES])
def test_killed_at_a_boundary_then_resumed(
    api_env: Sandbox, db: str, tmp_path: Path, point: str, trigger: str
) -> None:
    """SIGKILL at the boundary, rerun: every flow right, one message per citizen due one."""
    ids = three_citizens(api_env)
    # restarted under its name: its own leases; a killed process has no call under way and the
    # sandbox acts at once, so an open intent is read back at once
    run = ("run", "--db", db, "--worker", "worker-1", "--recovery-grace", "0")
    killed = firmaio(api_env, *run, *ids.values(), crash=f"{point}:{trigger}", cwd=tmp_path)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    code, resumed = here(*run, "--json", *ids.values())
    assert code == 0, resumed
    assert json.loads(resumed)["errors"] == {}
    assert_all_right(api_env, db, ids)


def test_a_rerun_of_a_finished_batch_changes_nothing(
    api_env: Sandbox, db: str, tmp_path: Path
) -> None:
    """Rerunning resumes: resting flows are skipped, no call is made for them (the first run a
    real process, the rerun in this one)."""
    ids = three_citizens(api_env)
    assert firmaio(api_env, "run", "--db", db, *ids.values(), cwd=tmp_path).returncode == 0
    code, again = here("run", "--db", db, "--json", *ids.values())
    assert code == 0, again
    assert json.loads(again)["driven"] == 0
    assert_all_right(api_env, db, ids)
