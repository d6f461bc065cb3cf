"""Commands on a stored flow act as carefully as the workers: the exit code follows the command's
goal (a cancel that did not end CANCELLED is not 0), the stored state is checked before a call
with effects, and every record names its actor (the command, the operator or ``--actor``)."""

from __future__ import annotations

import getpass
import io
import json
from typing import Any

from firmaio.adapters.cli import exits, main
from firmaio.adapters.sandbox import Sandbox
from tests.sandbox_helpers import ready_request

DB = "flows.sqlite"


def firmaio(*argv: str) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    code = main([*argv, "--db", DB, "--json"], out=out)
    return code, json.loads(out.getvalue())


def cancels(sandbox: Sandbox) -> int:
    """``PUT .../status`` calls the sandbox served so far (the requests here are made READY by
    hand, so every one is a cancel)."""
    return sandbox.state.calls.get("setSignatureRequestStatus", 0)


def test_a_cancel_the_service_refuses_exits_5_and_names_the_operator(api_env: Sandbox) -> None:
    """Signed before the operator's cancel: the service answers 400 and the flow stays where it
    was, so the command says it did not cancel (5, not 0); the record names who tried."""
    request_id = ready_request(api_env)
    assert firmaio("notify", request_id)[0] == 0
    api_env.issuer.close(request_id, "SIGNED")
    code, shown = firmaio("cancel", request_id)
    assert code == exits.NOT_ALLOWED.code == 5
    assert shown["flow"]["state"] == "NOTIFIED"
    last = shown["flow"]["records"][-1]
    assert (last["trigger"], last["outcome"], last["http_status"]) == ("cancel", "refused", 400)
    assert "already been signed" in last["detail"]
    assert last["actor"] == f"{getpass.getuser()} (firmaio cancel)"
    assert {r["actor"] for r in shown["flow"]["records"][:-1]} == {
        f"{getpass.getuser()} (firmaio notify)"
    }


def test_cancel_ends_cancelled_with_the_actor_given_and_a_second_cancel_calls_nothing(
    api_env: Sandbox,
) -> None:
    request_id = ready_request(api_env)
    assert firmaio("notify", request_id)[0] == 0
    before = cancels(api_env)
    code, shown = firmaio("cancel", request_id, "--actor", "sportello-3")
    assert (code, shown["flow"]["state"]) == (0, "CANCELLED")
    assert shown["flow"]["records"][-1]["actor"] == "sportello-3 (firmaio cancel)"
    assert cancels(api_env) == before + 1
    code, again = firmaio("cancel", request_id, "--actor", "sportello-3")
    assert (code, again["flow"]["state"]) == (0, "CANCELLED")  # its goal, as stored: nothing to do
    assert len(again["flow"]["records"]) == len(shown["flow"]["records"])
    assert cancels(api_env) == before + 1, "the stored state was not checked before the call"


def test_an_actor_that_is_a_fiscal_code_is_refused_before_anything(api_env: Sandbox) -> None:
    request_id = ready_request(api_env)
    before = sum(api_env.state.calls.values())
    out = io.StringIO()
    argv = ["cancel", request_id, "--db", DB, "--actor", "RSSMRA80A01H501U", "--json"]
    assert main(argv, out=out) == exits.USAGE.code
    assert "fiscal code" in json.loads(out.getvalue())["failure"]["message"]
    assert sum(api_env.state.calls.values()) == before
