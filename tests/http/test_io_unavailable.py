"""IO's catch-all 400 over HTTP: the fallback at once, then bounded later attempts.

The service answers 400 "An error occurred while sending the message!" to any answer of IO other
than 201, 429 and 500, IO's own 502 and 503 included (and "... while getting the profile!" the
same way for the profile lookup): nothing was sent and the request is still WAIT_FOR_SIGNATURE
(API-NOTES §3.1, §3.2). The sandbox answers exactly that when a ``status`` fault says so.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from firmaio.adapters.cli import main
from firmaio.adapters.client import IO_CATCH_ALLS
from firmaio.adapters.sandbox import Sandbox
from tests.sandbox_helpers import fault, ready_request


def notify(request_id: str, db: str, *extra: str) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    code = main(["notify", request_id, "--db", db, "--json", *extra], out=out)
    return code, json.loads(out.getvalue())


def io_down(sandbox: Sandbox, detail: str, times: int) -> None:
    fault(sandbox, "sendNotification", "status", status=400, detail=detail, times=times)


@pytest.mark.parametrize("detail", sorted(IO_CATCH_ALLS))
def test_the_fallback_at_once_then_the_message_on_the_next_run(
    api_env: Sandbox, tmp_path: Path, detail: str
) -> None:
    request_id, db = ready_request(api_env), str(tmp_path / "flows.sqlite")
    io_down(api_env, detail, times=1)
    code, first = notify(request_id, db, "--resend-after", "0.2")
    assert (code, first["exit_code"], first["flow"]["state"]) == (10, 10, "FALLBACK_SUGGESTED")
    assert first["flow"]["fallback"]["reason"] == "io_unavailable"
    assert first["flow"]["fallback"]["link"].endswith(f"signatureRequestId={request_id}")
    assert Path(first["flow"]["fallback"]["qr_png"]).exists()
    assert first["flow"]["next_attempt_at"] is not None
    assert api_env.issuer.messages_sent(request_id) == 0
    [refusal] = [r for r in first["flow"]["records"] if r["trigger"] == "notify"]
    assert refusal["guard"] == "io_did_not_take_the_message"
    assert detail in refusal["detail"]

    code, second = notify(request_id, db, "--resend-after", "0.2")
    assert (code, second["flow"]["state"]) == (0, "NOTIFIED")
    assert second["flow"]["io_message_id"] == api_env.issuer.messages[request_id][0]
    assert api_env.issuer.messages_sent(request_id) == 1
    assert second["flow"]["next_attempt_at"] is None


def test_later_attempts_are_bounded_recorded_and_the_trail_stays_intact(
    api_env: Sandbox, tmp_path: Path
) -> None:
    request_id, db = ready_request(api_env), str(tmp_path / "flows.sqlite")
    io_down(api_env, "An error occurred while sending the message!", times=50)
    before = api_env.state.calls.get("sendNotification", 0)
    runs = [notify(request_id, db, "--resend-after", "0,0,0") for _ in range(6)]
    assert [code for code, _ in runs] == [10] * 6
    assert api_env.state.calls["sendNotification"] - before == 4  # the first and three later
    last = runs[-1][1]
    assert last["flow"]["next_attempt_at"] is None
    assert last["flow"]["fallback"]["reason"] == "io_unavailable"
    guards = [r["guard"] for r in last["flow"]["records"] if r["trigger"] == "notify"]
    assert guards == ["io_did_not_take_the_message"] * 4
    assert api_env.issuer.messages_sent(request_id) == 0
    assert main(["audit", "verify", "--db", db], out=io.StringIO()) == 0
