"""``firmaio console``: the operators' web console (extra ``[console]``).

Server-rendered pages (Starlette, Jinja2, Bootstrap Italia served by the package itself) over a
store: an overview, the list of flows with filters and keyset pages, a flow's page, and the
actions an operator takes (each the library's own trigger, the operator as the actor). Local
accounts with argon2id hashes, roles per tenant, signed session cookies, a CSRF token on every
action. See docs/console.md.
"""

from __future__ import annotations

from .app import Console, console_app
from .auth import Who, hash_password, sign_in_identity
from .settings import SECRET_ENV, ConsoleSettings

__all__ = [
    "SECRET_ENV",
    "Console",
    "ConsoleSettings",
    "Who",
    "console_app",
    "hash_password",
    "sign_in_identity",
]
