"""``--json`` tells the truth: the exit code it carries is the process's, on every documented path.

Each scenario runs a real command against the sandbox over HTTP and compares the JSON's
``exit_code`` and ``failure`` with what ``main`` returned. The scenarios together cover every
exit code that ``adapters/cli/exits.py`` declares, so a new code needs a scenario here.
"""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from firmaio.adapters.cli import Wiring, exits, main
from firmaio.adapters.cli.demo import sample_pdf
from firmaio.adapters.sandbox import Sandbox
from firmaio.fsm.driving.durable import Boundary
from firmaio.fsm.driving.engine import Flow
from tests.conftest import FAST_RETRY
from tests.crashing_cli import command
from tests.envelope_helpers import enveloped
from tests.http.test_cli_send import off_the_page
from tests.sandbox_helpers import fault, fiscal_code, ready_request

Scenario = Callable[[Sandbox, Path], list[str]]
"""Sets the scene; returns the command's arguments (``--json`` is added)."""


def _activated(sandbox: Sandbox) -> str:
    return ready_request(sandbox)  # the session's sandbox activates at once


def ok(sandbox: Sandbox, tmp: Path) -> list[str]:
    return ["notify", ready_request(sandbox)]


def usage(sandbox: Sandbox, tmp: Path) -> list[str]:
    return ["notify", "no/such..id"]


def configuration(sandbox: Sandbox, tmp: Path) -> list[str]:
    return ["notify", ready_request(sandbox), "--base-url", sandbox.url, "--no-key"]


def unavailable(sandbox: Sandbox, tmp: Path) -> list[str]:
    fault(sandbox, "getSignatureRequest", "status", status=503, times=20)
    return ["notify", ready_request(sandbox)]


def other_process_cancels(
    sandbox: Sandbox, request_id: str, db: str, tmp: Path
) -> tuple[Boundary, list[subprocess.CompletedProcess[str]]]:
    """A boundary hook: right after this process's first activation check, before its write,
    another ``firmaio`` process cancels the same stored flow."""
    argv, env = command(sandbox.url, None)
    done: list[subprocess.CompletedProcess[str]] = []

    def race(point: str, _flow: Flow, trigger: str) -> None:
        if point == "after_call" and trigger == "check_activation" and not done:
            done.append(
                subprocess.run(
                    [*argv, "cancel", request_id, "--db", db, "--qr-dir", str(tmp)],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=60,
                    check=False,
                )
            )

    return race, done


RACES: dict[int, Boundary] = {}
"""Boundary hooks a scenario sets up for its command."""


def not_allowed(sandbox: Sandbox, tmp: Path) -> list[str]:
    request_id, db = _activated(sandbox), str(tmp / "flows.sqlite")
    RACES[5], _ = other_process_cancels(sandbox, request_id, db, tmp)
    return ["notify", request_id, "--db", db]  # loses the race to the other process


def store(sandbox: Sandbox, tmp: Path) -> list[str]:
    db = tmp / "newer.sqlite"
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE firmaio_schema (version INTEGER NOT NULL)")
        connection.execute("INSERT INTO firmaio_schema VALUES (99)")
    return ["notify", ready_request(sandbox), "--db", str(db)]


def store_unavailable(sandbox: Sandbox, tmp: Path) -> list[str]:
    return ["notify", ready_request(sandbox), "--db", "postgresql://nobody:pw@127.0.0.1:1/x"]


def fallback(sandbox: Sandbox, tmp: Path) -> list[str]:
    return ["notify", ready_request(sandbox, messages_on=False)]


def rejected(sandbox: Sandbox, tmp: Path) -> list[str]:
    request_id = _activated(sandbox)
    sandbox.issuer.close(request_id, "REJECTED")
    return ["watch", request_id, "--interval", "0.1"]


def cancelled(sandbox: Sandbox, tmp: Path) -> list[str]:
    request_id = _activated(sandbox)
    assert main(["cancel", request_id, "--qr-dir", str(tmp)], out=io.StringIO()) == 0
    return ["notify", request_id]


def failed(sandbox: Sandbox, tmp: Path) -> list[str]:
    sandbox.issuer.add_key("json-other-key", "json-other-issuer")
    return ["notify", ready_request(sandbox), "--key-env", "json-other-key"]


def not_settled(sandbox: Sandbox, tmp: Path) -> list[str]:
    return ["watch", _activated(sandbox), "--interval", "0", "--max-checks", "1"]


def expired(sandbox: Sandbox, tmp: Path) -> list[str]:
    request_id = _activated(sandbox)
    sandbox.issuer.requests[request_id].expires_at = datetime.now(UTC) - timedelta(seconds=1)
    return ["watch", request_id, "--interval", "0"]


def document_refused(sandbox: Sandbox, tmp: Path) -> list[str]:
    """A field off the sample form's page: validate-document refuses it."""
    return [
        "send", str(sample_pdf()), "--fiscal-code", fiscal_code(), "--fields",
        str(off_the_page(tmp)), "--title", "Modulo",
    ]  # fmt: skip


def tampered(sandbox: Sandbox, tmp: Path) -> list[str]:
    db = str(tmp / "flows.sqlite")
    assert main(["notify", ready_request(sandbox), "--db", db, "--qr-dir", str(tmp)]) == 0
    with sqlite3.connect(db) as connection:
        connection.execute("DELETE FROM audit_records WHERE seq = 1")
    return ["audit", "verify", "--db", db]


SCENARIOS: dict[int, Scenario] = {
    0: ok,
    2: usage,
    3: configuration,
    4: unavailable,
    5: not_allowed,
    6: store,
    7: store_unavailable,
    10: fallback,
    12: rejected,
    13: cancelled,
    14: failed,
    15: not_settled,
    16: expired,
    17: document_refused,
    20: tampered,
}

ERRORS = {e.code for e in (exits.USAGE, exits.CONFIGURATION, exits.UNAVAILABLE)} | {
    exits.NOT_ALLOWED.code,
    exits.STORE.code,
    exits.STORE_UNAVAILABLE.code,
    exits.FAILED.code,
    exits.TAMPERED.code,
}
"""Codes whose JSON names a failure."""


def test_every_documented_exit_code_has_a_scenario() -> None:
    assert sorted(SCENARIOS) == [e.code for e in exits.EXITS]


@pytest.mark.parametrize("code", sorted(SCENARIOS))
def test_json_carries_the_real_exit_code_and_failure(
    code: int, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIRMAIO_API_KEY", "sandbox-key")
    monkeypatch.setenv("FIRMAIO_BASE_URL", sandbox.url)
    monkeypatch.chdir(tmp_path)
    argv = SCENARIOS[code](sandbox, tmp_path)
    if "--no-key" in argv:
        argv.remove("--no-key")
        monkeypatch.delenv("FIRMAIO_API_KEY")
    if "--key-env" in argv:
        at = argv.index("--key-env")
        monkeypatch.setenv("FIRMAIO_API_KEY", argv[at + 1])
        del argv[at : at + 2]
    out = io.StringIO()
    wiring = Wiring(retry=FAST_RETRY, on_boundary=RACES.pop(code, None))
    returned = main([*argv, "--json"], out=out, wiring=wiring)
    shown: dict[str, Any] = enveloped(out.getvalue())
    assert (returned, shown["exit_code"]) == (code, code)
    if code in ERRORS:
        kind = next(e.name for e in exits.EXITS if e.code == code)
        assert shown["failure"]["kind"] == kind
        assert shown["failure"]["message"]
    else:
        assert shown["failure"] is None
    assert "sandbox-key" not in out.getvalue()
    assert ":pw@" not in out.getvalue()


def test_the_loser_of_a_store_race_reports_the_stored_state_and_trail(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process cancels the flow while this one is between its call and its write: this
    one exits 5 and reports the winner's CANCELLED and its trail, not the state it last saw."""
    monkeypatch.setenv("FIRMAIO_API_KEY", "sandbox-key")
    monkeypatch.setenv("FIRMAIO_BASE_URL", sandbox.url)
    request_id, db = _activated(sandbox), str(tmp_path / "flows.sqlite")
    race, done = other_process_cancels(sandbox, request_id, db, tmp_path)
    out = io.StringIO()
    returned = main(
        ["notify", request_id, "--db", db, "--json", "--qr-dir", str(tmp_path)],
        out=out,
        wiring=Wiring(on_boundary=race),
    )
    assert done[0].returncode == 0, done[0].stderr
    shown = json.loads(out.getvalue())
    assert (returned, shown["exit_code"]) == (5, 5)
    assert shown["failure"]["kind"] == "not_allowed"
    assert shown["flow"]["state"] == "CANCELLED"
    assert [r["trigger"] for r in shown["flow"]["records"]] == ["check_activation", "cancel"]
    assert sandbox.issuer.messages_sent(request_id) == 0
