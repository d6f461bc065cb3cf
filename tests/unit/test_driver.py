"""The driver makes at most one call per trigger and waits through the injected clock."""

from __future__ import annotations

import asyncio

import pytest

from firmaio.fsm import (
    Answer,
    ApiConfigurationError,
    ApiUnavailable,
    Driver,
    InvalidInput,
    Outcome,
    PollingPolicy,
    State,
    TransitionNotAllowed,
    Trigger,
)
from firmaio.fsm.testing import EXAMPLE_IO_MESSAGE_ID, ManualClock, ScriptedApi

READY = Answer.request("READY")
WAITING = Answer.request(
    "WAIT_FOR_SIGNATURE", qr_code_url="https://continua.io.pagopa.it/qrcode.png?feat=firma&srid=R1"
)


def test_advance_waits_with_bounded_backoff_then_notifies(
    driver: Driver, api: ScriptedApi, clock: ManualClock
) -> None:
    """Still READY four times: waits 0.25, 0.5, 1, 1 (capped), then notifies once."""
    api.script(READY, READY, READY, READY, WAITING, Answer.sent(EXAMPLE_IO_MESSAGE_ID))
    flow = driver.new_flow("R1")
    assert asyncio.run(driver.advance(flow)) is State.NOTIFIED
    assert clock.sleeps == [0.25, 0.5, 1.0, 1.0]
    assert [c[0] for c in api.calls] == ["get_request"] * 5 + ["send_notification"]
    assert flow.io_message_id == EXAMPLE_IO_MESSAGE_ID
    assert flow.qr_code_url == WAITING.qr_code_url


def test_advance_fails_the_flow_when_activation_never_comes(
    api: ScriptedApi, clock: ManualClock
) -> None:
    """A request that stays READY past the deadline ends in FAILED with the reason."""
    driver = Driver(
        api, clock, policy=PollingPolicy(first_delay=1, max_delay=4, activation_timeout=10)
    )
    api.script(*[READY] * 20)
    flow = driver.new_flow("R1")
    assert asyncio.run(driver.advance(flow)) is State.FAILED
    assert clock.sleeps == [1, 2, 4, 4]
    assert flow.failure == "the request was still READY when the activation deadline passed"
    assert flow.history[-1].guard == "activation_deadline_passed"


def test_refused_citizen_gets_a_fallback(driver: Driver, api: ScriptedApi) -> None:
    """Messages off: NOTIFY_REFUSED, then FALLBACK_SUGGESTED with link and QR; one notify call."""
    api.script(WAITING, Answer.messages_disabled())
    flow = driver.new_flow("R1")
    assert asyncio.run(driver.advance(flow)) is State.FALLBACK_SUGGESTED
    assert [r.target for r in flow.history] == [
        State.WAIT_FOR_SIGNATURE,
        State.NOTIFY_REFUSED,
        State.FALLBACK_SUGGESTED,
    ]
    assert flow.fallback is not None
    assert flow.fallback.link == "https://continua.io.pagopa.it/fci/main?signatureRequestId=R1"
    assert flow.fallback.qr_image_url == WAITING.qr_code_url
    assert api.calls == [("get_request", "R1"), ("send_notification", "R1")]


def test_renotify_after_fallback_can_succeed(driver: Driver, api: ScriptedApi) -> None:
    """Once the citizen turns messages on, a new attempt from the fallback notifies."""
    api.script(WAITING, Answer.no_io_profile(), Answer.sent(EXAMPLE_IO_MESSAGE_ID))
    flow = driver.new_flow("R1")
    asyncio.run(driver.advance(flow))
    record = asyncio.run(driver.step(flow, Trigger.NOTIFY))
    assert (record.source, record.target, record.guard) == (
        State.FALLBACK_SUGGESTED,
        State.NOTIFIED,
        "message_was_sent",
    )
    assert flow.fallback is None


def test_not_allowed_trigger_makes_no_call(driver: Driver, api: ScriptedApi) -> None:
    """The check happens before the API is called."""
    flow = driver.new_flow("R1")
    with pytest.raises(TransitionNotAllowed):
        asyncio.run(driver.step(flow, Trigger.CANCEL))
    assert api.calls == []
    assert flow.history == []


def test_api_error_is_recorded_then_raised_with_its_record(
    driver: Driver, api: ScriptedApi
) -> None:
    """An unavailable API: one ERROR record, the exception carries it, the state stays."""
    api.script(ApiUnavailable("server error 503 after 4 attempts"))
    flow = driver.new_flow("R1")
    with pytest.raises(ApiUnavailable) as caught:
        asyncio.run(driver.advance(flow))
    assert caught.value.record is flow.history[-1]
    assert caught.value.record.outcome is Outcome.ERROR
    assert flow.state is State.READY


def test_configuration_error_stops_the_driver(driver: Driver, api: ScriptedApi) -> None:
    """401/403 are raised at once; nothing is retried by the driver."""
    api.script(ApiConfigurationError("401: the API key was refused"))
    flow = driver.new_flow("R1")
    with pytest.raises(ApiConfigurationError):
        asyncio.run(driver.advance(flow))
    assert len(api.calls) == 1


def test_watch_checks_until_closed(driver: Driver, api: ScriptedApi, clock: ManualClock) -> None:
    """After notification, status checks run until the request is signed."""
    api.script(
        WAITING, Answer.sent(EXAMPLE_IO_MESSAGE_ID), WAITING, WAITING, Answer.request("SIGNED")
    )
    flow = driver.new_flow("R1")
    asyncio.run(driver.advance(flow))
    assert asyncio.run(driver.watch(flow, interval=30)) is State.SIGNED
    assert clock.sleeps == [30, 30]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"first_delay": 0},
        {"first_delay": 2, "max_delay": 1},
        {"factor": 0.5},
        {"activation_timeout": 0},
    ],
)
def test_polling_policy_refuses_nonsense(kwargs: dict[str, float]) -> None:
    """A policy that would not wait, or never end, is refused with a clear error."""
    with pytest.raises(InvalidInput, match="PollingPolicy needs"):
        PollingPolicy(**kwargs)
