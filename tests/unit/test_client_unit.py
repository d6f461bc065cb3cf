"""The client's answer mapping, with canned answers through httpx.MockTransport (no network)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from firmaio.adapters.client import IssuerClient, RetryPolicy
from firmaio.fsm import Answer, ApiProtocolError, Kind

FAST = RetryPolicy(
    attempts=3, wait_initial=0.0, wait_max=0.0, wait_jitter=0.0, notification_grace=0
)
RID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"


def call(handler: Callable[[httpx.Request], httpx.Response], method: str) -> Answer:
    async def run() -> Answer:
        transport = httpx.MockTransport(handler)
        async with IssuerClient(
            "k", base_url="https://api.test/api/v1/sign", transport=transport, retry=FAST
        ) as c:
            result: Answer = await getattr(c, method)(RID)
            return result

    return asyncio.run(run())


def test_notification_201_of_the_spec_is_accepted() -> None:
    """The spec says 201, the service says 200: both are a sent message."""
    answer = call(lambda _r: httpx.Response(201, json={"io_message_id": "M1"}), "send_notification")
    assert (answer.kind, answer.io_message_id, answer.http_status) == (Kind.SENT, "M1", 201)


def test_unknown_status_is_carried_not_crashed_on() -> None:
    """WAIT_FOR_QTSP (documented, never returned) and future values come back as strings."""
    answer = call(
        lambda _r: httpx.Response(200, json={"id": RID, "status": "WAIT_FOR_QTSP"}), "get_request"
    )
    assert (answer.kind, answer.status) == (Kind.REQUEST, "WAIT_FOR_QTSP")


def test_garbled_read_is_a_protocol_error_after_retries() -> None:
    """A 200 that is not JSON, every time: ApiProtocolError naming the operation."""
    with pytest.raises(
        ApiProtocolError, match="getSignatureRequest: HTTP 200 with a body that is not JSON"
    ):
        call(lambda _r: httpx.Response(200, text="<html>"), "get_request")


def test_notification_request_is_an_empty_put_with_the_key() -> None:
    """PUT .../notification with an empty body and the subscription key header."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"io_message_id": "M1"})

    call(handler, "send_notification")
    [request] = seen
    assert (request.method, request.url.path) == (
        "PUT",
        f"/api/v1/sign/signature-requests/{RID}/notification",
    )
    assert request.content == b""
    assert request.headers["Ocp-Apim-Subscription-Key"] == "k"


def test_cancel_with_unknown_outcome_is_read_back() -> None:
    """A dropped cancel, then the request reads CANCELLED: the cancel was accepted, not resent."""
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if request.method == "PUT":
            raise httpx.ReadError("connection reset")
        return httpx.Response(200, json={"id": RID, "status": "CANCELLED"})

    assert call(handler, "cancel_request").kind is Kind.CANCEL_ACCEPTED
    assert calls == ["PUT", "GET"]


def test_repr_never_shows_the_key() -> None:
    """The client's repr names the base URL only."""
    client = IssuerClient("secret-key-123", base_url="https://api.test")
    assert "secret-key-123" not in repr(client)
    asyncio.run(client.aclose())


def test_requests_in_flight_never_exceed_max_connections() -> None:
    """40 reads at once through a client of 3 connections: never more than 3 at the API."""
    in_flight, most = 0, 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0.005)
        in_flight -= 1
        return httpx.Response(200, json={"id": RID, "status": "READY"})

    async def run() -> list[Answer]:
        async with IssuerClient(
            "k",
            base_url="https://api.test/api/v1/sign",
            transport=httpx.MockTransport(handler),
            max_connections=3,
        ) as client:
            return await asyncio.gather(*(client.get_request(RID) for _ in range(40)))

    answers = asyncio.run(run())
    assert [a.status for a in answers] == ["READY"] * 40
    assert most == 3


def test_max_connections_below_one_is_refused() -> None:
    """A client that could never send is a configuration error, named as such."""
    from firmaio.fsm import InvalidInput

    with pytest.raises(InvalidInput, match="max_connections must be at least 1, got 0"):
        IssuerClient("k", max_connections=0)


def test_a_cookie_the_service_sets_is_never_sent_back() -> None:
    """The API sets no cookie; the client keeps none (httpx's jar read every answer for one),
    so a cookie a proxy sets is not sent back on the next call."""
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("cookie"))
        return httpx.Response(
            200, json={"id": RID, "status": "READY"}, headers={"set-cookie": "s=1; Path=/"}
        )

    async def run() -> int:
        transport = httpx.MockTransport(handler)
        async with IssuerClient(
            "k", base_url="https://api.test/api/v1/sign", transport=transport, retry=FAST
        ) as c:
            await c.get_request(RID)
            await c.get_request(RID)
            return len(c.http.cookies)

    assert asyncio.run(run()) == 0
    assert seen == [None, None]


def test_a_cookie_set_by_hand_stays_on_its_own_client() -> None:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("cookie"))
        return httpx.Response(200, json={"id": RID, "status": "READY"})

    async def run() -> None:
        transport = httpx.MockTransport(handler)
        url = "https://api.test/api/v1/sign"
        async with (
            IssuerClient("k", base_url=url, transport=transport, retry=FAST) as one,
            IssuerClient("k", base_url=url, transport=transport, retry=FAST) as other,
        ):
            one.http.cookies.set("mine", "1")
            await one.get_request(RID)
            await other.get_request(RID)

    asyncio.run(run())
    assert seen == ["mine=1", None], "the other client sends no cookie of the first's"
