"""Tenants: the administrations one deployment serves, each with its own API key and rate limit.

A technology partner drives the flows of many administrations, each with its own issuer API key.
Every flow belongs to a tenant (the ``tenant`` column of the store); keys are never written to
the database nor to this file. A tenants file (TOML) names, for each tenant, where its key comes
from: an environment variable or a file (a mounted secret)::

    [comune-di-roma]
    key_env = "FIRMAIO_KEY_ROMA"

    [comune-di-milano]
    key_file = "/run/secrets/firmaio-milano"
    documents_dir = "/srv/firmati/milano"   # signed documents collected on their own

A tenant may also name a webhook its flows' events are delivered to (``webhook_url``,
``webhook_secret_env`` or ``webhook_secret_file``, optional ``webhook_retries`` or
``webhook_attempts``: :mod:`~firmaio.adapters.webhooks.config`).

A flow with no tenant belongs to the **default** tenant, whose key is ``FIRMAIO_API_KEY``; a
deployment with a tenants file serves the tenants it names (name ``default`` there to serve flows
registered with none). A key that cannot be read is an
:class:`~firmaio.fsm.errors.ApiConfigurationError` naming the tenant and where its key was looked
for, never the key; so is a key file its group or other users may read or write
(:mod:`~firmaio.adapters.key_files`).
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from firmaio.fsm.errors import ApiConfigurationError, InvalidInput

from .key_files import read_key_file

if TYPE_CHECKING:
    from .webhooks import WebhookTarget

DEFAULT_TENANT = "default"
"""The tenant of flows registered with no tenant: its key is ``FIRMAIO_API_KEY``."""

FIELDS = ("key_env", "key_file", "documents_dir")
"""The fields of a tenant's entry in the tenants file."""

_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
_ENV = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class Tenant:
    """One administration: its name and where its API key is read from (exactly one of
    ``key_env`` and ``key_file``)."""

    name: str
    key_env: str | None = None
    key_file: Path | None = None
    documents_dir: Path | None = None
    """Where its signed documents are collected on their own (None: they are not)."""
    webhook: WebhookTarget | None = None
    """Where its flows' events are delivered (:mod:`~firmaio.adapters.webhooks`); None: not."""

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise InvalidInput(
                f"tenant name {self.name!r} is not valid: use 1-63 lower-case letters, digits, "
                "'-' or '_', starting with a letter or digit"
            )
        if (self.key_env is None) == (self.key_file is None):
            raise InvalidInput(
                f"tenant {self.name!r} needs exactly one of key_env and key_file (where its API "
                "key is read from)"
            )
        if self.key_env is not None and not _ENV.fullmatch(self.key_env):
            raise InvalidInput(
                f"tenant {self.name!r}: key_env {self.key_env!r} is not an environment "
                "variable name"
            )

    @property
    def source(self) -> str:
        """Where the key is read from, as an error message says it."""
        if self.key_env is not None:
            return f"environment variable {self.key_env}"
        return f"file {self.key_file}"

    def key(self) -> str:
        """The tenant's API key, read now; a clear error if it cannot be."""
        if self.key_env is not None:
            key = os.environ.get(self.key_env, "").strip()
        else:
            assert self.key_file is not None
            what = f"tenant {self.name!r}: the API key file"
            content = read_key_file(self.key_file, what, ApiConfigurationError)
            try:
                key = content.decode("utf-8").strip()
            except UnicodeDecodeError:
                raise ApiConfigurationError(f"{what} {self.key_file} is not text") from None
        if not key:
            raise ApiConfigurationError(
                f"tenant {self.name!r}: no API key in {self.source}: set it before starting"
            )
        return key


def key_id(key: str) -> str:
    """A name for ``key`` that never reveals it: what a shared rate limit is kept under."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


class Tenants(Mapping[str, Tenant]):
    """The tenants of one deployment, by name; with none given, the default tenant alone."""

    def __init__(
        self,
        tenants: Mapping[str, Tenant] | None = None,
        *,
        source: Path | None = None,
        documents_dir: str | Path | None = None,
    ) -> None:
        self.source = source
        """The tenants file they were read from, if any."""
        if tenants is None:  # the default tenant alone, collecting into documents_dir if given
            folder = None if documents_dir is None else Path(documents_dir)
            default = Tenant(DEFAULT_TENANT, key_env="FIRMAIO_API_KEY", documents_dir=folder)
            tenants = {DEFAULT_TENANT: default}
        elif documents_dir is not None:
            raise InvalidInput(
                "--documents-dir is the default tenant's folder without a tenants file: with "
                f"{source or 'tenants'}, name documents_dir in each tenant's entry"
            )
        if not tenants:
            raise InvalidInput("a tenants file must name at least one tenant")
        self._tenants = dict(tenants)

    def __getitem__(self, name: str) -> Tenant:
        try:
            return self._tenants[name]
        except KeyError:
            known = ", ".join(sorted(self._tenants))
            where = f" in {self.source}" if self.source else " (no --tenants file)"
            raise InvalidInput(f"unknown tenant {name!r}{where}; known: {known}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._tenants)

    def __len__(self) -> int:
        return len(self._tenants)

    def of(self, stored: str | None) -> Tenant:
        """The tenant of a flow whose stored tenant is ``stored`` (None: the default)."""
        return self[stored or DEFAULT_TENANT]

    def collecting(self) -> dict[str, Path]:
        """The folder of each tenant whose signed documents are collected on their own."""
        return {n: t.documents_dir for n, t in self._tenants.items() if t.documents_dir is not None}

    def webhooks(self) -> list[WebhookTarget]:
        """The tenants' webhooks (those that have one)."""
        return [t.webhook for t in self._tenants.values() if t.webhook is not None]

    def keys_by_tenant(self) -> dict[str, str]:
        """Every tenant's key, read now: a missing one fails here, before any flow is touched."""
        return {name: tenant.key() for name, tenant in self._tenants.items()}

    @classmethod
    def load(cls, path: str | Path) -> Tenants:
        """The tenants of a TOML file (see the module docstring); a clear error naming the
        file and the entry for anything wrong in it."""
        from .webhooks.config import FIELDS as WEBHOOK_FIELDS
        from .webhooks.config import target_of

        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise InvalidInput(f"cannot read tenants file {path}: {error.strerror}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise InvalidInput(f"tenants file {path} is not valid TOML: {error}") from None
        tenants: dict[str, Tenant] = {}
        for name, entry in data.items():
            if not isinstance(entry, dict):
                raise InvalidInput(f"tenants file {path}: {name!r} must be a table ([{name}])")
            unknown = sorted(set(entry) - {*FIELDS, *WEBHOOK_FIELDS})
            if unknown:
                raise InvalidInput(
                    f"tenants file {path}: tenant {name!r} has unknown field(s) "
                    f"{', '.join(unknown)} (known: {', '.join((*FIELDS, *WEBHOOK_FIELDS))})"
                )
            values = {field: entry.get(field) for field in FIELDS}
            for field, value in values.items():
                if value is not None and not isinstance(value, str):
                    raise InvalidInput(f"tenants file {path}: {name}.{field} must be a string")
            key_file, folder = values["key_file"], values["documents_dir"]
            tenants[name] = Tenant(
                name,
                key_env=values["key_env"],
                key_file=None if key_file is None else path.parent / key_file,
                documents_dir=None if folder is None else path.parent / folder,
                webhook=target_of(name, entry, path.parent),
            )
        return cls(tenants, source=path)
