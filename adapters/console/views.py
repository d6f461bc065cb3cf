"""The console's pages: sign-in, the overview, the list of flows and a flow's page.

Every page but the sign-in needs a session; every read is limited to the tenants where the
account holds a role, in the query itself: another tenant's flow is absent from lists and counts
and its page is the same 404 as a flow that does not exist.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from firmaio.fsm.errors import InvalidInput
from firmaio.fsm.ids import check_request_id
from firmaio.fsm.machine import State

from ..store import SqlStore
from ..store.listing import REFUSALS, STATES, FlowFilter, Listed, parse_cursor
from .app import NotFound, console_of, language
from .auth import csrf_ok, password_matches, refused, sign_in, sign_out
from .flowpage import flow_page
from .text import translator

ROME = ZoneInfo("Europe/Rome")
FILTERS = ("tenant", "state", "dossier", "refusal", "since", "until", "q", "after")
"""The list's query parameters; any other is refused, named."""


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this console, never another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


async def login_page(request: Request) -> Response:
    console = console_of(request)
    expired = bool(request.session.pop("expired", False))
    next_path = _safe_next(request.query_params.get("next"))
    return console.render(request, "login.html.j2", expired=expired, next=next_path, error=None)


async def login(request: Request) -> Response:
    console = console_of(request)
    form = await request.form()
    t = translator(language(request))
    next_path = _safe_next(str(form.get("next") or "/"))
    if not csrf_ok(request, form.get("csrf")):
        refused(request, "sign-in without the form's CSRF token")
        return console.problem(request, 403, t("forbidden"))
    name = str(form.get("username") or "").strip()
    password = str(form.get("password") or "")
    client = request.client.host if request.client else "?"
    keys = (f"name:{name}", f"client:{client}")
    now = console.now()
    if not console.limiter.allowed(keys, now):
        refused(request, "too many failed sign-ins", user=name)
        return console.render(request, "login.html.j2", 429, error=t("too_many"), next=next_path)
    account = await console.account(name) if name else None
    if not password_matches(None if account is None else account.password_hash, password):
        console.limiter.failed(keys, now)
        refused(request, "wrong user name or password", user=name)
        return console.render(request, "login.html.j2", 401, error=t("wrong_login"), next=next_path)
    assert account is not None
    sign_in(request, account.name, now)
    return RedirectResponse(next_path, status_code=303)


async def logout(request: Request) -> Response:
    form = await request.form()
    if csrf_ok(request, form.get("csrf")):
        sign_out(request)
    return RedirectResponse("/login", status_code=303)


async def overview(request: Request) -> Response:
    console = console_of(request)
    who = await console.who(request)
    request.scope["firmaio.who"] = who
    tenants, store, now = who.tenants(), console.store, console.now()
    counts = await store.read(SqlStore.counts, tenants)
    states = sorted({s for _, s in counts}, key=_state_order)
    by_tenant: dict[str, dict[str, int]] = {}
    for (tenant, state), count in sorted(counts.items()):
        by_tenant.setdefault(tenant, {})[state] = count
    return console.render(
        request, "overview.html.j2", who=who, states=states, by_tenant=by_tenant,
        refusals=await store.read(SqlStore.refusal_counts, tenants),
        attention=await store.read(
            SqlStore.needing_a_look, tenants, now=now, stuck_after=console.settings.stuck_after
        ),
        last_day=await store.read(SqlStore.last_day, tenants, now=now),
    )  # fmt: skip


def _state_order(state: str) -> int:
    names = [str(s) for s in State]  # the table's order
    return names.index(state) if state in names else len(names)


def _day(text: str, what: str) -> float:
    try:
        day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=ROME)
    except ValueError:
        raise InvalidInput(f"{what} must be a date as YYYY-MM-DD, not {text!r}") from None
    return day.timestamp()


def list_filter(request: Request, visible: tuple[str, ...] | None) -> FlowFilter:
    """The list's filter from the query, limited to the ``visible`` tenants; a parameter the
    list does not know, or a value that cannot be right, is :class:`InvalidInput`, named."""
    query = request.query_params
    unknown = sorted(set(query) - set(FILTERS))
    if unknown:
        raise InvalidInput(
            f"unknown filter {', '.join(unknown)}: the list knows {', '.join(FILTERS)}"
        )
    given = {k: v.strip() for k, v in query.items() if v.strip()}
    tenants = visible
    if "tenant" in given:
        chosen = given["tenant"]
        tenants = (chosen,) if visible is None or chosen in visible else ()
    dossier = given.get("dossier")
    flow_id = given.get("q")
    until = given.get("until")
    return FlowFilter(
        tenants=tenants, state=given.get("state"), refusal=given.get("refusal"),
        dossier=None if dossier is None else check_request_id(dossier, "dossier id"),
        flow_id=None if flow_id is None else check_request_id(flow_id, "request or flow id"),
        since=None if "since" not in given else _day(given["since"], "since"),
        until=None if until is None else (
            _day(until, "until") + timedelta(days=1).total_seconds()
        ),
    )  # fmt: skip


async def flow_list(request: Request) -> Response:
    console = console_of(request)
    who = await console.who(request)
    request.scope["firmaio.who"] = who
    flt = list_filter(request, who.tenants())
    after = request.query_params.get("after") or None
    if after is not None:
        parse_cursor(after)  # a bad cursor is said before anything is read
    page = await console.store.read(SqlStore.list_flows, flt, after=after, limit=50)
    query = {k: v for k, v in request.query_params.items() if k != "after" and v}
    return console.render(
        request, "list.html.j2", who=who, page=page, flt=flt, query=query,
        states=sorted(STATES), refusals=sorted(REFUSALS), tenants=who.tenants(),
        can_cancel=any(who.may(r.tenant, "operator") for r in page.rows),
        may_act={r.flow_id: who.may(r.tenant, "operator") for r in page.rows},
    )  # fmt: skip


async def visible_flow(request: Request, flow_id: str) -> Listed:
    """The flow ``flow_id`` if the account may see it; else :class:`NotFound` (the same answer
    for a flow of another tenant as for none at all)."""
    console = console_of(request)
    who = await console.who(request)
    request.scope["firmaio.who"] = who
    check_request_id(flow_id, "flow id")
    listed = await console.store.read(SqlStore.listed, flow_id, who.tenants())
    if listed is None:
        raise NotFound
    return listed


async def flow(request: Request) -> Response:
    console = console_of(request)
    listed = await visible_flow(request, request.path_params["flow_id"])
    who = request.scope["firmaio.who"]
    store = console.store
    stored = await store.load(listed.flow_id)
    if stored is None:
        raise NotFound
    events = await store.events(flow_id=listed.flow_id, limit=500)
    deliveries = {e.id: await store.deliveries(e.id) for e in events if e.attempts}
    page = flow_page(listed, stored, events, deliveries)
    return console.render(
        request, "flow.html.j2", who=who, page=page,
        may_act=who.may(listed.tenant, "operator"), done=request.query_params.get("done"),
    )  # fmt: skip


def routes() -> list[Route]:
    return [
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/", overview, methods=["GET"]),
        Route("/flows", flow_list, methods=["GET"]),
        Route("/flows/{flow_id}", flow, methods=["GET"]),
    ]
