"""Stored flows after their first rest, from the command line, over HTTP against the sandbox:
re-notification once the citizen turns messages on, watching to the end, cancelling at rest."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from firmaio.adapters.cli import main
from firmaio.adapters.sandbox import Sandbox
from tests.sandbox_helpers import fiscal_code


def firmaio(*argv: str) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    code = main([*argv, "--json"], out=out)
    return code, json.loads(out.getvalue())


def refused_citizen(sandbox: Sandbox) -> tuple[str, str]:
    code = fiscal_code()
    sandbox.issuer.add_citizen(code, messages_on=False)
    return code, sandbox.issuer.create_ready_request("sandbox-key", code)


def test_a_citizen_who_turns_messages_on_is_renotified_once(api_env: Sandbox) -> None:
    code, request_id = refused_citizen(api_env)
    assert firmaio("notify", request_id, "--db", "flows.sqlite")[0] == 10
    api_env.issuer.citizen(code).messages_on = True  # in the service card, as the page advises
    assert firmaio("notify", request_id, "--db", "flows.sqlite")[0] == 10  # not without --again
    assert api_env.issuer.messages_sent(request_id) == 0
    exit_code, shown = firmaio("notify", request_id, "--db", "flows.sqlite", "--again")
    assert (exit_code, shown["flow"]["state"]) == (0, "NOTIFIED")
    assert shown["flow"]["io_message_id"] == api_env.issuer.messages[request_id][0]
    assert firmaio("notify", request_id, "--db", "flows.sqlite", "--again")[0] == 0
    assert api_env.issuer.messages_sent(request_id) == 1


def test_the_renotify_policy_makes_the_attempt_a_later_run_finds_due(api_env: Sandbox) -> None:
    code, request_id = refused_citizen(api_env)
    argv = ("notify", request_id, "--db", "flows.sqlite", "--renotify-after", "0.2")
    exit_code, first = firmaio(*argv)
    assert (exit_code, first["flow"]["state"]) == (10, "FALLBACK_SUGGESTED")
    assert first["flow"]["next_attempt_at"] is not None
    api_env.issuer.citizen(code).messages_on = True
    exit_code, second = firmaio(*argv)
    assert (exit_code, second["flow"]["state"]) == (0, "NOTIFIED")
    assert [r["trigger"] for r in second["flow"]["records"]].count("notify") == 2
    assert firmaio(*argv)[0] == 0
    assert api_env.issuer.messages_sent(request_id) == 1


@pytest.mark.parametrize("closed", ["SIGNED", "REJECTED"])
def test_watch_a_stored_flow_until_it_closes(api_env: Sandbox, closed: str) -> None:
    code = fiscal_code()
    api_env.issuer.add_citizen(code)
    request_id = api_env.issuer.create_ready_request("sandbox-key", code)
    assert firmaio("notify", request_id, "--db", "flows.sqlite")[0] == 0
    api_env.issuer.close(request_id, closed)
    exit_code, shown = firmaio("watch", request_id, "--db", "flows.sqlite", "--interval", "0.1")
    assert shown["flow"]["state"] == closed
    assert exit_code == (0 if closed == "SIGNED" else 12)
    assert [r["trigger"] for r in shown["flow"]["records"]][-1] == "check_status"


@pytest.mark.parametrize("rest", ["WAIT_FOR_SIGNATURE", "NOTIFIED", "FALLBACK_SUGGESTED"])
def test_cancel_a_stored_flow_from_each_state_that_allows_it(api_env: Sandbox, rest: str) -> None:
    code = fiscal_code()
    api_env.issuer.add_citizen(code, messages_on=rest != "FALLBACK_SUGGESTED")
    request_id = api_env.issuer.create_ready_request("sandbox-key", code)
    if rest == "WAIT_FOR_SIGNATURE":
        # activated at once; watch once, which never notifies
        argv = ("watch", request_id, "--db", "flows.sqlite", "--max-checks", "1")
    else:
        argv = ("notify", request_id, "--db", "flows.sqlite")
    assert firmaio(*argv)[1]["flow"]["state"] == rest
    exit_code, shown = firmaio("cancel", request_id, "--db", "flows.sqlite")
    assert (exit_code, shown["flow"]["state"]) == (0, "CANCELLED")
    assert api_env.issuer.requests[request_id].status == "CANCELLED"


def test_a_request_read_unsigned_after_its_expiry_closes_the_flow(api_env: Sandbox) -> None:
    """The issuer API never says EXPIRED (API-NOTES §2): the flow records it from expires_at."""
    code = fiscal_code()
    api_env.issuer.add_citizen(code)
    request_id = api_env.issuer.create_ready_request("sandbox-key", code)
    assert firmaio("notify", request_id, "--db", "flows.sqlite")[0] == 0
    api_env.issuer.requests[request_id].expires_at = datetime.now(UTC) - timedelta(minutes=1)
    exit_code, shown = firmaio("watch", request_id, "--db", "flows.sqlite", "--interval", "0.1")
    assert (exit_code, shown["flow"]["state"]) == (16, "EXPIRED")
    last = shown["flow"]["records"][-1]
    assert (last["trigger"], last["guard"]) == ("check_status", "has_expired")
    assert "still unsigned after it expired" in last["reason"]
