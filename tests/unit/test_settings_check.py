"""The settings checked at start: which answers to the check's one call pass, and what the error
says about the others (canned answers through httpx.MockTransport, no network)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest
from structlog.testing import capture_logs

from firmaio.adapters.client import IssuerClient, RetryPolicy, check_settings
from firmaio.adapters.client.probe import DOSSIER_NOT_FOUND, PROBE_DOSSIER
from firmaio.fsm import ApiConfigurationError, ApiUnavailable

FAST = RetryPolicy(attempts=2, wait_initial=0.0, wait_max=0.0, wait_jitter=0.0)
BASE = "https://api.test/api/v1/sign"
KEY = "k-0123456789-secret"

Handler = Callable[[httpx.Request], httpx.Response]


def check(handler: Handler) -> list[httpx.Request]:
    """Run the check against ``handler``; the requests it made."""
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    async def run() -> None:
        transport = httpx.MockTransport(record)
        async with IssuerClient(KEY, base_url=BASE, transport=transport, retry=FAST) as client:
            await check_settings(client, base_url_named="--base-url", key_named="FIRMAIO_KEY_X")

    asyncio.run(run())
    return seen


def problem(status: int, detail: str) -> httpx.Response:
    body = {"title": "Not Found", "status": status, "detail": detail}
    return httpx.Response(status, json=body, headers={"content-type": "application/problem+json"})


def test_the_documented_404_passes_with_one_authenticated_get_logged_not_recorded() -> None:
    with capture_logs() as events:
        seen = check(lambda _r: problem(404, DOSSIER_NOT_FOUND))
    [request] = seen
    assert (request.method, request.url.path) == ("GET", f"/api/v1/sign/dossiers/{PROBE_DOSSIER}")
    assert request.headers["Ocp-Apim-Subscription-Key"] == KEY
    checked = [e for e in events if e["event"] == "firmaio.settings_checked"]
    assert checked == [
        {"event": "firmaio.settings_checked", "log_level": "info", "status": 404,
         "base_url": BASE, "tenant": None}
    ]  # fmt: skip
    assert KEY not in repr(events)


@pytest.mark.parametrize(
    ("answer", "shown"),
    [
        (httpx.Response(404, text="Not Found"), "HTTP 404 (text/plain; charset=utf-8) 'Not Found'"),
        (httpx.Response(404), "HTTP 404 (no content type) an empty body"),
        (
            httpx.Response(404, html="<html><body>Page not found</body></html>"),
            "HTTP 404 (text/html; charset=utf-8) '<html><body>Page not found",
        ),
        (
            httpx.Response(404, json={"statusCode": 404, "message": "Resource not found"}),
            """HTTP 404 (application/json) '{"statusCode":404,"message":"Resource not found"}'""",
        ),
        (problem(404, "Not Found"), '\'{"title":"Not Found","status":404,"detail":"Not Found"}\''),
        (
            httpx.Response(307, headers={"location": "https://elsewhere.test/x"}),
            "HTTP 307 to 'https://elsewhere.test/x'",
        ),
        (httpx.Response(200, json={"id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "title": "string"}), "200"),
        (httpx.Response(200, html="<html>portal</html>"), "HTTP 200 (text/html"),
        (httpx.Response(405, text="Method Not Allowed"), "HTTP 405"),
    ],
    ids=["text", "empty", "html", "apim-json", "other-detail", "redirect", "mock", "portal", "405"],
)
def test_any_other_answer_names_the_base_url_and_quotes_what_came(
    answer: httpx.Response, shown: str
) -> None:
    with pytest.raises(ApiConfigurationError) as refused:
        check(lambda _r: answer)
    said = str(refused.value)
    assert said.startswith(f"--base-url is {BASE}, which does not look like the issuer API")
    assert shown in said
    assert "nothing was done" in said
    assert KEY not in said


@pytest.mark.parametrize(
    ("status", "why"), [(401, "subscription is not active"), (403, "IP addresses")]
)
def test_a_refused_key_names_the_key_setting_never_the_key(status: int, why: str) -> None:
    message = "Access denied due to invalid subscription key."
    with pytest.raises(ApiConfigurationError) as refused:
        check(lambda _r: httpx.Response(status, json={"statusCode": status, "message": message}))
    said = str(refused.value)
    assert said.startswith(
        f"FIRMAIO_KEY_X was refused by the issuer API at api.test (HTTP {status}:"
    )
    assert why in said
    assert KEY not in said


def test_a_service_that_keeps_failing_is_unavailable_not_a_setting() -> None:
    """5xx after the client's retries: exit 4's error, naming the base URL to check."""
    answered: list[int] = []

    def busy(_request: httpx.Request) -> httpx.Response:
        answered.append(503)
        return httpx.Response(503, text="busy")

    with pytest.raises(ApiUnavailable, match=r"cannot be reached now .* check --base-url"):
        check(busy)
    assert len(answered) == FAST.attempts  # retried as any call, then given up


def test_a_body_larger_than_any_answer_is_not_the_issuer_api() -> None:
    with pytest.raises(ApiConfigurationError, match="larger than any of its answers"):
        check(lambda _r: httpx.Response(404, content=b"x" * 5_000_000))
