"""Which URLs in the service's answers the client follows or passes on.

Three kinds of URL come in answers: the upload URL (where the PDF is sent), each signed
document's URL (what is downloaded) and the request's ``qr_code_url`` (what an administration may
show a citizen). All three are documented (API-NOTES §1.2, §1.3.6, §5): blobs on Azure Blob
Storage (``https://<account>.blob.core.windows.net``), the QR image on
``https://continua.io.pagopa.it``. A URL is accepted only with ``https`` on those hosts, with no
user name or password and no character a URL cannot hold. Blobs are also accepted on the API's
own origin (the base URL the operator configured: the sandbox serves its blobs there), and
``$FIRMAIO_TRUSTED_HOSTS`` adds origins for both (a storage emulator, a test stand-in):
``host``, ``host:port`` (https) or ``http://host:port``, separated by commas or spaces.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from firmaio.fsm.errors import InvalidInput

TRUSTED_HOSTS_ENV = "FIRMAIO_TRUSTED_HOSTS"
QR_HOST = "continua.io.pagopa.it"
"""The IO link service, which serves the QR image (API-NOTES §5)."""
BLOB_SUFFIX = ".blob.core.windows.net"
"""Azure Blob Storage, where uploads go and signed documents come from (API-NOTES §1.3.6)."""
MAX_URL = 4096
"""A SAS URL is a few hundred characters; a longer one is no URL of the service."""

Kind = Literal["blob", "qr"]
Origin = tuple[str, str, int]
"""Scheme, host (lower case) and port."""
_PORTS = {"https": 443, "http": 80}


def origin_of(url: str) -> Origin | None:
    """The origin of an ``http(s)`` URL; None for anything else or a malformed one."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _PORTS or not parts.hostname or "@" in parts.netloc:
        return None
    return scheme, parts.hostname.lower(), port if port is not None else _PORTS[scheme]


def _entry(text: str) -> Origin:
    origin = origin_of(text if "://" in text else f"https://{text}")
    if origin is None:
        raise InvalidInput(
            f"${TRUSTED_HOSTS_ENV}: {text[:60]!r} is not a host, host:port or http(s)://host:port"
        )
    return origin


@dataclass(frozen=True, slots=True)
class UrlPolicy:
    """The origins URLs of answers may have (see the module docstring)."""

    base: Origin | None = None
    """The API base URL's origin: blobs there are the same service's."""
    trusted: frozenset[Origin] = frozenset()
    """Origins added by the operator, for both kinds."""

    @classmethod
    def from_env(cls, base_url: str, env: Mapping[str, str] | None = None) -> UrlPolicy:
        """The policy for a client of ``base_url``, with ``$FIRMAIO_TRUSTED_HOSTS``."""
        listed = (env if env is not None else os.environ).get(TRUSTED_HOSTS_ENV, "")
        return cls.of(base_url, listed.replace(",", " ").split())

    @classmethod
    def of(cls, base_url: str, trusted: Iterable[str] = ()) -> UrlPolicy:
        """The policy for a client of ``base_url`` that also trusts ``trusted`` origins."""
        return cls(origin_of(base_url), frozenset(_entry(t) for t in trusted))

    def refusal(self, url: object, kind: Kind) -> str | None:
        """Why ``url`` is not accepted as a URL of ``kind`` (None: it is). The reason names its
        scheme and host, never the whole URL (an upload URL's signature is a credential)."""
        if not isinstance(url, str):
            return f"not a string but {type(url).__name__}"
        if len(url) > MAX_URL:
            return f"longer than {MAX_URL} characters"
        if not url.isascii() or not url.isprintable() or " " in url:
            return "it holds characters a URL cannot (whitespace, control or non-ASCII)"
        origin = origin_of(url)
        if origin is None:
            scheme = url.partition(":")[0][:20] if ":" in url else ""
            return f"the scheme {scheme!r} is not https, or it names no plain host"
        if origin in self.trusted or self._documented(origin, kind):
            return None
        scheme, host, port = origin
        return f"{scheme}://{host[:80]}:{port} is not a host of the service"

    def _documented(self, origin: Origin, kind: Kind) -> bool:
        scheme, host, port = origin
        if kind == "blob" and origin == self.base:
            return True
        if scheme != "https" or port != 443:
            return False
        return host == QR_HOST if kind == "qr" else host.endswith(BLOB_SUFFIX)
