"""httpx's client without a cookie jar, for the issuer API (which sets no cookie).

httpx reads every answer through ``http.cookiejar`` for cookies to keep (a urllib request built
from the URL and headers, then the jar's parsing): about 2.5% of a worker's CPU, measured with
py-spy on target 7, for nothing. The client's ``cookies`` is an empty jar that reads nothing;
cookies set on it are ignored.
"""

from __future__ import annotations

from typing import Any

import httpx


class _NoCookies(httpx.Cookies):
    def extract_cookies(self, response: httpx.Response) -> None:
        """Nothing is kept."""


NO_COOKIES = _NoCookies()


class NoCookieClient(httpx.AsyncClient):
    """``httpx.AsyncClient`` whose cookie jar stays empty (see the module docstring)."""

    @property
    def cookies(self) -> httpx.Cookies:
        return NO_COOKIES

    @cookies.setter
    def cookies(self, _cookies: Any) -> None:
        pass
