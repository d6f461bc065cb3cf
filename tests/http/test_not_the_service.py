"""A wrong setting never closes a flow: an answer the issuer API did not certainly give (a 404 of
a wrong path or of a proxy, a gateway's 403 page, a redirect, a JSON of another shape) leaves the
flow where it was, exits 3 (a setting) or 4 (availability), and records an ``error`` whose
evidence quotes the bytes the server sent; with the right setting the same flow goes on to its
true state."""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from firmaio.adapters.cli import Wiring, main
from firmaio.adapters.sandbox import Sandbox
from tests.conftest import FAST_RETRY
from tests.hostile import Answer, Hostile, answer, json_answer
from tests.sandbox_helpers import ready_request

HTML_404 = b"<html><head><title>404 Not Found</title></head><body>nginx</body></html>"
GATEWAY_403 = (
    b"<!DOCTYPE html><html><body><h1>Access Denied</h1>\x1b[2J Reference #18</body></html>"
)
APIM_404 = {"statusCode": 404, "message": "Resource not found"}
"""What Azure API Management answers for a path no API of it serves."""


class Misroute(Hostile):
    """What a wrong base URL reaches instead of the issuer API: :attr:`mode` says what it is."""

    def route(self, method: str, path: str) -> Answer:
        del method, path
        return {
            "proxy-404-empty": lambda: answer(404),
            "proxy-404-html": lambda: answer(404, HTML_404, {"content-type": "text/html"}),
            "gateway-403-html": lambda: answer(
                403, GATEWAY_403, {"content-type": "text/html; charset=utf-8"}
            ),
            "redirect": lambda: answer(301, b"", {"location": "https://login.example/sso"}),
            "apim-404-json": lambda: json_answer(404, APIM_404),
            "other-json-200": lambda: json_answer(200, {"hello": "world", "version": 2}),
        }[self.mode]()


@pytest.fixture(scope="module")
def misroute() -> Iterator[Misroute]:
    server = Misroute().start()
    yield server
    server.stop()


def firmaio(*argv: str) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    code = main([*argv, "--json"], out=out, wiring=Wiring(retry=FAST_RETRY))
    return code, json.loads(out.getvalue())


def stored(db: str) -> list[dict[str, Any]]:
    rows = sqlite3.connect(db).execute("SELECT payload FROM audit_records ORDER BY seq").fetchall()
    return [json.loads(payload) for (payload,) in rows]


def drive_wrong_then_right(base_url: str, sandbox: Sandbox) -> tuple[int, dict[str, Any], str]:
    """``notify`` a READY request of the sandbox through ``base_url``: the exit code, the JSON
    printed and the error record's detail; then through the sandbox's own URL, to NOTIFIED."""
    request_id = ready_request(sandbox)
    code, shown = firmaio("notify", request_id, "--db", "flows.sqlite", "--base-url", base_url)
    [record] = stored("flows.sqlite")
    assert shown["flow"]["state"] == "READY"
    assert (record["source"], record["target"], record["outcome"]) == ("READY", "READY", "error")
    assert record["trigger"] == "check_activation"
    assert record["detail"] in shown["failure"]["message"]
    assert sandbox.issuer.messages_sent(request_id) == 0

    right, done = firmaio("notify", request_id, "--db", "flows.sqlite")
    assert (right, done["flow"]["state"]) == (0, "NOTIFIED")
    assert sandbox.issuer.messages_sent(request_id) == 1
    targets = [r["target"] for r in stored("flows.sqlite")]
    assert set(targets) == {"READY", "WAIT_FOR_SIGNATURE", "NOTIFIED"}
    assert targets[-1] == "NOTIFIED"
    return code, shown, record["detail"]


def test_a_base_url_without_the_api_path_leaves_the_flow_ready(api_env: Sandbox) -> None:
    """The sandbox's root instead of its API: Starlette's 404 ``text/plain`` "Not Found" is
    quoted as it is, never recorded as the service's "does not exist"."""
    code, shown, detail = drive_wrong_then_right(api_env.root + "/", api_env)
    assert code == 3
    assert shown["failure"]["kind"] == "configuration"
    assert "HTTP 404, text/plain, body 'Not Found'" in detail
    assert "check the base URL (its path ends in /api/v1/sign)" in detail
    assert "does not exist" not in detail
    [record] = [r for r in stored("flows.sqlite") if r["outcome"] == "error"]
    assert record["http_status"] == 404


@pytest.mark.parametrize(
    ("mode", "code", "evidence"),
    [
        pytest.param("proxy-404-empty", 3, "HTTP 404, no content type, an empty body", id="empty"),
        pytest.param(
            "proxy-404-html",
            3,
            "HTTP 404, text/html, body '<html><head><title>404 Not Found</title>",
            id="html",
        ),
        pytest.param(
            "gateway-403-html",
            3,
            "HTTP 403, text/html, body '<!DOCTYPE html><html><body><h1>Access Denied</h1>"
            "\\x1b[2J Reference #18</body></html>'",
            id="gateway-403",
        ),
        pytest.param(
            "redirect",
            3,
            "HTTP 301, no content type, an empty body, Location 'https://login.example/sso': "
            "a redirect, which is never followed",
            id="redirect",
        ),
        pytest.param(
            "apim-404-json",
            3,
            """HTTP 404, application/json, body '{"statusCode": 404, "message": "Resource""",
            id="json-of-another-shape-404",
        ),
        pytest.param(
            "other-json-200",
            4,
            """a signature request without a status (application/json, body '{"hello": "world\"""",
            id="json-of-another-shape-200",
        ),
    ],
)
def test_an_answer_that_is_not_the_service_s_leaves_the_flow_where_it_was(
    api_env: Sandbox, misroute: Misroute, mode: str, code: int, evidence: str
) -> None:
    """Behind a proxy or gateway, or on a host that is not the service: exit 3 (a setting) or 4
    (no usable answer), the evidence quoting the server's own bytes, escapes escaped; no flow
    closes. Then the right base URL drives the same flow to NOTIFIED."""
    misroute.mode = mode
    exit_code, shown, detail = drive_wrong_then_right(misroute.url, api_env)
    assert exit_code == code
    assert shown["failure"]["kind"] == ("configuration" if code == 3 else "unavailable")
    assert evidence in detail
    assert "\x1b" not in detail
    assert misroute.hits, "the wrong base URL was called"
    assert all(method == "GET" for method, _path in misroute.hits)  # never the notification
    misroute.hits.clear()


def test_redirects_are_not_followed_by_the_client(api_env: Sandbox, misroute: Misroute) -> None:
    """httpx follows no redirect unless told to; the client never tells it to."""
    misroute.mode = "redirect"
    request_id = ready_request(api_env)
    firmaio("notify", request_id, "--base-url", misroute.url)
    assert [path for _method, path in misroute.hits] == [
        f"/api/v1/sign/signature-requests/{request_id}"
    ]
    misroute.hits.clear()
