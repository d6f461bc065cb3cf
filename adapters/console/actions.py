"""The console's actions: each is the trigger the library fires, recorded with the operator as
the record's actor (``console:NAME``).

cancel (one, or a selection, each after a confirmation page), notify again (a refused
citizen's), record the fallback's delivery (channel and note), fetch the signed documents, and
redeliver an event. Every action is a POST carrying the session's CSRF token (without it:
refused, logged, nothing changed), on a flow of a tenant where the account is an operator or
an admin (a viewer's is refused and logged; another tenant's flow is a 404). The flow is driven
with its tenant's API key (:mod:`firmaio.adapters.tenants`), under its lock on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import structlog
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from firmaio.fsm.driving import Driver, Flow
from firmaio.fsm.errors import FlowBusy, FsmError, InvalidInput
from firmaio.fsm.machine import Trigger

from ..factory import Factory, open_flow
from ..flow_locks import FlowLocks
from ..settings import Settings
from ..store import SqlStore
from ..store.listing import DEFAULT_TENANT, Listed
from .app import Forbidden, console_of
from .auth import Who, csrf_ok, refused
from .flowpage import allowed_actions
from .views import visible_flow

log = structlog.get_logger("firmaio.console")
Body = Callable[[Driver, Flow], Awaitable[object]]
BULK_MAX = 100


async def _form(request: Request) -> FormData:
    """The POST's form, once its CSRF token is the session's; else refused and logged."""
    form = await request.form()
    if not csrf_ok(request, form.get("csrf")):
        refused(request, "a POST without the session's CSRF token")
        raise Forbidden
    return form


def _operator(request: Request, who: Who, listed: Listed, action: str) -> None:
    if not who.may(listed.tenant, "operator"):
        refused(request, "a viewer may not act", user=who.name, flow=listed.flow_id)
        raise Forbidden
    if action not in allowed_actions(listed.state):
        raise InvalidInput(f"flow {listed.flow_id} is {listed.state}: it cannot be {action}ed now")


@asynccontextmanager
async def _held(db: str, flow_id: str, wait: float) -> AsyncIterator[None]:
    if not db.startswith(("postgresql://", "postgres://")):
        yield
        return
    locks = FlowLocks(db)
    try:
        async with locks.hold(flow_id, wait=wait) as held:
            if not held:
                raise FlowBusy(flow_id)
            yield
    finally:
        await locks.aclose()


async def drive(request: Request, who: Who, listed: Listed, body: Body) -> None:
    """Run ``body`` on the stored flow with its tenant's key, the operator as the actor."""
    console = console_of(request)
    cs = console.settings
    tenant = None if listed.tenant == DEFAULT_TENANT else listed.tenant
    key = console.tenants.of(tenant).key()
    settings = Settings(
        base_url=cs.base_url, actor=f"console:{who.name}", tenant=tenant, signed_dir=cs.signed_dir
    )
    factory = Factory(settings, console.clock, console.store)
    async with factory.client(key) as client, _held(cs.db, listed.flow_id, settings.lock_wait):
        driver = factory.driver(client)
        flow = await open_flow(driver, listed.flow_id, tenant=tenant, create=False)
        await body(driver, flow)
    log.info("console.action", user=who.name, flow=listed.flow_id, state=flow.state)


async def _cancel(driver: Driver, flow: Flow) -> None:
    """As ``firmaio cancel``: a READY request's activation is read first."""
    if Trigger.CHECK_ACTIVATION in driver.engine.allowed(flow.state):
        await driver.step(flow, Trigger.CHECK_ACTIVATION)
    if not flow.is_closed:
        await driver.step(flow, Trigger.CANCEL)


async def _one(request: Request, action: str) -> tuple[Who, Listed, FormData]:
    form = await _form(request)
    listed = await visible_flow(request, request.path_params["flow_id"])
    who: Who = request.scope["firmaio.who"]
    _operator(request, who, listed, action)
    return who, listed, form


def _done(listed: Listed, action: str) -> Response:
    return RedirectResponse(f"/flows/{listed.flow_id}?done={action}", status_code=303)


async def cancel(request: Request) -> Response:
    who, listed, form = await _one(request, "cancel")
    if form.get("confirm") != "yes":
        return console_of(request).render(
            request,
            "confirm.html.j2",
            who=who,
            flows=[listed],
            action=f"/flows/{listed.flow_id}/cancel",
        )
    await drive(request, who, listed, _cancel)
    return _done(listed, "cancel")


async def cancel_many(request: Request) -> Response:
    form = await _form(request)
    ids = list(dict.fromkeys(str(v) for v in form.getlist("flow")))
    if not ids:
        raise InvalidInput("select at least one request to cancel")
    if len(ids) > BULK_MAX:
        raise InvalidInput(f"at most {BULK_MAX} requests are cancelled at once, not {len(ids)}")
    chosen = [await visible_flow(request, flow_id) for flow_id in ids]
    who: Who = request.scope["firmaio.who"]
    for listed in chosen:
        _operator(request, who, listed, "cancel")
    console = console_of(request)
    if form.get("confirm") != "yes":
        return console.render(
            request, "confirm.html.j2", who=who, flows=chosen, action="/flows/cancel"
        )
    failed = []
    for listed in chosen:
        try:
            await drive(request, who, listed, _cancel)
        except FsmError as error:
            failed.append(f"{listed.flow_id}: {error}")
    if failed:
        return console.problem(request, 409, "; ".join(failed))
    return RedirectResponse("/flows?state=CANCELLED", status_code=303)


async def notify(request: Request) -> Response:
    who, listed, _ = await _one(request, "notify")
    await drive(request, who, listed, lambda driver, flow: driver.renotify(flow))
    return _done(listed, "notify")


async def fallback(request: Request) -> Response:
    who, listed, form = await _one(request, "fallback")
    channel, note = str(form.get("channel") or "").strip(), str(form.get("note") or "").strip()

    async def body(driver: Driver, flow: Flow) -> None:
        await driver.deliver_fallback(flow, channel, note or None)

    await drive(request, who, listed, body)
    return _done(listed, "fallback")


async def fetch(request: Request) -> Response:
    who, listed, _ = await _one(request, "fetch")
    await drive(request, who, listed, lambda driver, flow: driver.fetch_documents(flow))
    return _done(listed, "fetch")


async def redeliver(request: Request) -> Response:
    form = await _form(request)
    listed = await visible_flow(request, request.path_params["flow_id"])
    who: Who = request.scope["firmaio.who"]
    if not who.may(listed.tenant, "operator"):
        refused(request, "a viewer may not act", user=who.name, flow=listed.flow_id)
        raise Forbidden
    event_id = str(form.get("event") or "")
    console = console_of(request)
    events = await console.store.events(flow_id=listed.flow_id, limit=500)
    if event_id not in {e.id for e in events if e.status == "dead"}:
        raise InvalidInput(f"flow {listed.flow_id} has no undelivered event {event_id!r}")
    await console.store.read(SqlStore.redeliver, [event_id])
    log.info("console.redeliver", user=who.name, flow=listed.flow_id, event_id=event_id)
    return _done(listed, "redeliver")


def routes() -> list[Route]:
    return [
        Route("/flows/cancel", cancel_many, methods=["POST"]),
        Route("/flows/{flow_id}/cancel", cancel, methods=["POST"]),
        Route("/flows/{flow_id}/notify", notify, methods=["POST"]),
        Route("/flows/{flow_id}/fallback", fallback, methods=["POST"]),
        Route("/flows/{flow_id}/fetch", fetch, methods=["POST"]),
        Route("/flows/{flow_id}/redeliver", redeliver, methods=["POST"]),
    ]
