"""Delivering the outbox's events to each tenant's webhook: at least once, in order per flow.

A :class:`Deliverer` reads the events due (the store's ``due_events``: pending, due by now, and
for each flow only its lowest pending one, so a flow's events arrive in order) and posts them,
signed (:mod:`.signing`), to their tenant's URL, many flows at once up to ``concurrency``. Each
attempt is logged in the store (``record_attempt``: time, status, latency, error). A 2xx answer
delivers the event; any other answer, no answer within :data:`~.config.TIMEOUT` seconds, or a
connection refused retries it after its target's next wait (with jitter); after the last
attempt the event is **dead**, with the reason, until someone redelivers it.

Delivery runs beside the flows' driving, never inside a step: a receiver that is down or slow
holds up only its own events. ``firmaio worker`` runs it as a job of the queue per tenant
(:mod:`firmaio.adapters.queue.jobs`), ``firmaio serve`` as a loop beside its passes
(:meth:`Deliverer.run`). The secret and the URL's credentials never reach a log, an error or
the delivery log: an attempt's error is our own words (``HTTP 500``, ``no answer within 5 s``).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable, Collection, Sequence
from typing import Literal, Protocol

import httpx

from firmaio.adapters.client.transport import KEEPALIVE_EXPIRY
from firmaio.fsm.errors import StoreError
from firmaio.fsm.logs import get_logger
from firmaio.fsm.ports import Clock

from ..client.limits import closed
from ..tenants import DEFAULT_TENANT
from .config import JITTER, TIMEOUT, WebhookTarget
from .signing import Signer

Outcome = Literal["delivered", "retry", "dead"]


class DueEvent(Protocol):
    """What delivery reads of a stored event (the store's ``StoredEvent``)."""

    @property
    def id(self) -> str: ...
    @property
    def tenant(self) -> str | None: ...
    @property
    def body(self) -> str: ...
    @property
    def attempts(self) -> int: ...


class Outbox(Protocol):
    """The store's outbox, as delivery uses it (the async store has these)."""

    async def due_events(
        self, *, tenants: Sequence[str | None], now: float, limit: int
    ) -> Sequence[DueEvent]: ...

    async def record_attempt(
        self,
        event_id: str,
        *,
        attempt: int,
        at: float,
        status_code: int | None,
        latency_ms: float,
        error: str | None,
        outcome: Outcome,
        next_attempt_at: float | None,
    ) -> None: ...


CONCURRENCY = 32
"""Deliveries under way at once (each to a different flow's receiver, or the same one)."""
BATCH = 500
"""Events read per pass (one per flow)."""
ANSWER_READ = 64 * 1024
"""Bytes of a receiver's answer read at most (its body means nothing to delivery)."""


def stored_tenant(name: str) -> str | None:
    """How a tenant's flows name it in the store: the default tenant's as None."""
    return None if name == DEFAULT_TENANT else name


class Deliverer:
    """Delivers the due events of ``targets``' tenants from ``outbox`` (see the module
    docstring). Every target's secret is read when the deliverer is made: a missing or
    malformed one fails here, before anything is sent. ``clock`` schedules retries (a test's
    fake clock); ``wall`` stamps the signatures (real time: receivers check it)."""

    def __init__(
        self,
        outbox: Outbox,
        targets: Collection[WebhookTarget],
        *,
        clock: Clock,
        concurrency: int = CONCURRENCY,
        batch: int = BATCH,
        transport: httpx.AsyncBaseTransport | None = None,
        rng: random.Random | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.outbox, self.clock, self.batch, self.wall = outbox, clock, batch, wall
        self.targets = {stored_tenant(t.tenant): (t, Signer(t.secret())) for t in targets}
        self._slots = asyncio.Semaphore(concurrency)
        self._rng = rng or random.Random()
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(TIMEOUT),
            follow_redirects=False,  # a redirect is an answer that is not 2xx: retried
            transport=transport,
            # an idle connection let go before a receiver that closes one at 5 s would: a
            # delivery sent as it closed would lose its answer (retried, but needlessly)
            limits=httpx.Limits(
                max_connections=concurrency,
                max_keepalive_connections=concurrency,
                keepalive_expiry=KEEPALIVE_EXPIRY,
            ),
            headers={"user-agent": "firmaio-fsm webhooks"},
        )
        self._log = get_logger("firmaio.adapters.webhooks")

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Deliverer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def deliver_due(self, tenants: Collection[str] | None = None) -> int:
        """One pass: every event due now (of ``tenants``, by name; None: every target's),
        one per flow, attempted once. How many were attempted."""
        stored = [
            tenant
            for tenant in self.targets
            if tenants is None or (tenant or DEFAULT_TENANT) in tenants
        ]
        if not stored:
            return 0
        due = await self.outbox.due_events(tenants=stored, now=self.clock.now(), limit=self.batch)
        await asyncio.gather(*(self._attempt(event) for event in due))
        return len(due)

    async def drain(
        self,
        tenants: Collection[str] | None = None,
        *,
        budget: float = 10.0,
        stopping: Callable[[], bool] = lambda: False,
    ) -> int:
        """Passes until nothing is due, ``stopping()`` or ``budget`` seconds spent. How many
        attempts were made."""
        loop = asyncio.get_running_loop()
        until, made = loop.time() + budget, 0
        while not stopping() and loop.time() < until:
            attempted = await self.deliver_due(tenants)
            made += attempted
            if not attempted:
                break
        return made

    async def run(self, stopping: asyncio.Event, *, every: float = 1.0) -> None:
        """Drain every ``every`` seconds until ``stopping`` is set (``firmaio serve``'s loop).
        A store that cannot be reached is tried again at the next round: an event whose attempt
        was not logged is still pending, and is sent again (at least once)."""
        while not stopping.is_set():
            try:
                await self.drain(stopping=stopping.is_set)
            except StoreError as error:
                self._log.warning("firmaio.webhooks.store_unavailable", error=str(error))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), every)

    async def _attempt(self, event: DueEvent) -> None:
        async with self._slots:
            target, signer = self.targets[event.tenant]
            body = event.body.encode()
            headers = signer.headers(event.id, body, self.wall())
            started = time.perf_counter()
            status, why = await self._post(target.url, body, headers)
            latency_ms = (time.perf_counter() - started) * 1000
        attempt, now = event.attempts + 1, self.clock.now()
        outcome: Outcome
        error: str | None = why
        if status is not None and 200 <= status < 300:
            outcome, error, next_at = "delivered", None, None
        elif attempt >= target.attempts:
            outcome, next_at = "dead", None
            error = f"{why}; attempt {attempt} of {target.attempts}: given up"
        else:
            outcome, next_at = "retry", now + self._wait(target.retries[attempt - 1])
        await self.outbox.record_attempt(
            event.id, attempt=attempt, at=now, status_code=status, latency_ms=latency_ms,
            error=error, outcome=outcome, next_attempt_at=next_at,
        )  # fmt: skip
        self._log.info(
            "firmaio.webhooks.attempt", event_id=event.id, attempt=attempt, outcome=outcome,
            status_code=status, latency_ms=round(latency_ms, 1),
        )  # fmt: skip

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
        """The receiver's status (None: no answer) and, for anything but a 2xx, why in our own
        words (never the URL). An answer's body of up to :data:`ANSWER_READ` bytes is read (so its
        connection serves the next delivery) and dropped; a longer one is not read."""
        try:
            async with asyncio.timeout(TIMEOUT):
                request = self._http.build_request("POST", url, content=body, headers=headers)
                response = await self._http.send(request, stream=True)
                try:
                    length = response.headers.get("content-length", "")
                    if length.isdigit() and int(length) <= ANSWER_READ:
                        await response.aread()  # else its connection is closed, not kept
                finally:
                    await closed(response)
        except (TimeoutError, httpx.TimeoutException):
            return None, f"no answer within {TIMEOUT:g} s"
        except httpx.ConnectError:
            return None, "could not connect to the receiver"
        except httpx.HTTPError as error:
            return None, f"the receiver's answer could not be read ({type(error).__name__})"
        return response.status_code, f"HTTP {response.status_code}"

    def _wait(self, nominal: float) -> float:
        """``nominal`` seconds, give or take :data:`JITTER` of it."""
        return nominal * self._rng.uniform(1 - JITTER, 1 + JITTER)
