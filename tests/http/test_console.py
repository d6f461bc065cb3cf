"""The console without a browser (httpx over ASGI; its actions call the loopback sandbox): who gets
in and for how long, what each role and tenant sees and may do, CSRF, bad input as pages, and each
action recorded with the operator as the actor."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest
from structlog.testing import capture_logs

from firmaio.adapters.console import console_app
from firmaio.adapters.console.settings import ConsoleSettings
from firmaio.adapters.sandbox import Sandbox
from firmaio.fsm.errors import InvalidInput
from firmaio.fsm.testing import ManualClock
from tests.http.console_helpers import (
    PASSWORD,
    SECRET,
    World,
    csrf_of,
    make_world,
    signed_in,
    state_of,
    text_of,
    trail_rows,
    visit,
)


def test_it_will_not_start_without_a_secret_or_anyone_to_sign_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(tmp_path / "empty.sqlite")
    with pytest.raises(InvalidInput) as refused:
        console_app(ConsoleSettings(db))
    assert "FIRMAIO_CONSOLE_SECRET" in str(refused.value)
    assert "firmaio console add-user" in str(refused.value)
    with pytest.raises(InvalidInput, match="at least 32 characters"):
        console_app(ConsoleSettings(db, "short", oidc_issuer="https://idp", oidc_client_id="c",
                                    oidc_client_secret_env="V"))  # fmt: skip
    monkeypatch.delenv("V", raising=False)
    with pytest.raises(InvalidInput, match="environment variable V holds no"):
        console_app(ConsoleSettings(db, SECRET, oidc_issuer="https://idp", oidc_client_id="c",
                                    oidc_client_secret_env="V"))  # fmt: skip
    monkeypatch.setenv("V", "the client secret")
    assert console_app(ConsoleSettings(db, SECRET, oidc_issuer="https://idp", oidc_client_id="c",
                                       oidc_client_secret_env="V"))  # fmt: skip


def test_a_wrong_password_goes_back_to_sign_in_and_too_many_are_refused(
    api_env: Sandbox, tmp_path: Path
) -> None:
    async def body(client: httpx.AsyncClient, world: World) -> list[int]:
        assert (await client.get("/flows")).headers["location"].startswith("/login")
        codes = []
        with capture_logs() as logs:
            for password in ["nope"] * 2 + [PASSWORD]:
                token = csrf_of((await client.get("/login")).text)
                data = {"username": "maria", "password": password, "csrf": token}
                codes.append((await client.post("/login", data=data)).status_code)
        assert all(e["why"] for e in logs if e["event"] == "console.refused")
        assert not any(PASSWORD in str(e) or "nope" in str(e) for e in logs)
        assert (await client.get("/flows")).status_code == 303  # still not signed in
        return codes

    assert visit(api_env, tmp_path, body, login_attempts=2) == [401, 401, 429]


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
    ("/lang?lang=fr", 400, "unknown language"),
]


def test_bad_input_gets_a_page_saying_so(api_env: Sandbox, tmp_path: Path) -> None:
    async def body(client: httpx.AsyncClient, world: World) -> list[tuple[str, int, str]]:
        await signed_in(client, "maria")
        answers = [await client.get(path) for path, _status, _says in BAD]
        await client.get("/lang?lang=en&next=/flows")
        assert "<h1>Requests</h1>" in (await client.get("/flows")).text  # English, on asking
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
