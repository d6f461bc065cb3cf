"""The console's web app: Starlette, server-rendered with Jinja2, over one store.

:func:`console_app` checks the settings (:meth:`ConsoleSettings.check`: a session secret, and
someone who can sign in), then serves the pages (:mod:`.views`) and the actions
(:mod:`.actions`). Bootstrap Italia's CSS, fonts and sprites are served from the package's own
``static/bi/`` (``make console-assets`` copies them from the npm package): no page asks anything
of another host. Without them the console works, unstyled.

Errors become pages: a bad filter or id says what was wrong (400), a flow the account may not
see is the same 404 as one that does not exist, anything unexpected a 500 page without a
traceback; a page that needs a session sends to the sign-in page.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import structlog
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from firmaio.fsm.errors import FsmError, InvalidInput
from firmaio.fsm.ports import Clock

from ..clock import SystemClock
from ..report.model import times
from ..store import AsyncStore, SqlStore, open_async_store, open_store
from ..store.accounts import Account
from ..store.listing import DEFAULT_TENANT
from ..tenants import Tenants
from .auth import Identity, LoginLimiter, Who, csrf_token, refused, session_user
from .settings import ConsoleSettings
from .text import LANGUAGES, translator

log = structlog.get_logger("firmaio.console")
HERE = Path(str(files("firmaio.adapters.console")))
THEME = HERE / "static" / "bi"
"""Where Bootstrap Italia's ``dist/`` files are copied (gitignored; ``make console-assets``)."""


class LoginRequired(Exception):
    """The page needs a signed-in session."""


class NotFound(Exception):
    """No such page, or not one the account may see (the same answer either way)."""


class Forbidden(Exception):
    """The account may see this, not do it."""


def rome(epoch: float) -> str:
    """``epoch`` in Europe/Rome, to the second, as the pages show times."""
    return times(epoch)[1].replace("T", " ")


def themed() -> bool:
    """Whether Bootstrap Italia's files are there to serve."""
    return (THEME / "css" / "bootstrap-italia.min.css").is_file()


class Console:
    """What every request of one console shares: settings, store, clock, templates."""

    def __init__(
        self, settings: ConsoleSettings, store: AsyncStore, clock: Clock | None = None,
        tenants: Tenants | None = None,
    ) -> None:  # fmt: skip
        self.settings, self.store = settings, store
        self.clock: Clock = clock or SystemClock()
        self.tenants = tenants or (
            Tenants.load(settings.tenants_file) if settings.tenants_file else Tenants()
        )
        self.limiter = LoginLimiter(settings.login_attempts, settings.login_window)
        self.jinja = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(["html", "j2"]),
        )
        self.jinja.globals["rome"] = rome
        self.themed = themed()

    def now(self) -> float:
        return self.clock.now()

    async def account(self, name: str) -> Account | None:
        return await self.store.read(SqlStore.account, name)

    async def oidc_account(self, identity: Identity) -> Account | None:
        return await self.store.read(
            SqlStore.oidc_account, identity.issuer, identity.subject, identity.email
        )

    async def who(self, request: Request) -> Who:
        """The signed-in account, or :class:`LoginRequired`."""
        s = self.settings
        name = session_user(request, self.now(), s.session_seconds, s.idle_seconds)
        account = None if name is None else await self.account(name)
        if account is None:
            if name is not None:
                refused(request, "the session's account is gone", user=name)
            raise LoginRequired
        return Who.of(account)

    def render(
        self, request: Request, template: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        lang = language(request)
        csrf = csrf_token(request) if "session" in request.scope else ""
        page = self.jinja.get_template(template).render(
            request=request, t=translator(lang), lang=lang, csrf=csrf,
            themed=self.themed, default_tenant=DEFAULT_TENANT,
            sso=bool(self.settings.oidc_issuer), **context,
        )  # fmt: skip
        return HTMLResponse(page, status_code=status, headers=_HEADERS)

    def problem(self, request: Request, status: int, message: str) -> HTMLResponse:
        """A page saying what was wrong (never a traceback)."""
        who = request.scope.get("firmaio.who")
        return self.render(
            request, "problem.html.j2", status, message=message, who=who, code=status
        )


_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' "
    "'unsafe-inline'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def language(request: Request) -> str:
    """The session's language (Italian without one)."""
    lang = request.scope.get("session", {}).get("lang", "it")
    return lang if lang in LANGUAGES else "it"


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


async def _login_required(request: Request, _exc: Exception) -> Response:
    return RedirectResponse(f"/login?next={request.url.path}", status_code=303)


async def _not_found(request: Request, _exc: Exception) -> Response:
    refused(request, "no such page, or not the account's to see")
    console = console_of(request)
    return console.problem(request, 404, translator(language(request))("not_found"))


async def _forbidden(request: Request, _exc: Exception) -> Response:
    console = console_of(request)
    return console.problem(request, 403, translator(language(request))("forbidden"))


async def _bad_input(request: Request, exc: Exception) -> Response:
    return console_of(request).problem(request, 400, str(exc))


async def _refused_by_library(request: Request, exc: Exception) -> Response:
    """What the library refused (a transition its state does not allow, a call the service
    refused, a missing key): its own words, which never carry a key or a fiscal code."""
    return console_of(request).problem(request, 409, str(exc))


async def _failure(request: Request, exc: Exception) -> Response:
    """Anything unexpected: logged with its type, shown as a page without a traceback."""
    log.error("console.failure", path=request.url.path, error=type(exc).__name__)
    message = str(exc) if isinstance(exc, FsmError) else type(exc).__name__
    return console_of(request).problem(request, 500, message)


async def _status(request: Request, exc: Exception) -> Response:
    code = getattr(exc, "status_code", 500)
    if code == 404:
        return await _not_found(request, exc)
    return console_of(request).problem(request, code, str(getattr(exc, "detail", "")))


async def switch_language(request: Request) -> Response:
    lang = request.query_params.get("lang", "it")
    if lang not in LANGUAGES:
        raise InvalidInput(f"unknown language {lang!r}: one of {', '.join(LANGUAGES)}")
    request.session["lang"] = lang
    back = request.query_params.get("next", "/")
    return RedirectResponse(back if back.startswith("/") and not back.startswith("//") else "/",
                            status_code=303)  # fmt: skip


def console_app(
    settings: ConsoleSettings,
    *,
    clock: Clock | None = None,
    store: AsyncStore | None = None,
    extra_routes: list[Route | Mount] | None = None,
) -> Starlette:
    """The console over ``settings.db`` (or ``store``), refused (:class:`InvalidInput`, naming
    what is missing) without a session secret or anyone who can sign in. ``extra_routes``:
    e.g. the identity provider's (:mod:`.oidc`)."""
    from . import actions, views  # the routes' modules import this one
    from .sso import sso_routes

    checked = open_store(settings.db)  # migrated to the console's tables, if older
    try:
        settings.check(checked.account_count())
    finally:
        checked.close()
    opened = store or open_async_store(settings.db)
    console = Console(settings, opened, clock)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        if store is None:
            await opened.close()

    routes: list[Route | Mount] = [
        *views.routes(), *actions.routes(), Route("/lang", switch_language),
        *sso_routes(settings), *(extra_routes or []),
    ]  # fmt: skip
    if console.themed:
        routes.append(Mount("/static/bi", StaticFiles(directory=THEME), name="theme"))
    routes.append(Mount("/static", StaticFiles(directory=HERE / "static"), name="static"))
    assert settings.session_secret is not None  # checked
    middleware = [
        Middleware(
            SessionMiddleware, secret_key=settings.session_secret,
            session_cookie="firmaio_console", max_age=int(settings.session_seconds),
            # lax with an identity provider: its redirect back must carry the session's state
            same_site="lax" if settings.oidc_issuer else "strict",
            https_only=settings.secure_cookies,
        )
    ]  # fmt: skip
    handlers: dict[Any, Any] = {
        LoginRequired: _login_required, NotFound: _not_found, Forbidden: _forbidden,
        InvalidInput: _bad_input, FsmError: _refused_by_library, 404: _status, 405: _status,
        Exception: _failure,
    }  # fmt: skip
    app = Starlette(
        routes=routes, middleware=middleware, exception_handlers=handlers, lifespan=lifespan
    )
    app.state.console = console
    return app
