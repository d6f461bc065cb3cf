"""The library for callers without an event loop: a Celery task, a Django view, a thread pool.

:class:`Firmaio` runs one event loop in a background thread and hands every call to it, so one
client (its connection pool, its rate window) and one store serve every thread of the process:

    with Firmaio(api_key, db="flows.sqlite") as firmaio:   # once, at start-up
        flow = firmaio.notify(request_id)                   # from any thread
        report = firmaio.run(request_ids)                   # a batch

Each call blocks its caller until the flow is at rest (or ``timeout`` passes) and returns the
flow (or the batch's report). Errors are the library's own (:mod:`firmaio.fsm.errors`), raised in
the calling thread. A ``timeout`` never cancels work under way (a notification cut off mid-call
could have been sent): the work goes on, and a second call for the same request, from any
thread, waits for that same work instead of starting another. :meth:`Firmaio.close` waits for
the work under way. Why not ``asyncio.run`` around each call: an ``IssuerClient`` belongs to the
event loop it first ran in, and a second ``asyncio.run`` closes that loop under it ("Event loop is
closed").
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import warnings
from collections.abc import Coroutine, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any, Self, TypeVar

from ulid import ULID

from firmaio.fsm.driving import Flow, Hooks
from firmaio.fsm.errors import InvalidInput
from firmaio.fsm.ports import StepTracer

from .embedded import AsyncFirmaio, Field
from .runner import RunReport
from .settings import Settings

T = TypeVar("T")


class Firmaio:
    """Notify requests and drive batches from plain threads (see the module docstring).

    ``db`` keeps flows in a store (a SQLite file or a ``postgresql://`` URL): resumable, and
    required by :meth:`run`. Making one checks the base URL and the key with one call
    (:func:`~firmaio.adapters.client.check_settings`): a wrong one raises
    :class:`~firmaio.fsm.errors.ApiConfigurationError` naming it, before any flow is touched.
    ``settings`` (:class:`~firmaio.adapters.settings.Settings`: the base
    URL, the retry, polling and resend policies...) are what the client and the drivers are built
    from; their ``actor`` (default: the user running it, ``USER (Firmaio)``) is named by the
    records of :meth:`notify` and :meth:`cancel`. ``hooks`` are called in the background thread,
    after each record.
    """

    def __init__(
        self,
        api_key: str,
        *,
        db: str | None = None,
        settings: Settings | None = None,
        hooks: Hooks | None = None,
        tracer: StepTracer | None = None,
    ) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="firmaio-loop", daemon=True
        )
        self._thread.start()
        self._closed = False
        self._lock = threading.RLock()  # a done callback may run at once, under it
        self._inflight: dict[tuple[str, str], Future[Any]] = {}
        """Work under way, by (operation, request id): a second call joins it."""
        self._running: set[Future[Any]] = set()
        """Every piece of work under way, which :meth:`close` waits for."""

        async def start() -> AsyncFirmaio:
            return await AsyncFirmaio.open(
                api_key, db=db, settings=settings, hooks=hooks, tracer=tracer,
                actor_suffix="Firmaio",
            )  # fmt: skip

        try:
            self.api = self._wait(start(), None)
        except BaseException:
            self._stop()
            raise
        self.factory, self.client, self.store = self.api.factory, self.api.client, self.api.store
        self.settings, self.hooks = self.factory.settings, self.factory.hooks

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _wait(
        self,
        work: Coroutine[Any, Any, T],
        timeout: float | None,
        key: tuple[str, str] | None = None,
    ) -> T:
        if threading.current_thread() is self._thread:
            work.close()
            raise InvalidInput("Firmaio's methods block: call them from your threads, not a hook")
        if _in_running_loop():
            warnings.warn(
                "Firmaio blocks until the flow rests, and this thread runs an event loop: every "
                "other task of the loop waits meanwhile; await AsyncFirmaio's methods instead "
                "(firmaio.adapters.AsyncFirmaio)",
                RuntimeWarning,
                stacklevel=3,
            )
        with self._lock:
            if self._closed:
                work.close()
                raise InvalidInput("this Firmaio is closed")
            future = self._inflight.get(key) if key is not None else None
            if future is None:
                future = asyncio.run_coroutine_threadsafe(work, self._loop)
                self._running.add(future)
                future.add_done_callback(self._running.discard)
                if key is not None:
                    self._inflight[key] = future
                    future.add_done_callback(lambda _done: self._finished(key))
            else:
                work.close()  # the same request is under way: wait for that work
        try:
            result: T = future.result(timeout)
        except FutureTimeout:
            raise TimeoutError(
                f"no result within {timeout} s; the work goes on (a call cut off could have "
                "sent a message): call again to wait for it"
            ) from None
        return result

    def _finished(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._inflight.pop(key, None)

    def send(
        self,
        pdf: str | Path,
        fiscal_code: str,
        *,
        fields: Sequence[Field],
        flow_id: str | None = None,
        timeout: float | None = None,
        **values: Any,
    ) -> Flow:
        """A PDF to NOTIFIED or FALLBACK_SUGGESTED through the issuer's set-up, as ``firmaio
        send`` (:meth:`AsyncFirmaio.send`); ``flow_id`` (default: a new ULID) resumes a stored
        flow. The fiscal code is held in memory only."""
        flow_id = flow_id or str(ULID())
        work = self.api.send(pdf, fiscal_code, fields=fields, flow_id=flow_id, **values)
        return self._wait(work, timeout, ("send", flow_id))

    def notify(self, request_id: str, *, timeout: float | None = None) -> Flow:
        """Take one request to rest: wait for activation, notify, or offer the fallback."""
        return self._wait(self.api.notify(request_id), timeout, ("notify", request_id))

    def cancel(
        self,
        flow_id: str | None = None,
        *,
        timeout: float | None = None,
        request_id: str | None = None,
    ) -> Flow:
        """Cancel a flow's request (possible once it is WAIT_FOR_SIGNATURE). ``request_id=``
        is the parameter's former name: deprecated, it warns and still works."""
        if request_id is not None:
            warnings.warn(
                "Firmaio.cancel(request_id=...) is deprecated: the parameter is flow_id",
                DeprecationWarning,
                stacklevel=2,
            )
            flow_id = request_id if flow_id is None else flow_id
        if flow_id is None:
            raise TypeError("Firmaio.cancel() needs the flow's id (flow_id)")
        return self._wait(self.api.cancel(flow_id), timeout, ("cancel", flow_id))

    def fetch(self, flow_id: str, *, timeout: float | None = None) -> Flow:
        """A stored flow's signed documents, downloaded once it is SIGNED
        (:meth:`AsyncFirmaio.fetch`); a flow not SIGNED comes back as it is."""
        return self._wait(self.api.fetch(flow_id), timeout, ("fetch", flow_id))

    def delivered(
        self, flow_id: str, channel: str, note: str | None = None, *, timeout: float | None = None
    ) -> Flow:
        """Record that the fallback reached the citizen through ``channel``; needs a store."""
        return self._wait(self.api.delivered(flow_id, channel, note), timeout)

    def run(
        self,
        request_ids: Sequence[str],
        *,
        concurrency: int = 20,
        timeout: float | None = None,
        **options: Any,
    ) -> RunReport:
        """Drive many requests to rest, as ``firmaio run`` does; needs a store (``db``).
        ``options`` change fields of the settings for this run (``worker=``, ``tenant=``)."""
        return self._wait(self.api.run(request_ids, concurrency=concurrency, **options), timeout)

    def check(self, flow_ids: Sequence[str], *, timeout: float | None = None) -> int:
        """Ask for a status read now of stored flows (a webhook, an operator, a case-management
        system said something changed): the running ``firmaio serve`` or workers make it, and
        the read decides; only ids are taken. Ids the store does not hold are refused
        (:class:`InvalidInput`, naming them), nothing asked. Needs a store (``db``). How many
        flows were asked for."""
        return self._wait(self.api.check(flow_ids), timeout)

    def close(self) -> None:
        """Refuse new work, wait for the work under way, close the client and the store, then
        stop the background thread. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            running = list(self._running)
        for future in running:
            with contextlib.suppress(Exception):
                future.result()

        try:
            asyncio.run_coroutine_threadsafe(self.api.close(), self._loop).result(30)
        finally:
            self._stop()

    def _stop(self) -> None:
        self._closed = True
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()


def _in_running_loop() -> bool:
    """Whether the calling thread runs an event loop (a coroutine called the facade)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
