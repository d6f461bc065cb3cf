"""The console's accounts, kept in the store's database (schema version 9's tables).

An account has a name, and either a password's argon2id hash (a local account; the hash is made
and checked by :mod:`firmaio.adapters.console.auth`, never here) or the OpenID Connect issuer
and subject (or verified email) it signs in with, and a role per tenant: ``viewer``,
``operator`` or ``admin``. No password, and no hash, is ever logged or shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from firmaio.fsm.errors import InvalidInput

ROLES = ("viewer", "operator", "admin")
"""The roles, each allowed what the one before it is, and more."""


class _Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...
    def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def fetchone(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class Account:
    """A console account: its name, how it signs in, its role per tenant."""

    name: str
    password_hash: str | None = field(default=None, repr=False)
    oidc_issuer: str | None = None
    oidc_subject: str | None = None
    email: str | None = None
    roles: dict[str, str] = field(default_factory=dict)
    """Tenant -> role."""


def check_role(role: str) -> str:
    """``role`` if it is one of :data:`ROLES`; :class:`InvalidInput` naming them if not."""
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    return role


class Accounts:
    """The accounts' SQL (a mixin of :class:`~firmaio.adapters.store.sql.SqlStore`)."""

    def _sql(self, sql: str) -> str:  # pragma: no cover - the store's
        raise NotImplementedError

    def _statement(self) -> AbstractContextManager[Any]:  # pragma: no cover - the store's
        raise NotImplementedError

    def _transaction(self) -> AbstractContextManager[Any]:  # pragma: no cover - the store's
        raise NotImplementedError

    def save_account(self, account: Account, *, now: float) -> None:
        """Add ``account``, or replace the one of that name (its roles included)."""
        for role in account.roles.values():
            check_role(role)
        with self._transaction() as cur:
            cur.execute(self._sql("DELETE FROM console_roles WHERE name = ?"), (account.name,))
            cur.execute(self._sql("DELETE FROM console_users WHERE name = ?"), (account.name,))
            cur.execute(
                self._sql(
                    "INSERT INTO console_users (name, password_hash, oidc_issuer, oidc_subject, "
                    "email, created_at) VALUES (?, ?, ?, ?, ?, ?)"
                ),
                (account.name, account.password_hash, account.oidc_issuer, account.oidc_subject,
                 account.email, now),
            )  # fmt: skip
            cur.executemany(
                self._sql("INSERT INTO console_roles (name, tenant, role) VALUES (?, ?, ?)"),
                [(account.name, tenant, role) for tenant, role in account.roles.items()],
            )

    def account(self, name: str) -> Account | None:
        """The account named ``name``, if there is one."""
        return next(self._accounts("name = ?", [name]), None)

    def oidc_account(self, issuer: str, subject: str, email: str | None) -> Account | None:
        """The account of the identity provider's ``issuer`` and ``subject``, else the one
        registered for that issuer by ``email`` (a verified email: the caller checks)."""
        found = next(
            self._accounts("oidc_issuer = ? AND oidc_subject = ?", [issuer, subject]), None
        )
        if found is None and email:
            where = "oidc_issuer = ? AND oidc_subject IS NULL AND email = ?"
            found = next(self._accounts(where, [issuer, email]), None)
        return found

    def account_count(self) -> int:
        """How many accounts there are."""
        with self._statement() as cur:
            cur.execute("SELECT COUNT(*) FROM console_users")
            return int(cur.fetchone()[0])

    def _accounts(self, where: str, params: list[Any]) -> Iterator[Account]:
        found = []
        with self._transaction() as cur:
            cur.execute(
                self._sql(
                    "SELECT name, password_hash, oidc_issuer, oidc_subject, email "
                    f"FROM console_users WHERE {where} ORDER BY name"
                ),
                params,
            )
            users = cur.fetchall()
            for user in users:
                cur.execute(
                    self._sql("SELECT tenant, role FROM console_roles WHERE name = ?"), (user[0],)
                )
                roles = {str(t): str(r) for t, r in cur.fetchall()}
                name, hashed, issuer, subject, email = user
                found.append(Account(name, hashed, issuer, subject, email, roles))
        return iter(found)
