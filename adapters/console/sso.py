"""The console's sign-in through the administration's identity provider: :mod:`.oidc`'s routes
wired to the console's accounts.

A login the provider completed is signed in as the console account registered for it
(``firmaio console add-user NAME --oidc ISSUER [--subject S | --email E]``), found by issuer and
subject, or by issuer and email where the provider verified the email; an identity with no
account is refused and logged. A failed login goes back to the sign-in page, saying why in the
operator's words (the reason is logged by :mod:`.oidc`, never a token or a secret).
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .auth import sign_in_identity
from .oidc import OidcIdentity, OidcSettings, oidc_routes, read_client_secret
from .settings import ConsoleSettings
from .text import translator


@dataclass(slots=True)
class _Found:
    issuer: str
    subject: str
    email: str | None
    name: str | None


async def _on_login(request: Request, identity: OidcIdentity) -> Response:
    request.session.clear()  # a new session for whoever signed in
    email = identity.email if identity.email_verified else None
    found = _Found(identity.issuer, identity.subject, email, identity.name)
    return await sign_in_identity(request, found)


async def _on_failure(request: Request, reason: str) -> Response:
    from .app import language  # the app imports this module

    t = translator(language(request))
    return request.app.state.console.render(  # type: ignore[no-any-return]
        request, "login.html.j2", 401, error=f"{t('sso_failed')} ({reason})", next="/"
    )


def sso_routes(settings: ConsoleSettings) -> list[Route]:
    """The identity provider's routes for ``settings`` (none without ``--oidc-issuer``); the
    client secret read from the variable ``settings.oidc_client_secret_env`` names."""
    if not settings.oidc_issuer:
        return []
    assert settings.oidc_client_id  # settings.check
    assert settings.oidc_client_secret_env
    secret = read_client_secret(env=settings.oidc_client_secret_env)
    oidc = OidcSettings(settings.oidc_issuer, settings.oidc_client_id, secret)
    return oidc_routes(oidc, _on_login, _on_failure)
