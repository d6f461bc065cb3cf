"""httpx's client without a cookie jar, for the issuer API (which sets no cookie).

httpx reads every answer through ``http.cookiejar`` for cookies to keep (a urllib request built
from the URL and headers, then the jar's parsing): about 2.5% of a worker's CPU, measured with
py-spy on target 7, for nothing. Each client's ``cookies`` is a jar of its own that keeps
nothing from an answer; a cookie set on it by hand is sent by that client alone, as httpx does.
"""

from __future__ import annotations

from typing import Any

import httpx


class _NoCookies(httpx.Cookies):
    def extract_cookies(self, response: httpx.Response) -> None:
        """Nothing is kept."""


class NoCookieClient(httpx.AsyncClient):
    """``httpx.AsyncClient`` whose cookie jar stays empty (see the module docstring)."""

    _no_cookies: httpx.Cookies | None = None
    """This client's jar, made on the first look (httpx's ``__init__`` sets ``cookies``:
    ignored)."""

    @property
    def cookies(self) -> httpx.Cookies:
        jar = self._no_cookies
        if jar is None:
            jar = self._no_cookies = _NoCookies()
        return jar

    @cookies.setter
    def cookies(self, _cookies: Any) -> None:
        pass
