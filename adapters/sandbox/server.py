"""The sandbox served by uvicorn on loopback: in a background thread, or in the foreground."""

from __future__ import annotations

import logging
import threading
import time

import uvicorn

from ..client.blobs import MaskedSignatures
from ..ratelimit import GATEWAY_CALLS, GATEWAY_PERIOD
from .app import PREFIX, build_app
from .faults import SandboxState
from .issuer import SimulatedIssuer
from .service import ACTIVATION_DELAY, UPLOAD_URL_TTL

KEEP_ALIVE = 75
"""Seconds the sandbox keeps an idle connection open, as a gateway does (minutes), longer than
a client's pool keeps one (this library's: 4 s, ``KEEPALIVE_EXPIRY``). With both at 5 s, a
worker's connection idle for one turn of its key's window (5 s and a little) was closed by the
server just as the client sent on it, and a notification call lost its answer: 30 s of grace
before the flow read it back."""


class Sandbox:
    """The sandbox served by uvicorn on loopback, in a background thread.

    ``with Sandbox() as sandbox:`` starts it on a free port; ``sandbox.url`` is the API's base URL
    and ``sandbox.issuer`` the simulated service, for set-up and for counting messages.
    ``upload_url_ttl`` is how long an upload URL is honoured (15 minutes, as the real service).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        activation_delay: float = ACTIVATION_DELAY,
        validation_delay: float = 0.2,
        rate_calls: int = GATEWAY_CALLS,
        rate_period: float = GATEWAY_PERIOD,
        keys: dict[str, str] | None = None,
        upload_url_ttl: float = UPLOAD_URL_TTL,
    ) -> None:
        self.host = host
        self.port = port
        self.issuer = SimulatedIssuer(
            activation_delay=activation_delay,
            validation_delay=validation_delay,
            upload_url_ttl=upload_url_ttl,
        )
        for key, issuer_id in (keys or {"sandbox-key": "sandbox-issuer"}).items():
            self.issuer.add_key(key, issuer_id)
        self.state = SandboxState(self.issuer, rate_calls=rate_calls, rate_period=rate_period)
        self.app = build_app(self.state)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL of the issuer API, e.g. ``http://127.0.0.1:7071/api/v1/sign``."""
        return f"http://{self.host}:{self.port}{PREFIX}"

    @property
    def root(self) -> str:
        """The server's root URL (controls live under ``/__sandbox``)."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> Sandbox:
        """Start serving in a background thread; return once the socket listens."""
        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=self.port,
            log_level="critical",
            lifespan="off",
            access_log=False,
            timeout_keep_alive=KEEP_ALIVE,
        )
        self._server = server = uvicorn.Server(config)
        self._thread = threading.Thread(target=server.run, name="firmaio-sandbox", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox could not start on {self.host}:{self.port}")
            time.sleep(0.01)
        self.port = server.servers[0].sockets[0].getsockname()[1]
        self.issuer.base_url = self.url
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def serve(
    host: str,
    port: int,
    *,
    activation_delay: float,
    keys: dict[str, str],
    rate_calls: int = GATEWAY_CALLS,
    rate_period: float = GATEWAY_PERIOD,
    upload_url_ttl: float = UPLOAD_URL_TTL,
) -> None:
    """Serve the sandbox in the foreground until interrupted (``firmaio sandbox``)."""
    sandbox = Sandbox(
        host=host,
        port=port,
        activation_delay=activation_delay,
        keys=keys,
        rate_calls=rate_calls,
        rate_period=rate_period,
        upload_url_ttl=upload_url_ttl,
    )
    sandbox.issuer.base_url = sandbox.url  # upload URLs point at this server
    # uvicorn's access log would print each blob URL whole, its signature included
    logging.getLogger("uvicorn.access").addFilter(MaskedSignatures())
    uvicorn.run(
        sandbox.app, host=host, port=port, log_level="info", lifespan="off",
        timeout_keep_alive=KEEP_ALIVE,
    )  # fmt: skip
