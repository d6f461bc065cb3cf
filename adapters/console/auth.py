"""Who gets in: local accounts' argon2id passwords, sessions, CSRF tokens, sign-ins rate-limited,
roles per tenant, and every refused access logged.

A session is Starlette's signed cookie (``HttpOnly``, ``SameSite=Strict``, ``Secure`` unless
turned off for loopback tests) holding the account's name, when it signed in, when it was last
seen and its CSRF token; the account and its roles are read from the store on every request, so
a role taken away takes effect at once. A session ends ``session_seconds`` after sign-in or
``idle_seconds`` after its last request. Every form that changes something carries the CSRF
token; a POST without it (or with another) is refused and changes nothing.

An identity provider's sign-in (:mod:`firmaio.adapters.console.oidc`, wired by the lead) ends in
:func:`sign_in_identity`: the account registered for that issuer and subject (or, once, for that
issuer and verified email) is signed in; an identity with no account is refused.
"""

from __future__ import annotations

import hmac
import secrets
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol

import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ..store.accounts import ROLES, Account

log = structlog.get_logger("firmaio.console")

EVERY_TENANT = "*"
"""A role given for ``*`` holds in every tenant (an administrator of the whole deployment)."""


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2id, the library's (RFC 9106's) parameters


def hash_password(password: str) -> str:
    """``password``'s argon2id hash (a new salt each time)."""
    return _hasher().hash(password)


@cache
def _dummy() -> str:
    return hash_password(secrets.token_hex(16))


def password_matches(stored: str | None, password: str) -> bool:
    """Whether ``password`` is the one ``stored`` hashes; an account with no password (or no
    account: ``None``) costs the same time and never matches."""
    try:
        return _hasher().verify(stored or _dummy(), password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True, slots=True)
class Who:
    """The signed-in account: its name, and its role per tenant."""

    name: str
    roles: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, account: Account) -> Who:
        return cls(account.name, dict(account.roles))

    def role_in(self, tenant: str) -> str | None:
        """The highest role held in ``tenant`` (its own, or one held in every tenant)."""
        held = [r for t, r in self.roles.items() if t in (tenant, EVERY_TENANT)]
        return max(held, key=ROLES.index, default=None)

    def may(self, tenant: str, role: str) -> bool:
        """Whether the account holds ``role`` (or a higher one) in ``tenant``."""
        held = self.role_in(tenant)
        return held is not None and ROLES.index(held) >= ROLES.index(role)

    def tenants(self, role: str = "viewer") -> tuple[str, ...] | None:
        """The tenants where ``role`` (or higher) is held; None: every tenant."""
        at_least = ROLES.index(role)
        if ROLES.index(self.roles.get(EVERY_TENANT, "viewer")) >= at_least and (
            EVERY_TENANT in self.roles
        ):
            return None
        named = (t for t, r in self.roles.items() if t != EVERY_TENANT)
        return tuple(sorted(t for t in named if self.may(t, role)))


class LoginLimiter:
    """At most ``attempts`` failed sign-ins per key (an account name, a client address) in
    ``window`` seconds; past that a sign-in is refused without checking the password."""

    def __init__(self, attempts: int, window: float) -> None:
        self.attempts, self.window = attempts, window
        self._failed: dict[str, deque[float]] = defaultdict(deque)

    def allowed(self, keys: Iterable[str], now: float) -> bool:
        for key in keys:
            times = self._failed[key]
            while times and times[0] <= now - self.window:
                times.popleft()
            if len(times) >= self.attempts:
                return False
        return True

    def failed(self, keys: Iterable[str], now: float) -> None:
        for key in keys:
            self._failed[key].append(now)


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made with the session)."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def csrf_ok(request: Request, sent: object) -> bool:
    """Whether ``sent`` is the session's CSRF token."""
    token = request.session.get("csrf")
    return isinstance(token, str) and isinstance(sent, str) and hmac.compare_digest(token, sent)


def sign_in(request: Request, name: str, now: float) -> None:
    """A new session for ``name`` (a new CSRF token; the old session's values are dropped,
    its language kept)."""
    lang = request.session.get("lang")
    request.session.clear()
    request.session.update(user=name, since=now, seen=now, csrf=secrets.token_urlsafe(32))
    if lang:
        request.session["lang"] = lang


def session_user(request: Request, now: float, lasts: float, idle: float) -> str | None:
    """The signed-in account's name, if the session has one and has not expired (an expired
    one is cleared)."""
    session = request.session
    name, since, seen = session.get("user"), session.get("since"), session.get("seen")
    if not isinstance(name, str) or not isinstance(since, float | int):
        return None
    if now - since > lasts or not isinstance(seen, float | int) or now - seen > idle:
        refused(request, "the session expired", user=name)
        sign_out(request)
        request.session["expired"] = True  # the sign-in page says so
        return None
    session["seen"] = now
    return name


def sign_out(request: Request) -> None:
    lang = request.session.get("lang")
    request.session.clear()
    if lang:
        request.session["lang"] = lang


def refused(request: Request, why: str, **fields: Any) -> None:
    """Log a refused access: who (if known), what was asked, why. Never a password."""
    client = request.client.host if request.client else None
    log.warning(
        "console.refused", why=why, method=request.method, path=request.url.path,
        client=client, **fields,
    )  # fmt: skip


class Identity(Protocol):
    """What the identity provider says of who signed in (the oidc module's ``identity``)."""

    issuer: str
    subject: str
    email: str | None
    name: str | None


class _Console(Protocol):
    async def oidc_account(self, identity: Identity) -> Account | None: ...
    def now(self) -> float: ...


async def sign_in_identity(request: Request, identity: Identity) -> Response:
    """Sign in the account registered for the identity provider's ``identity`` (found by issuer
    and subject, or by issuer and email: pass an email only where the provider verified it);
    the overview next. An identity with no account is refused (403), and logged."""
    console: _Console = request.app.state.console
    account = await console.oidc_account(identity)
    if account is None:
        refused(request, "no console account for this identity", issuer=identity.issuer)
        return Response("no console account for this identity", status_code=403)
    sign_in(request, account.name, console.now())
    return RedirectResponse("/", status_code=303)
