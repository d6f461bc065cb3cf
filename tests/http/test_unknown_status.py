"""A status the table does not know never closes a flow: the flow stays open, its record quotes
the status, the command, ``audit show``, ``run`` and the report list it as needing attention;
once the request reads a known status again, the flow goes on."""

from __future__ import annotations

import io
import json
from typing import Any

from firmaio.adapters.cli import Wiring, main
from firmaio.adapters.report.model import summary
from firmaio.adapters.sandbox import Sandbox
from firmaio.adapters.store import open_store
from tests.conftest import FAST_RETRY
from tests.sandbox_helpers import ready_request


def firmaio(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out, wiring=Wiring(retry=FAST_RETRY))
    return code, out.getvalue()


def reads(sandbox: Sandbox, request_id: str, status: str) -> None:
    """Make the sandbox's request read ``status`` (as a service with a new status would)."""
    sandbox.issuer.requests[request_id].status = status


def test_an_unknown_status_leaves_the_flow_open_and_needing_attention(api_env: Sandbox) -> None:
    request_id = ready_request(api_env)
    reads(api_env, request_id, "EXPIRED")  # io-sign's own, should it ever add one
    argv = ("notify", request_id, "--db", "flows.sqlite", "--activation-timeout", "0.5")

    code, out = firmaio(*argv)
    assert code == 15, out  # not settled
    assert "final state: READY" in out
    assert "status=EXPIRED" in out
    assert (
        "needs attention: the request reads status 'EXPIRED', which the table does not know" in out
    )
    assert "FAILED" not in out

    code, shown = firmaio(*argv[:4], "--json")
    document: dict[str, Any] = json.loads(shown)
    assert (document["flow"]["state"], document["flow"]["unknown_status"]) == ("READY", "EXPIRED")
    last = document["flow"]["records"][-1]
    assert (last["outcome"], last["request_status"]) == ("refused", "EXPIRED")
    assert "a status the table does not know; the flow stays open" in last["reason"]

    code, out = firmaio("audit", "show", request_id, "--db", "flows.sqlite")
    assert code == 0
    assert "needs attention: the request reads status 'EXPIRED'" in out

    code, out = firmaio("run", "--db", "flows.sqlite", request_id)
    assert code == 15, out
    assert f"needs attention: {request_id}: the request reads status 'EXPIRED'" in out

    store = open_store("flows.sqlite", read_only=True)
    try:
        flow, rows = store.load(request_id), store.rows([request_id])
    finally:
        store.close()
    assert flow is not None
    at_a_glance = summary("flows.sqlite", rows, [flow])
    assert at_a_glance.attention == [
        (request_id, "READY", "the request reads status EXPIRED, which the table does not know")
    ]
    assert api_env.issuer.messages_sent(request_id) == 0

    reads(api_env, request_id, "WAIT_FOR_SIGNATURE")  # a known status again: the flow goes on
    code, out = firmaio(*argv)
    assert code == 0, out
    assert "final state: NOTIFIED" in out
    assert "needs attention" not in out
    assert api_env.issuer.messages_sent(request_id) == 1


def test_a_status_out_of_shape_is_an_error_that_closes_nothing(api_env: Sandbox) -> None:
    """``"string"`` (a mock served from the spec answers the schema's placeholder) is not a
    status the service could send: a malformed answer, exit 4, the flow left READY."""
    request_id = ready_request(api_env)
    reads(api_env, request_id, "string")
    code, shown = firmaio("notify", request_id, "--db", "flows.sqlite", "--json")
    document = json.loads(shown)
    assert (code, document["flow"]["state"]) == (4, "READY")
    assert (
        "the answer's status 'string' is not a status" in document["flow"]["records"][-1]["detail"]
    )
    reads(api_env, request_id, "WAIT_FOR_SIGNATURE")
    code, shown = firmaio("notify", request_id, "--db", "flows.sqlite", "--json")
    assert (code, json.loads(shown)["flow"]["state"]) == (0, "NOTIFIED")
