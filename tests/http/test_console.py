"""The console without a browser (httpx over ASGI; its actions call the loopback sandbox): who gets
in and for how long, what each role and tenant sees and may do, CSRF, bad input as pages, and each
action recorded with the operator as the actor."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from structlog.testing import capture_logs

from firmaio.adapters.console import console_app
from firmaio.adapters.console.settings import ConsoleSettings
from firmaio.adapters.sandbox import Sandbox
from firmaio.adapters.store import open_store
from firmaio.fsm.errors import InvalidInput
from firmaio.fsm.testing import ManualClock
from tests.http.console_helpers import (
    PASSWORD,
    SECRET,
    World,
    csrf_of,
    make_world,
    signed_in,
    text_of,
    trail_rows,
)

T = TypeVar("T")
Visit = Callable[[httpx.AsyncClient, World], Awaitable[T]]


def visit(sandbox: Sandbox, folder: Path, body: Visit[T], clock: ManualClock | None = None) -> T:
    """``body(client, world)``: a console over a new world, one client."""

    async def go() -> T:
        world = await make_world(sandbox, folder)
        app = console_app(world.settings, clock=clock)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            try:
                return await body(client, world)
            finally:
                await app.state.console.store.close()

    return asyncio.run(asyncio.wait_for(go(), 60))


def state_of(world: World, name: str) -> str:
    store = open_store(world.db)
    try:
        return store.rows([world.flows[name]])[0].state
    finally:
        store.close()


def test_it_will_not_start_without_a_secret_or_anyone_to_sign_in(tmp_path: Path) -> None:
    db = str(tmp_path / "empty.sqlite")
    with pytest.raises(InvalidInput) as refused:
        console_app(ConsoleSettings(db))
    assert "FIRMAIO_CONSOLE_SECRET" in str(refused.value)
    assert "firmaio console add-user" in str(refused.value)
    with pytest.raises(InvalidInput, match="at least 32 characters"):
        console_app(ConsoleSettings(db, "short", oidc_issuer="https://idp", oidc_client_id="c",
                                    oidc_client_secret_env="V"))  # fmt: skip
    assert console_app(ConsoleSettings(db, SECRET, oidc_issuer="https://idp", oidc_client_id="c",
                                       oidc_client_secret_env="V"))  # fmt: skip


def test_a_wrong_password_goes_back_to_sign_in_and_too_many_are_refused(
    api_env: Sandbox, tmp_path: Path
) -> None:
    async def body(client: httpx.AsyncClient, world: World) -> list[int]:
        assert (await client.get("/flows")).headers["location"].startswith("/login")
        codes = []
        with capture_logs() as logs:
            for password in ["nope"] * 5 + [PASSWORD]:
                token = csrf_of((await client.get("/login")).text)
                data = {"username": "maria", "password": password, "csrf": token}
                codes.append((await client.post("/login", data=data)).status_code)
        assert all(e["why"] for e in logs if e["event"] == "console.refused")
        assert not any(PASSWORD in str(e) or "nope" in str(e) for e in logs)
        assert (await client.get("/flows")).status_code == 303  # still not signed in
        return codes

    assert visit(api_env, tmp_path, body) == [401] * 5 + [429]


def test_the_session_cookie_is_secure_http_only_and_strict(
    api_env: Sandbox, tmp_path: Path
) -> None:
    async def go() -> str:
        world = await make_world(api_env, tmp_path)
        app = console_app(ConsoleSettings(world.db, SECRET))  # the default: Secure cookies
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://console") as client:
            answer = await client.get("/login")
        await app.state.console.store.close()
        return answer.headers["set-cookie"].lower()

    cookie = asyncio.run(go())
    assert "secure" in cookie
    assert "httponly" in cookie
    assert "samesite=strict" in cookie


def test_an_expired_session_goes_back_to_sign_in(api_env: Sandbox, tmp_path: Path) -> None:
    clock = ManualClock()

    async def body(client: httpx.AsyncClient, world: World) -> str:
        await signed_in(client, "maria")
        assert (await client.get("/flows")).status_code == 200
        clock.advance(world.settings.idle_seconds + 1)
        answer = await client.get("/flows")
        assert answer.status_code == 303
        return text_of((await client.get(answer.headers["location"])).text, "expired")

    assert visit(api_env, tmp_path, body, clock) == "La sessione è scaduta: accedi di nuovo."


def test_an_operator_sees_and_touches_only_its_tenant(api_env: Sandbox, tmp_path: Path) -> None:
    async def body(client: httpx.AsyncClient, world: World) -> None:
        csrf = await signed_in(client, "maria")
        listed = (await client.get("/flows")).text
        b_flow = world.flows["b_notified"]
        assert world.flows["a_notified"] in listed
        assert b_flow not in listed
        overview = (await client.get("/")).text
        assert ">b<" not in overview
        assert ">a<" in overview
        assert (await client.get(f"/flows/{b_flow}")).status_code == 404
        assert 'id="none"' in (await client.get(f"/flows?tenant=b&q={b_flow}")).text
        data = {"csrf": csrf, "confirm": "yes"}
        assert (await client.post(f"/flows/{b_flow}/cancel", data=data)).status_code == 404
        bulk = {"csrf": csrf, "confirm": "yes", "flow": [b_flow]}
        assert (await client.post("/flows/cancel", data=bulk)).status_code == 404
        assert state_of(world, "b_notified") == "NOTIFIED"

    visit(api_env, tmp_path, body)


def test_a_viewer_cannot_act(api_env: Sandbox, tmp_path: Path) -> None:
    async def body(client: httpx.AsyncClient, world: World) -> None:
        csrf = await signed_in(client, "vera")
        flow = world.flows["a_notified"]
        page = (await client.get(f"/flows/{flow}")).text
        assert 'id="viewer-only"' in page
        assert 'id="cancel"' not in page
        with capture_logs() as logs:
            answer = await client.post(
                f"/flows/{flow}/cancel", data={"csrf": csrf, "confirm": "yes"}
            )
        assert answer.status_code == 403
        assert [e["why"] for e in logs if e["event"] == "console.refused"] == [
            "a viewer may not act"
        ]
        assert state_of(world, "a_notified") == "NOTIFIED"

    visit(api_env, tmp_path, body)


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(
    api_env: Sandbox, tmp_path: Path
) -> None:
    async def body(client: httpx.AsyncClient, world: World) -> None:
        await signed_in(client, "maria")
        flow = world.flows["a_notified"]
        for data in ({"confirm": "yes"}, {"confirm": "yes", "csrf": "forged"}):
            assert (await client.post(f"/flows/{flow}/cancel", data=data)).status_code == 403
        assert state_of(world, "a_notified") == "NOTIFIED"

    visit(api_env, tmp_path, body)


def test_cancel_asks_first_then_records_the_operator(api_env: Sandbox, tmp_path: Path) -> None:
    async def body(client: httpx.AsyncClient, world: World) -> str:
        csrf = await signed_in(client, "maria")
        flow = world.flows["a_notified"]
        asked = await client.post(f"/flows/{flow}/cancel", data={"csrf": csrf})
        assert asked.status_code == 200
        assert 'id="confirm"' in asked.text
        assert state_of(world, "a_notified") == "NOTIFIED"  # nothing yet
        done = await client.post(f"/flows/{flow}/cancel", data={"csrf": csrf, "confirm": "yes"})
        assert done.status_code == 303
        page = (await client.get(done.headers["location"])).text
        assert text_of(page, "state") == "CANCELLED"
        return page

    page = visit(api_env, tmp_path, body)
    last = trail_rows(page)[-1]
    assert "CANCELLED" in last
    assert "console:maria" in last


def test_a_selection_is_cancelled_after_one_confirmation(api_env: Sandbox, tmp_path: Path) -> None:
    async def body(client: httpx.AsyncClient, world: World) -> None:
        csrf = await signed_in(client, "maria")
        chosen = [world.flows["a_notified"], world.flows["a_other"]]
        asked = await client.post("/flows/cancel", data={"csrf": csrf, "flow": chosen})
        listed = asked.text.split('id="to-cancel"', 1)[1].split("</ul>", 1)[0]
        assert all(flow in listed for flow in chosen)
        assert state_of(world, "a_other") == "NOTIFIED"  # nothing until confirmed
        data = {"csrf": csrf, "flow": chosen, "confirm": "yes"}
        assert (await client.post("/flows/cancel", data=data)).status_code == 303
        cancelled = (await client.get("/flows?state=CANCELLED")).text
        assert all(flow in cancelled for flow in chosen)
        assert world.flows["a_refused"] not in cancelled

    visit(api_env, tmp_path, body)


def test_the_fallback_s_delivery_and_a_new_notification(api_env: Sandbox, tmp_path: Path) -> None:
    async def body(client: httpx.AsyncClient, world: World) -> tuple[str, str]:
        csrf = await signed_in(client, "maria")
        refused = (await client.get("/flows?refusal=messages_disabled")).text
        flow = world.flows["a_refused"]
        assert flow in refused
        assert world.flows["a_notified"] not in refused
        notified = await client.post(f"/flows/{flow}/notify", data={"csrf": csrf})
        assert notified.status_code == 303  # refused again: messages are still off
        data = {"csrf": csrf, "channel": "pec", "note": "sent by PEC"}
        done = await client.post(f"/flows/{flow}/fallback", data=data)
        page = (await client.get(done.headers["location"])).text
        return text_of(page, "state"), page

    state, page = visit(api_env, tmp_path, body)
    assert state == "FALLBACK_SUGGESTED"  # the delivery is recorded beside it
    mine = [row for row in trail_rows(page) if "console:maria" in row]
    assert [("notify" in mine[0]), ("deliver_fallback" in mine[-1])] == [True, True]


BAD = [
    ("/flows?colour=red", 400, "unknown filter colour"),
    ("/flows?state=SENT", 400, "unknown state"),
    ("/flows?since=yesterday", 400, "since must be a date as YYYY-MM-DD"),
    ("/flows?after=garbage%21", 400, "cursor"),
    ("/flows/has%20a%20space", 400, "flow id"),
    ("/flows/no-such-flow", 404, "non trovata"),
    ("/nowhere", 404, "non trovata"),
]


def test_bad_input_gets_a_page_saying_so(api_env: Sandbox, tmp_path: Path) -> None:
    async def body(client: httpx.AsyncClient, world: World) -> list[tuple[str, int, str]]:
        await signed_in(client, "maria")
        answers = [await client.get(path) for path, _status, _says in BAD]
        assert not any("Traceback" in a.text for a in answers)
        return [
            (path, a.status_code, says if says in text_of(a.text, "problem") else a.text)
            for (path, _status, says), a in zip(BAD, answers, strict=True)
        ]

    assert visit(api_env, tmp_path, body) == BAD


def test_no_page_shows_a_fiscal_code(api_env: Sandbox, tmp_path: Path) -> None:
    async def body(client: httpx.AsyncClient, world: World) -> list[str]:
        await signed_in(client, "maria")
        pages = [(await client.get(p)).text for p in ("/", "/flows")]
        pages += [(await client.get(f"/flows/{f}")).text for f in world.flows.values()]
        return pages

    codes = re.compile(r"[A-Z]{6}\d{2}[A-Z]\d{2}[A-Z]\d{3}[A-Z]")
    assert not any(codes.search(page) for page in visit(api_env, tmp_path, body))


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
