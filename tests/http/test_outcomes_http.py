"""Every outcome of API-NOTES §3.2, through the client against the sandbox, ending in the right
state.

Each test drives a real flow with the httpx client against the sandbox's app in-process (httpx's
ASGI transport: the same requests and answers as over the wire, without a socket), on the test's
clock, and counts the IO messages the sandbox sent. The same calls go over loopback HTTP in the
command's tests (``test_cli*.py``, ``test_stored_flows.py``).
"""

from __future__ import annotations

import asyncio

import pytest
from structlog.testing import capture_logs

from firmaio.adapters.client import IssuerClient
from firmaio.adapters.pytest_plugin import AsgiSandbox
from firmaio.fsm import (
    ApiConfigurationError,
    ApiUnavailable,
    Driver,
    InvalidRequestId,
    Kind,
    Outcome,
    State,
    Trigger,
)
from firmaio.fsm.driving.engine import Flow
from firmaio.fsm.testing import ManualClock
from tests.conftest import FAST_RETRY
from tests.sandbox_helpers import fault, fiscal_code, ready_request


def client(asgi: AsgiSandbox, key: str = "sandbox-key") -> IssuerClient:
    return asgi.client(key, retry=FAST_RETRY, timeout=2.0)


def drive(asgi: AsgiSandbox, clock: ManualClock, request_id: str, key: str = "sandbox-key") -> Flow:
    async def run() -> Flow:
        async with client(asgi, key) as api:
            driver = Driver(api, clock)
            flow = driver.new_flow(request_id)
            await driver.advance(flow)
            return flow

    return asyncio.run(run())


def activated(asgi: AsgiSandbox, clock: ManualClock) -> None:
    """Move the clock until the sandbox turns a READY request WAIT_FOR_SIGNATURE."""
    clock.advance(asgi.issuer.activation_delay)


def test_success_notifies_once(asgi: AsgiSandbox, clock: ManualClock) -> None:
    """200 with io_message_id: NOTIFIED, and the sandbox sent exactly one message."""
    request_id = ready_request(asgi)
    flow = drive(asgi, clock, request_id)
    assert flow.state is State.NOTIFIED
    assert flow.io_message_id == asgi.issuer.messages[request_id][0]
    assert asgi.issuer.messages_sent(request_id) == 1
    assert flow.history[-1].http_status == 200


def test_push_notifications_off_still_notifies(asgi: AsgiSandbox, clock: ManualClock) -> None:
    """Push off only: the message is delivered and io_message_id comes back."""
    request_id = ready_request(asgi, push_on=False)
    assert drive(asgi, clock, request_id).state is State.NOTIFIED
    assert asgi.issuer.messages_sent(request_id) == 1


def test_messages_off_falls_back_and_can_be_retried(asgi: AsgiSandbox, clock: ManualClock) -> None:
    """400 "It is not allowed...": FALLBACK_SUGGESTED, no message; once turned on, notify works."""
    code = fiscal_code("X")
    request_id = asgi.issuer.create_ready_request("sandbox-key", code)
    flow = drive(asgi, clock, request_id)
    assert flow.state is State.FALLBACK_SUGGESTED
    assert flow.refusal is Kind.MESSAGES_DISABLED
    assert flow.history[-2].detail == "It is not allowed to send a message to this user."
    assert asgi.issuer.messages_sent(request_id) == 0

    asgi.issuer.add_citizen(code, messages_on=True)  # the citizen follows the advice

    async def renotify() -> None:
        async with client(asgi) as api:
            record = await Driver(api, clock).step(flow, Trigger.NOTIFY)
            assert record.guard == "message_was_sent"

    asyncio.run(renotify())
    assert flow.state is State.NOTIFIED
    assert asgi.issuer.messages_sent(request_id) == 1


def test_no_io_profile_falls_back_with_install_advice(
    asgi: AsgiSandbox, clock: ManualClock
) -> None:
    """404 "User profile not found!": FALLBACK_SUGGESTED with the advice to install IO."""
    code = fiscal_code()
    request_id = asgi.issuer.create_ready_request("sandbox-key", code)
    asgi.issuer.add_citizen(code, has_profile=False)  # gone from IO after the signer was made
    flow = drive(asgi, clock, request_id)
    assert flow.state is State.FALLBACK_SUGGESTED
    assert flow.refusal is Kind.NO_IO_PROFILE
    assert flow.fallback is not None
    assert "install the IO app" in flow.fallback.advice_en
    assert asgi.issuer.messages_sent(request_id) == 0


@pytest.mark.parametrize(
    "detail",
    [
        "You are not allowed to issue requests for this user!",
        "A 400 no version of the service gives",
    ],
)
def test_other_final_400_fails_the_flow(asgi: AsgiSandbox, clock: ManualClock, detail: str) -> None:
    """IO getProfile 403, or a 400 the client does not know, answer 400: FAILED with the detail
    as reason (IO's catch-all is a passing refusal: tests/http/test_io_unavailable.py)."""
    request_id = ready_request(asgi)
    fault(asgi, "sendNotification", "status", status=400, detail=detail)
    flow = drive(asgi, clock, request_id)
    assert flow.state is State.FAILED
    assert detail in (flow.failure or "")
    assert asgi.issuer.messages_sent(request_id) == 0


def test_request_of_another_issuer_is_not_found(asgi: AsgiSandbox, clock: ManualClock) -> None:
    """404 "The specified Signature Request does not exist.": FAILED, nothing sent."""
    asgi.issuer.add_key("other-key", "other-issuer")
    request_id = ready_request(asgi)
    flow = drive(asgi, clock, request_id, key="other-key")
    assert flow.state is State.FAILED
    assert flow.history[-1].guard == "request_not_found"
    assert "does not exist" in (flow.failure or "")


def _to_waiting(asgi: AsgiSandbox, clock: ManualClock) -> tuple[str, Flow]:
    request_id = ready_request(asgi)
    activated(asgi, clock)

    async def run() -> Flow:
        async with client(asgi) as api:
            driver = Driver(api, clock)
            flow = driver.new_flow(request_id)
            await driver.step(flow, Trigger.CHECK_ACTIVATION)
            return flow

    flow = asyncio.run(run())
    assert flow.state is State.WAIT_FOR_SIGNATURE
    return request_id, flow


def _notify(asgi: AsgiSandbox, clock: ManualClock, flow: Flow) -> None:
    async def run() -> None:
        async with client(asgi) as api:
            await Driver(api, clock).step(flow, Trigger.NOTIFY)

    asyncio.run(run())


def test_already_notified_422_is_resolved_without_a_second_message(
    asgi: AsgiSandbox, clock: ManualClock
) -> None:
    """A 422 because another process notified: the request is read, NOTIFIED with that id."""
    request_id, flow = _to_waiting(asgi, clock)
    issuer = asgi.issuer
    first = issuer.send_notification(issuer.issuer_of("sandbox-key"), request_id)["io_message_id"]
    _notify(asgi, clock, flow)
    assert flow.state is State.NOTIFIED
    assert flow.history[-1].guard == "was_already_notified"
    assert flow.io_message_id == first
    assert issuer.messages_sent(request_id) == 1


@pytest.mark.parametrize(
    ("closed", "state"), [("SIGNED", State.SIGNED), ("REJECTED", State.REJECTED)]
)
def test_closed_meanwhile_422_follows_the_closed_status(
    asgi: AsgiSandbox, clock: ManualClock, closed: str, state: State
) -> None:
    """A 422 because the request was closed: the flow moves to the closed state."""
    request_id, flow = _to_waiting(asgi, clock)
    asgi.issuer.close(request_id, closed)
    _notify(asgi, clock, flow)
    assert flow.state is state
    assert asgi.issuer.messages_sent(request_id) == 0


def test_cancelled_meanwhile_follows_and_cancel_is_a_transition(
    asgi: AsgiSandbox, clock: ManualClock
) -> None:
    """The issuer's cancel (204) moves a flow to CANCELLED; a second flow then reads CANCELLED."""
    request_id, flow = _to_waiting(asgi, clock)

    async def cancel() -> None:
        async with client(asgi) as api:
            record = await Driver(api, clock).step(flow, Trigger.CANCEL)
            assert (record.http_status, record.target) == (204, State.CANCELLED)

    asyncio.run(cancel())
    assert flow.state is State.CANCELLED
    assert drive(asgi, clock, request_id).state is State.CANCELLED


def test_bad_ids_never_reach_the_wire(asgi: AsgiSandbox, clock: ManualClock) -> None:
    """An id with a slash or '..' is refused by the client before any call."""

    async def run() -> None:
        async with client(asgi) as api:
            for bad in ("a/b", "..", "x y", ""):
                with pytest.raises(InvalidRequestId):
                    await api.get_request(bad)

    before = dict(asgi.state.calls)
    asyncio.run(run())
    assert asgi.state.calls == before


@pytest.mark.parametrize("key", ["", "wrong-key"])
def test_missing_or_invalid_key_is_a_configuration_error(asgi: AsgiSandbox, key: str) -> None:
    """401 from the gateway raises ApiConfigurationError with advice, never the key itself."""

    async def run() -> None:
        if not key:
            with pytest.raises(Exception, match="API key is empty"):
                IssuerClient(key, base_url=asgi.url)
            return
        async with client(asgi, key) as api:
            await api.get_request("01ARZ3NDEKTSV4RRFFQ69G5FAV")

    if not key:
        asyncio.run(run())
        return
    with pytest.raises(ApiConfigurationError) as caught:
        asyncio.run(run())
    assert "FIRMAIO_API_KEY" in str(caught.value)
    assert "401" in str(caught.value)
    assert key not in str(caught.value)


def test_test_key_with_non_tester_is_forbidden(asgi: AsgiSandbox, clock: ManualClock) -> None:
    """A test key resolving a fiscal code outside its testers: 403, a configuration error."""
    asgi.issuer.add_key("test-key", "sandbox-issuer", environment="test", testers=frozenset())

    async def run() -> None:
        async with client(asgi, "test-key") as api:
            await api.get_signer_id(fiscal_code())

    with pytest.raises(ApiConfigurationError, match="403"):
        asyncio.run(run())


def test_server_errors_are_retried_then_recorded_as_an_error(
    asgi: AsgiSandbox, clock: ManualClock
) -> None:
    """5xx beyond the retries: ApiUnavailable, an ERROR record, state unchanged; later it works."""
    request_id = ready_request(asgi)
    activated(asgi, clock)
    fault(asgi, "getSignatureRequest", "status", status=503, times=4)

    async def run() -> Flow:
        async with client(asgi) as api:
            driver = Driver(api, clock)
            flow = driver.new_flow(request_id)
            with pytest.raises(ApiUnavailable, match="after 4 attempt"):
                await driver.advance(flow)
            assert flow.history[-1].outcome is Outcome.ERROR
            assert flow.state is State.READY
            await driver.advance(flow)
            return flow

    flow = asyncio.run(run())
    assert flow.state is State.NOTIFIED
    assert [r.outcome for r in flow.history][:2] == [Outcome.ERROR, Outcome.ACCEPTED]
    assert asgi.issuer.messages_sent(request_id) == 1


def test_each_http_call_is_one_event_without_the_key(asgi: AsgiSandbox, clock: ManualClock) -> None:
    """One issuer_api.call event per HTTP call: method, path template, status, duration, attempt."""
    request_id = ready_request(asgi)
    with capture_logs() as logs:
        drive(asgi, clock, request_id)
    calls = [e for e in logs if e["event"] == "issuer_api.call"]
    assert calls
    assert {e["path"] for e in calls} <= {
        "/signature-requests/{id}",
        "/signature-requests/{id}/notification",
    }
    for event in calls:
        assert {"method", "path", "status", "duration_ms", "attempt"} <= set(event)
    assert "sandbox-key" not in repr(logs)
    assert request_id not in {e["path"] for e in calls}
