"""A console over a store of real flows (driven against the loopback sandbox) for the console's
tests: tenants a and b, accounts of each role, and a signed-in client over httpx's ASGI
transport (the browser tests serve the same world on loopback)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TypeVar

import httpx

from firmaio.adapters.clock import SystemClock
from firmaio.adapters.console import ConsoleSettings, console_app, hash_password
from firmaio.adapters.factory import Factory, open_flow
from firmaio.adapters.sandbox import Sandbox
from firmaio.adapters.settings import Settings
from firmaio.adapters.store import open_async_store, open_store
from firmaio.adapters.store.accounts import Account
from firmaio.fsm.testing import ManualClock
from tests.conftest import make_client
from tests.sandbox_helpers import ready_request

SECRET = "s" * 40
PASSWORD = "correct horse battery"
ACCOUNTS = {
    "maria": {"a": "operator"},
    "vera": {"a": "viewer"},
    "bruno": {"b": "operator"},
}
"""Who can sign in: an operator and a viewer of tenant a, an operator of tenant b."""


@dataclass
class World:
    db: str
    settings: ConsoleSettings
    flows: dict[str, str] = field(default_factory=dict)
    """Name -> flow id: a_notified, a_refused (FALLBACK_SUGGESTED), a_other, b_notified."""


async def _drive(db: str, sandbox: Sandbox, request_id: str, tenant: str) -> None:
    store = open_async_store(db)
    try:
        settings = Settings(base_url=sandbox.url, tenant=tenant, actor="set-up")
        factory = Factory(settings, SystemClock(), store)
        async with make_client(sandbox) as client:
            driver = factory.driver(client)
            flow = await open_flow(driver, request_id, tenant=tenant)
            await driver.advance(flow)
    finally:
        await store.close()


async def make_world(sandbox: Sandbox, folder: Path, **settings: object) -> World:
    """Four flows at rest (three of a's, one of b's), the accounts, the console's settings."""
    db = str(folder / "console.sqlite")
    tenants = folder / "tenants.toml"
    tenants.write_text('[a]\nkey_env = "FIRMAIO_API_KEY"\n\n[b]\nkey_env = "FIRMAIO_API_KEY"\n')
    world = World(db, ConsoleSettings(
        db, SECRET, secure_cookies=False, base_url=sandbox.url, tenants_file=str(tenants),
        signed_dir=str(folder / "signed"), **settings,  # type: ignore[arg-type]
    ))  # fmt: skip
    plan = {
        "a_notified": ("a", {}),
        "a_refused": ("a", {"messages_on": False}),
        "a_other": ("a", {}),
        "b_notified": ("b", {}),
    }
    for name, (tenant, citizen) in plan.items():
        request_id = ready_request(sandbox, **citizen)
        await _drive(db, sandbox, request_id, tenant)
        world.flows[name] = request_id
    store = open_store(db)
    try:
        hashed = _hashed()
        for name, roles in ACCOUNTS.items():
            store.save_account(Account(name, hashed, roles=roles), now=0.0)
    finally:
        store.close()
    return world


@cache
def _hashed() -> str:
    return hash_password(PASSWORD)


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "the page has no CSRF token"
    return found.group(1)


async def signed_in(client: httpx.AsyncClient, name: str, password: str = PASSWORD) -> str:
    """Sign ``name`` in; the session's CSRF token."""
    login = await client.get("/login")
    answer = await client.post(
        "/login", data={"username": name, "password": password, "csrf": csrf_of(login.text)}
    )
    assert answer.status_code == 303, answer.text
    return csrf_of((await client.get("/")).text)


def text_of(page: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</', page, re.S)
    return "" if found is None else re.sub(r"\s+", " ", found.group(1)).strip()


def trail_rows(page: str) -> list[str]:
    """The rows of a flow page's trail table, as HTML, in order."""
    table = page.split('id="trail"', 1)[1].split("</table>", 1)[0]
    return table.split("<tbody>", 1)[1].split("<tr>")[1:]


T = TypeVar("T")
Visit = Callable[[httpx.AsyncClient, World], Awaitable[T]]


def visit(
    sandbox: Sandbox, folder: Path, body: Visit[T], clock: ManualClock | None = None,
    **settings: object,
) -> T:  # fmt: skip
    """``body(client, world)``: a console over a new world (``settings`` changed), one client."""

    async def go() -> T:
        world = await make_world(sandbox, folder, **settings)
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
