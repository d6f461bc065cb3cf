"""Liveness, readiness and metrics of ``firmaio serve`` and ``firmaio worker``, on one port.

``--metrics-port PORT`` (``--metrics-host``, default 127.0.0.1) serves, from a thread of its
own, what a supervisor or an orchestrator asks:

* ``GET /livez``: 200 while the process's event loop turns (its heartbeat is under
  :data:`STALE_AFTER` seconds old), else 503: a process to restart;
* ``GET /readyz``: 200 when the store answers a query now (a connection of its own, at most
  :data:`PROBE_TIMEOUT` seconds) and the issuer API answered the process's last call (its
  settings check, then every call it makes), else 503 with which of the two is not;
* ``GET /metrics``: Prometheus metrics (:mod:`.observability.metrics`, the ``[metrics]`` extra).

Bodies are JSON (``{"ready": false, "store": "unreachable (OperationalError)", ...}``) and never
name a host, a key or a fiscal code: the store is named as :func:`~.store.store_name` masks it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .checks import POSTGRES
from .client import IssuerClient
from .client.transport import CallEvent

if TYPE_CHECKING:
    from .observability import Metrics

STALE_AFTER = 30.0
"""Seconds without a heartbeat of the event loop after which the process is not live."""
BEAT_EVERY = 1.0
PROBE_TIMEOUT = 2.0
"""Seconds a readiness probe waits for the store."""


class Health:
    """What ``/livez`` and ``/readyz`` answer, for the process serving the store at ``db``."""

    def __init__(self, db: str, *, now: Callable[[], float] = time.monotonic) -> None:
        self.db, self.now = db, now
        self.beat_at = now()
        self.service: str | None = "not checked yet"
        """Why the issuer API is not known to answer (None: its last call was answered)."""

    # -- what the process reports ---------------------------------------------------------

    async def beating(self, stopping: asyncio.Event) -> None:
        """Beat every :data:`BEAT_EVERY` seconds until ``stopping``: proof the loop turns."""
        while not stopping.is_set():
            self.beat_at = self.now()
            try:
                await asyncio.wait_for(stopping.wait(), BEAT_EVERY)
            except TimeoutError:
                continue

    def checked(self, client: IssuerClient) -> None:
        """The settings check answered: the service is reachable; watch ``client``'s calls."""
        self.service = None
        client.observers.append(self._on_call)

    def _on_call(self, event: CallEvent) -> None:
        if event.status is None:
            self.service = "unreachable (no answer to the last call)"
        elif event.status >= 500:
            self.service = f"unavailable (HTTP {event.status} to the last call)"
        else:
            self.service = None

    # -- what a probe asks ----------------------------------------------------------------

    def live(self) -> tuple[bool, dict[str, Any]]:
        age = self.now() - self.beat_at
        return age < STALE_AFTER, {"live": age < STALE_AFTER, "heartbeat_age_s": round(age, 1)}

    def ready(self) -> tuple[bool, dict[str, Any]]:
        store = self.store_problem()
        ok = store is None and self.service is None
        return ok, {"ready": ok, "store": store or "ok", "service": self.service or "ok"}

    def store_problem(self) -> str | None:
        """None if the store answers ``SELECT 1`` now, else why not (the error's type)."""
        try:
            if self.db.startswith(POSTGRES):
                import psycopg

                with psycopg.connect(self.db, connect_timeout=int(PROBE_TIMEOUT)) as conn:
                    conn.execute("SELECT 1")
            else:
                opened = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=PROBE_TIMEOUT)
                with contextlib.closing(opened) as conn:
                    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except Exception as error:
            return f"unreachable ({type(error).__name__})"
        return None


class ProbeServer:
    """``/livez``, ``/readyz`` and ``/metrics`` served on ``host:port`` from a thread (port 0:
    a free one, then :attr:`port`); :meth:`close` stops it."""

    def __init__(
        self, health: Health, metrics: Metrics | None, port: int, host: str = "127.0.0.1"
    ) -> None:
        from http.server import ThreadingHTTPServer  # only where the port is asked for

        class Server(ThreadingHTTPServer):
            address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

        self.health, self.metrics = health, metrics
        self._server = Server((host, port), _handler(self))
        self._server.daemon_threads = True
        self.host, self.port = host, int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.1,), name="firmaio-probes", daemon=True
        )
        self._thread.start()

    def answer(self, path: str) -> tuple[int, str, bytes]:
        """The status, content type and body for ``GET path``."""
        route = path.split("?", 1)[0]
        if route in ("/livez", "/readyz"):
            ok, body = self.health.live() if route == "/livez" else self.health.ready()
            return (200 if ok else 503), "application/json", json.dumps(body).encode()
        if route == "/metrics" and self.metrics is not None:
            from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

            return 200, CONTENT_TYPE_LATEST, generate_latest(self.metrics.registry)
        return 404, "text/plain", b"firmaio: /livez, /readyz or /metrics\n"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _handler(server: ProbeServer) -> type[Any]:
    from http.server import BaseHTTPRequestHandler

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, kind, body = server.answer(self.path)
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Probes come every few seconds: nothing logged for each."""

    return Handler


def probes_url(server: ProbeServer) -> str:
    """Where ``server`` answers, as a URL (an IPv6 address in brackets)."""
    host = f"[{server.host}]" if ":" in server.host else server.host
    return f"http://{host}:{server.port}"
