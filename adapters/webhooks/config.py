"""Where a tenant's events are sent: the webhook's URL, where its secret comes from, its retries.

In a tenants file (:mod:`~firmaio.adapters.tenants`), beside the tenant's key::

    [comune-di-roma]
    key_env = "FIRMAIO_KEY_ROMA"
    webhook_url = "https://protocollo.comune.roma.it/firmaio/events"
    webhook_secret_env = "FIRMAIO_WEBHOOK_SECRET_ROMA"   # or webhook_secret_file = "..."
    webhook_retries = [60, 300, 3600]                    # optional: seconds before each retry
    # webhook_attempts = 8                               # optional: the default schedule, cut

Without a tenants file, the default tenant's webhook comes from ``--webhook-url`` (or
``$FIRMAIO_WEBHOOK_URL``) and its secret from the environment variable ``$FIRMAIO_WEBHOOK_SECRET``
(``--webhook-secret-env NAME`` names another) or ``--webhook-secret-file``.

A secret is a Standard Webhooks secret: ``whsec_`` and the base64 of 24 to 64 random bytes. It is
read when the worker or the service starts (:meth:`WebhookTarget.secret`), never stored, never
logged: an error names the tenant and where the secret was looked for, never its value.
"""

from __future__ import annotations

import base64
import binascii
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from firmaio.fsm.errors import ApiConfigurationError

from ..key_files import read_key_file

FIRST_RETRY = 60.0
"""Seconds before the first retry of an event its receiver did not take."""
GROWTH = 4.0
"""Each retry waits this many times the one before ..."""
LONGEST_RETRY = 8 * 3600.0
"""... up to this many seconds."""
ATTEMPTS = 8
"""Attempts at an event before it is dead (the first and seven retries: about 22 hours)."""
JITTER = 0.2
"""Each wait is drawn within this fraction either side of its nominal value (receivers coming
back from an outage are not hit by every event at the same second)."""
TIMEOUT = 5.0
"""Seconds a receiver has to answer one delivery (connect, send, answer)."""

SECRET_PREFIX = "whsec_"
_ENV = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
FIELDS = (
    "webhook_url",
    "webhook_secret_env",
    "webhook_secret_file",
    "webhook_retries",
    "webhook_attempts",
)
"""A tenant's webhook fields in a tenants file."""


def default_retries(attempts: int = ATTEMPTS) -> tuple[float, ...]:
    """The nominal waits before each retry: :data:`FIRST_RETRY`, growing :data:`GROWTH`-fold,
    capped at :data:`LONGEST_RETRY`; ``attempts - 1`` of them."""
    return tuple(min(FIRST_RETRY * GROWTH**n, LONGEST_RETRY) for n in range(attempts - 1))


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    """One tenant's webhook: its URL, where its secret is read from (exactly one of
    ``secret_env`` and ``secret_file``), and the nominal seconds before each retry (an event
    gets ``len(retries) + 1`` attempts, then it is dead)."""

    tenant: str
    url: str
    secret_env: str | None = None
    secret_file: Path | None = None
    retries: tuple[float, ...] = default_retries()

    def __post_init__(self) -> None:
        who = f"tenant {self.tenant!r}"
        if not isinstance(self.url, str) or not re.fullmatch(r"https?://[^\s/?#]+\S*", self.url):
            raise ApiConfigurationError(
                f"{who}: webhook_url must be an http:// or https:// URL with a host, not "
                f"{_shown(self.url)}; nothing was sent"
            )
        if (self.secret_env is None) == (self.secret_file is None):
            raise ApiConfigurationError(
                f"{who}: a webhook needs exactly one of webhook_secret_env and "
                "webhook_secret_file (where its signing secret is read from)"
            )
        if self.secret_env is not None and not _ENV.fullmatch(self.secret_env):
            raise ApiConfigurationError(
                f"{who}: webhook_secret_env {self.secret_env!r} is not an environment variable name"
            )
        for wait in self.retries:
            if isinstance(wait, bool) or not isinstance(wait, int | float):
                raise ApiConfigurationError(f"{who}: webhook_retries must be numbers of seconds")
            if not 0 <= wait < math.inf:
                raise ApiConfigurationError(
                    f"{who}: webhook_retries must be seconds >= 0 and finite, not {wait!r}"
                )

    def __repr__(self) -> str:
        return f"WebhookTarget({self.tenant!r}, {_shown(self.url)}, secret from {self.source})"

    @property
    def attempts(self) -> int:
        """Attempts at an event before it is dead."""
        return len(self.retries) + 1

    @property
    def source(self) -> str:
        """Where the secret is read from, as an error message says it."""
        if self.secret_env is not None:
            return f"environment variable {self.secret_env}"
        return f"file {self.secret_file}"

    def secret(self) -> str:
        """The signing secret, read and checked now (a clear error naming where it was looked
        for if it is missing or not a Standard Webhooks secret; never its value)."""
        who = f"tenant {self.tenant!r}"
        if self.secret_env is not None:
            text = os.environ.get(self.secret_env, "").strip()
        else:
            assert self.secret_file is not None
            what = f"{who}: the webhook secret file"
            content = read_key_file(self.secret_file, what, ApiConfigurationError)
            try:
                text = content.decode("utf-8").strip()
            except UnicodeDecodeError:
                raise ApiConfigurationError(f"{what} {self.secret_file} is not text") from None
        if not text:
            raise ApiConfigurationError(
                f"{who}: no webhook secret in {self.source}: set it before starting; nothing "
                "was sent"
            )
        check_secret(text, f"{who}: the webhook secret in {self.source}")
        return text


def check_secret(text: str, what: str) -> None:
    """Refuse a secret that is not ``whsec_`` and the base64 of 24 to 64 bytes."""
    body = text.removeprefix(SECRET_PREFIX)
    try:
        raw = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if not text.startswith(SECRET_PREFIX) or not 24 <= len(raw) <= 64:
        raise ApiConfigurationError(
            f"{what} is not a Standard Webhooks secret: it must be {SECRET_PREFIX} followed by "
            'the base64 of 24 to 64 random bytes (make one with: python3 -c "import base64, '
            "os; print('whsec_' + base64.b64encode(os.urandom(32)).decode())\"); nothing was sent"
        )


def target_of(tenant: str, entry: Mapping[str, Any], where: Path | None) -> WebhookTarget | None:
    """The webhook of a tenants file's entry (None if it names no ``webhook_url``); a relative
    secret file is read beside the tenants file (``where``)."""
    given = {name: entry[name] for name in FIELDS if name in entry}
    if not given:
        return None
    who = f"tenant {tenant!r}"
    if "webhook_url" not in given:
        raise ApiConfigurationError(
            f"{who}: {', '.join(sorted(given))} given without webhook_url (where its events go)"
        )
    for name in ("webhook_url", "webhook_secret_env", "webhook_secret_file"):
        if name in given and not isinstance(given[name], str):
            raise ApiConfigurationError(f"{who}: {name} must be a string")
    secret_file = given.get("webhook_secret_file")
    return WebhookTarget(
        tenant,
        given["webhook_url"],
        secret_env=given.get("webhook_secret_env"),
        secret_file=None if secret_file is None else (where or Path()) / secret_file,
        retries=retries_of(who, given.get("webhook_retries"), given.get("webhook_attempts")),
    )


def retries_of(who: str, retries: object, attempts: object) -> tuple[float, ...]:
    """The waits before each retry: ``retries`` as given, or the default schedule for
    ``attempts`` attempts (both None: the default's eight)."""
    if retries is not None and attempts is not None:
        raise ApiConfigurationError(f"{who}: give webhook_retries or webhook_attempts, not both")
    if retries is not None:
        if not isinstance(retries, list | tuple):
            raise ApiConfigurationError(f"{who}: webhook_retries must be a list of seconds")
        return tuple(retries)
    if attempts is None:
        return default_retries()
    if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= 100:
        raise ApiConfigurationError(
            f"{who}: webhook_attempts must be a whole number from 1 to 100, not {attempts!r}"
        )
    return default_retries(attempts)


def _shown(value: object) -> str:
    """A value in an error, without what could be a credential in a URL (user, query)."""
    if not isinstance(value, str):
        return repr(value)
    return repr(re.sub(r"(//)[^/@]*@", r"\1…@", value.split("?")[0])[:100])
