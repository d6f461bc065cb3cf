"""The console's settings, made once, and the check that refuses a console that cannot be safe.

A console starts only with a session secret (the key its session cookies are signed with: at
least 32 characters, from ``FIRMAIO_CONSOLE_SECRET`` or a file) and someone who can sign in: a
local account in the store, or an OpenID Connect identity provider. What is missing is named,
and nothing is served.
"""

from __future__ import annotations

from dataclasses import dataclass

from firmaio.fsm.errors import InvalidInput

from ..client import DEFAULT_BASE_URL

SECRET_ENV = "FIRMAIO_CONSOLE_SECRET"
"""Where ``firmaio console`` reads the session secret, without ``--session-secret-file``."""

MIN_SECRET = 32


@dataclass(frozen=True, slots=True)
class ConsoleSettings:
    """What one console serves, and how."""

    db: str
    """The store (a SQLite file or a ``postgresql://`` URL) the console reads and acts on."""
    session_secret: str | None = None
    secure_cookies: bool = True
    """Session cookies are ``Secure`` (sent over HTTPS only). Off only for a console on
    ``http://127.0.0.1`` (the tests, ``make console``): never in production."""
    session_seconds: float = 8 * 3600
    """A session ends this long after its sign-in, whatever is done in it."""
    idle_seconds: float = 30 * 60
    """... and after this long with no request."""
    login_attempts: int = 5
    """Failed sign-ins allowed per account name, and per client address, in ``login_window``."""
    login_window: float = 300.0
    base_url: str = DEFAULT_BASE_URL
    """The issuer API the actions call (with each tenant's key)."""
    tenants_file: str | None = None
    """Where each tenant's API key comes from (:mod:`firmaio.adapters.tenants`); without it,
    only the ``default`` tenant's key, ``FIRMAIO_API_KEY``."""
    signed_dir: str = "signed"
    """Where the signed documents an operator fetches are written."""
    stuck_after: float = 24 * 3600
    """An open flow unchanged this long is listed as stuck on the overview."""
    oidc_issuer: str | None = None
    """The identity provider (OpenID Connect), if any: its issuer URL."""
    oidc_client_id: str | None = None
    oidc_client_secret_env: str | None = None
    """The environment variable holding the client secret (never the secret itself)."""

    def check(self, accounts: int) -> None:
        """Refuse (:class:`InvalidInput`, naming what is missing) to serve without a session
        secret, or with no account (``accounts``) and no identity provider."""
        missing = []
        if not self.session_secret:
            missing.append(
                f"a session secret: set {SECRET_ENV} (at least {MIN_SECRET} characters) or "
                "give --session-secret-file"
            )
        elif len(self.session_secret) < MIN_SECRET:
            missing.append(f"a session secret of at least {MIN_SECRET} characters")
        if accounts == 0 and not self.oidc_issuer:
            missing.append(
                "someone who can sign in: add a local account (`firmaio console add-user NAME "
                "--role TENANT:ROLE`) or configure an identity provider (--oidc-issuer, "
                "--oidc-client-id, --oidc-client-secret-env)"
            )
        if self.oidc_issuer and not (self.oidc_client_id and self.oidc_client_secret_env):
            missing.append("--oidc-client-id and --oidc-client-secret-env, with --oidc-issuer")
        if missing:
            raise InvalidInput("the console will not start without " + "; and ".join(missing))
