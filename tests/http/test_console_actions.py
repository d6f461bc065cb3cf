"""The console's actions beyond cancel, without a browser: fetching the signed documents (their
SHA-256 shown, the operator recorded), redelivering a dead event, and the identity provider's
sign-in hook the oidc module calls."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx

from firmaio.adapters.console import console_app
from firmaio.adapters.sandbox import Sandbox
from firmaio.adapters.store import open_store
from tests.http.console_helpers import World, make_world, signed_in, text_of, trail_rows, visit


async def _signed(world: World, sandbox: Sandbox, name: str) -> None:
    """The flow ``name``'s request signed at the sandbox, and read so by its flow."""
    from firmaio.adapters.clock import SystemClock
    from firmaio.adapters.factory import Factory, open_flow
    from firmaio.adapters.settings import Settings
    from firmaio.adapters.store import open_async_store
    from firmaio.fsm.machine import Trigger
    from tests.conftest import make_client

    sandbox.issuer.close(world.flows[name], "SIGNED")
    store = open_async_store(world.db)
    try:
        factory = Factory(Settings(base_url=sandbox.url, tenant="a"), SystemClock(), store)
        async with make_client(sandbox) as client:
            driver = factory.driver(client)
            flow = await open_flow(driver, world.flows[name], tenant="a", create=False)
            await driver.step(flow, Trigger.CHECK_STATUS)
    finally:
        await store.close()


def test_the_signed_documents_are_fetched_and_their_sha256_shown(
    api_env: Sandbox, tmp_path: Path
) -> None:
    async def body(client: httpx.AsyncClient, world: World) -> str:
        csrf = await signed_in(client, "maria")
        await _signed(world, api_env, "a_other")
        flow = world.flows["a_other"]
        done = await client.post(f"/flows/{flow}/fetch", data={"csrf": csrf})
        assert done.status_code == 303, done.text
        return (await client.get(done.headers["location"])).text

    page = visit(api_env, tmp_path, body)
    documents = page.split('id="documents"', 1)[1].split("</table>", 1)[0]
    assert re.search(r"<code>[0-9a-f]{64}</code>", documents)
    assert "fetch_documents" in trail_rows(page)[-1]
    assert "console:maria" in trail_rows(page)[-1]
    assert list((tmp_path / "signed").rglob("*.pdf"))


def test_a_dead_event_is_redelivered(api_env: Sandbox, tmp_path: Path) -> None:
    async def body(client: httpx.AsyncClient, world: World) -> tuple[str, str]:
        csrf = await signed_in(client, "maria")
        store = open_store(world.db)
        try:
            event = store.events(flow_id=world.flows["a_notified"])[0]
            store.record_attempt(
                event.id, attempt=8, at=0.0, status_code=500, latency_ms=1.0, error="HTTP 500",
                outcome="dead", next_attempt_at=None,
            )  # fmt: skip
        finally:
            store.close()
        flow = world.flows["a_notified"]
        data = {"csrf": csrf, "event": event.id}
        assert (await client.post(f"/flows/{flow}/redeliver", data=data)).status_code == 303
        wrong = await client.post(f"/flows/{flow}/redeliver", data=data)  # no longer dead
        store = open_store(world.db)
        try:
            return store.events(flow_id=flow)[0].status, text_of(wrong.text, "problem")
        finally:
            store.close()

    status, refused = visit(api_env, tmp_path, body)
    assert status == "pending"
    assert "has no undelivered event" in refused


def test_an_identity_provider_s_sign_in_finds_its_account(api_env: Sandbox, tmp_path: Path) -> None:
    """What the oidc module's ``on_login`` calls: the account registered for the issuer and a
    verified email is signed in; an identity with no account is refused."""
    from dataclasses import dataclass

    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from firmaio.adapters.console import sign_in_identity
    from firmaio.adapters.store.accounts import Account

    @dataclass
    class Identity:
        issuer: str
        subject: str
        email: str | None
        name: str | None

    async def callback(request: Request) -> Response:  # stands in for the provider's redirect
        email = request.query_params["email"]
        return await sign_in_identity(request, Identity("https://idp", "s-1", email, "Anna"))

    async def go() -> tuple[int, int, int]:
        world = await make_world(api_env, tmp_path)
        store = open_store(world.db)
        store.save_account(
            Account("anna@comune.it", None, "https://idp", None, "anna@comune.it", {"a": "viewer"}),
            now=0.0,
        )
        store.close()
        app = console_app(world.settings, extra_routes=[Route("/oidc/callback", callback)])
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            stranger = await client.get("/oidc/callback?email=eve@elsewhere.it")
            anna = await client.get("/oidc/callback?email=anna@comune.it")
            listed = await client.get("/flows")
        await app.state.console.store.close()
        return stranger.status_code, anna.status_code, listed.status_code

    assert asyncio.run(go()) == (403, 303, 200)
