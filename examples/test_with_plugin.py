"""A test suite of yours, using firmaio's pytest plugin (installed with the package).

.venv/bin/pytest examples/test_with_plugin.py      # the project's pytest, in a clone
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from firmaio.adapters import SystemClock
from firmaio.adapters.pytest_plugin import AsgiSandbox
from firmaio.fsm import Answer, Driver, Flow, State, Trigger
from firmaio.fsm.testing import ScriptedApi


def test_a_refused_citizen_gets_the_link(
    firmaio_api: ScriptedApi,
    firmaio_driver: Driver,
    firmaio_answer: Callable[[str], Answer],
) -> None:
    firmaio_api.script(firmaio_answer("is_waiting_for_signature"), Answer.messages_disabled())
    flow = firmaio_driver.new_flow("01ARZ3NDEKTSV4RRFFQ69G5FAV")
    assert asyncio.run(firmaio_driver.advance(flow)) is State.FALLBACK_SUGGESTED
    assert flow.fallback is not None
    assert "signatureRequestId=01ARZ3NDEKTSV4RRFFQ69G5FAV" in flow.fallback.link


def test_a_flow_already_in_fallback_is_signed_later(
    firmaio_flow_in: Callable[..., Flow],
    firmaio_api: ScriptedApi,
    firmaio_driver: Driver,
    firmaio_answer: Callable[[str], Answer],
) -> None:
    flow = firmaio_flow_in("FALLBACK_SUGGESTED")
    firmaio_api.script(firmaio_answer("is_signed"))
    asyncio.run(firmaio_driver.step(flow, Trigger.CHECK_STATUS))
    assert flow.state is State.SIGNED


def test_over_the_sandbox_in_process(firmaio_asgi_sandbox: AsgiSandbox) -> None:
    issuer = firmaio_asgi_sandbox.issuer
    issuer.add_citizen("RSSMRA80A01H501U")
    request_id = issuer.create_ready_request("sandbox-key", "RSSMRA80A01H501U")

    async def notify() -> Flow:
        async with firmaio_asgi_sandbox.client() as client:
            driver = Driver(client, SystemClock())  # real time: activation takes 0.2 s
            flow = driver.new_flow(request_id)
            await driver.advance(flow)
            return flow

    flow = asyncio.run(notify())
    assert flow.state is State.NOTIFIED
    assert issuer.messages_sent(request_id) == 1
