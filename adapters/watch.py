"""The watch: flows at rest checked through their dossier's listing, once per cycle.

A flow at rest (NOTIFIED, FALLBACK_SUGGESTED) is due for ``check_status`` every ``watch_every``
seconds. Reading each request alone costs one call per flow per interval (100,000 flows watched
hourly: 93% of a key's window). The dossier's listing (``GET /dossiers/{id}/signature-requests``)
answers 100 statuses a call, so a watch cycle groups the due flows by tenant and dossier and reads
each dossier's listing once (:class:`DossierWatch`): paging on (``limit=100``, the continuation
token) only until every flow of the group that asked is found, or to the end. Then, for each flow
(:meth:`~firmaio.fsm.driving.DurableDriver.check_with`):

* a status that changes nothing (still waiting for the signature): no record, the flow's
  last-checked time and due time in one statement;
* any other status: ``check_status`` fired with the listing's item as its answer, recorded once
  with its evidence (:func:`evidence`: what was read, and the item's ``updated_at``);
* a request the listing does not show, an item out of the documented shape
  (``SignatureRequestListView``: every required field, ids and times as the API writes them),
  a listing that fails, or no dossier known yet: that request read alone (one ``GET``), which
  also teaches a flow registered by id its dossier for the next cycle.

The listing carries no notification: ``recover_notification`` always reads the request itself.
A serve pass is one cycle; a worker's visits share one for :data:`WORKER_CYCLE` seconds.
Every call made here runs in :func:`watching`, so the key's window counts it as watch traffic
(:mod:`.watch_share`). A cycle keeps only a compact answer per listed request it has read and
no flow has taken yet, and (given the store, :data:`DueOf`) only of requests whose flow is due
in the cycle: a dossier's listing holds every request it ever had, closed ones and ones checked
already, and a cycle that kept them all grew with the dossier's history (a listing read as far
as the last flow due kept each item before it). It is dropped at the cycle's end.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncGenerator, Awaitable, Callable, Collection, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from firmaio.fsm.driving import DurableDriver, Flow
from firmaio.fsm.errors import ApiError, StoreError
from firmaio.fsm.machine import Answer, Kind, Trigger
from firmaio.fsm.ports import StoredFlow
from firmaio.fsm.trail import AuditRecord

from .client import IssuerClient
from .client.answers import bad_id, bad_status, epoch

WATCHING: ContextVar[bool] = ContextVar("firmaio_watching", default=False)
"""Set while a call is watch traffic (a listing page, a watch's single read)."""


@contextlib.contextmanager
def watching() -> Iterator[None]:
    """Calls made inside are watch traffic: they take the key's window's watch share."""
    token = WATCHING.set(True)
    try:
        yield
    finally:
        WATCHING.reset(token)


LISTING = "GET /dossiers/{id}/signature-requests"

WORKER_CYCLE = 60.0
"""Seconds a worker's watch cycle serves visits from its start (at most half ``watch_every``):
visits of one dossier's flows come together (a check served from a cycle counts from its start,
so the flows of a dossier checked in one cycle fall due together again); a later visit, or a
flow due again, starts a new cycle."""
_IDS = ("id", "signer_id", "dossier_id")
_TIMES = ("created_at", "updated_at", "expires_at")


def listed_answer(item: object, dossier_id: str) -> tuple[Answer, str] | None:
    """A listing item as ``check_status``'s answer, with its ``updated_at``: only in its
    documented shape (``SignatureRequestListView``: its ids, an upper-case status, ISO
    times, of this dossier); None: not trusted (the request is read alone)."""
    if not isinstance(item, dict):
        return None
    if any(bad_id(item.get(name), name) is not None for name in _IDS):
        return None
    if item["dossier_id"] != dossier_id or bad_status(item.get("status"), "status") is not None:
        return None
    times = [epoch(item.get(name)) for name in _TIMES]
    if any(t is None for t in times):
        return None
    answer = Answer(Kind.REQUEST, http_status=200, status=item["status"], expires_at=times[2])
    return answer, str(item["updated_at"])


def evidence(updated_at: str) -> tuple[tuple[str, str], ...]:
    """The facts a change read from the listing is recorded with."""
    return (("status.read_from", LISTING), ("status.updated_at", updated_at))


DueOf = Callable[[list[str]], Awaitable[Collection[str]]]
"""Of a listing page's request ids, those whose flow is due in the cycle (the store's
``due_requests``, by the cycle's horizon): the answers a cycle keeps."""


@runtime_checkable
class DueRequests(Protocol):
    """A store that says which requests' flows are due (``due_requests``)."""

    async def due_requests(self, request_ids: Sequence[str], *, by: float) -> set[str]: ...


def due_of(store: object, by: float) -> DueOf | None:
    """The answers a cycle whose flows are due by ``by`` keeps, as ``store`` says (None: a store
    that cannot say: every answer read is kept)."""
    if not isinstance(store, DueRequests):
        return None
    return functools.partial(_due_by, store, by)


async def _due_by(store: DueRequests, by: float, request_ids: list[str]) -> set[str]:
    return await store.due_requests(request_ids, by=by)


class DossierWatch:
    """One dossier's listing, read at most once in a watch cycle (see the module docstring):
    :meth:`find` pages on only as far as the flows that ask need; given the ``store``, only the
    answers of requests whose flow is due by ``started`` plus ``ahead`` seconds (the visits the
    cycle serves), and of those asking, are kept (:func:`due_of`)."""

    def __init__(
        self, client: IssuerClient, dossier_id: str, started: float, store: object = None,
        ahead: float = 0.0,
    ) -> None:  # fmt: skip
        self.client, self.dossier_id = client, dossier_id
        self.started = started
        """When the cycle began: what a check served from it counts as its read time."""
        self.failed: ApiError | None = None
        self._due_of = due_of(store, started + ahead)
        self._seen: dict[str, tuple[Answer, str] | None] = {}
        self._asking: set[str] = set()
        self._answered: set[str] = set()
        self._pages: AsyncGenerator[list[Any], None] | None = None
        self._ended = False
        self._lock = asyncio.Lock()

    def __len__(self) -> int:
        """Answers kept, read and not taken yet."""
        return len(self._seen)

    async def find(self, request_id: str) -> tuple[Answer, str] | None:
        """The listing's answer for ``request_id`` and its ``updated_at``, reading further
        pages only if it is not among those read; None: not listed, out of shape, or the
        listing failed (read the request alone). Each request is answered once a cycle."""
        self._asking.add(request_id)
        try:
            async with self._lock:
                while request_id not in self._seen and not self._ended:
                    await self._next()
                self._answered.add(request_id)
                return self._seen.pop(request_id, None)
        finally:
            self._asking.discard(request_id)

    def answered(self, request_id: str) -> bool:
        """Whether this cycle answered ``request_id`` already (due again: a new cycle reads it)."""
        return request_id in self._answered

    async def _next(self) -> None:
        """The listing's next page: the answers of its requests due in the cycle, or asking."""
        if self._pages is None:
            self._pages = self.client.list_dossier_pages(self.dossier_id, limit=100)
        try:
            with watching():
                page = await anext(self._pages)
        except StopAsyncIteration:
            self._ended = True
            return
        except ApiError as error:
            self._ended, self.failed = True, error
            return
        listed = {
            item["id"]: item
            for item in page
            if isinstance(item, dict) and bad_id(item.get("id"), "id") is None
        }
        kept: Collection[str] = listed.keys()
        if self._due_of is not None and listed:
            try:
                kept = {*await self._due_of(list(listed)), *self._asking}
            except StoreError:  # the store's outage is its callers' to meet: all kept meanwhile
                kept = listed.keys()
        for request_id, item in listed.items():
            if request_id in kept:
                self._seen[request_id] = listed_answer(item, self.dossier_id)

    async def aclose(self) -> None:
        """End the cycle: the listing's generator closed (once a page under way is read),
        what was read dropped; a flow that still asks is read alone."""
        async with self._lock:
            pages, self._pages, self._ended = self._pages, None, True
            self._seen.clear()
            self._answered.clear()
            if pages is not None:
                await pages.aclose()


async def end_cycles(watches: dict[Any, DossierWatch], before: float) -> None:
    """Close and drop the cycles of ``watches`` begun before ``before``, the oldest first
    (``watches`` in the order their cycles began): a worker keeps no cycle, with what it read,
    per dossier it ever watched; a dossier watched again starts a new one anyway."""
    while watches:
        key, oldest = next(iter(watches.items()))
        if oldest.started >= before:
            return
        del watches[key]
        await oldest.aclose()


def check_due(driver: DurableDriver, flow: Flow, now: float) -> bool:
    """Whether what is due on ``flow`` at ``now`` is a status check of a flow at rest (nothing
    to drive, no open intent, no later attempt): what a visit reads before the flow's lock."""
    due = driver.due(flow)
    return (
        due is not None
        and due <= now
        and flow.state not in driver.engine.steps.driven
        and driver.intent(flow) is None
        and driver.next_attempt(flow) is None
        and Trigger.CHECK_STATUS in driver.engine.allowed(flow.state)
    )


Version = tuple[int, str | None, float | None, float | None]
"""What a flow's status check depends on: its records, its open intent, its last quiet check."""


def version_of(stored: StoredFlow) -> Version:
    """``stored`` as far as a status check goes: a record, an intent or a check written since
    changes it (a reading made before is then dropped: the next visit reads again)."""
    return (len(stored.records), stored.intent, stored.intent_at, stored.checked_at)


@dataclass(frozen=True, slots=True)
class Reading:
    """A due status check's read, made before the flow's lock is taken (:func:`read_at_rest`):
    what it read (or the read's failure), when, and the evidence a change is recorded with."""

    answer: Answer | ApiError
    read_at: float
    evidence: tuple[tuple[str, str], ...] = ()
    version: Version | None = None
    """The flow's :func:`version_of` when it was read, where the reader gave it."""

    def fits(self, stored: StoredFlow) -> bool:
        """Whether ``stored`` (the flow read again, under its lock) is as it was when read:
        else the reading is dropped (the next visit reads again)."""
        return self.version is not None and self.version == version_of(stored)


async def read_at_rest(
    driver: DurableDriver, flow: Flow, watch: DossierWatch | None, stored: StoredFlow | None = None
) -> Reading:
    """A due status check's read of a flow at rest, nothing written: from ``watch``'s listing
    (its cycle's start the read's time, the item its evidence); else, or where the listing
    cannot serve it, the request read alone (watch traffic too; its failure kept, to be
    recorded). Reads are idempotent: a worker makes this one outside the flow's lock, so a
    watch call that waits for its share of the key's window holds no lock meanwhile.
    ``stored``: what ``flow`` was resumed from (the reading then :meth:`~Reading.fits` it)."""
    version = None if stored is None else version_of(stored)
    listed = None if watch is None else await watch.find(flow.request_id or flow.id)
    if watch is not None and listed is not None:
        answer, updated_at = listed
        return Reading(answer, watch.started, evidence(updated_at), version)
    started = driver.clock.now()
    try:
        with watching():
            return Reading(await driver.read_alone(flow), started, version=version)
    except ApiError as error:
        return Reading(error, started, version=version)


async def apply_reading(driver: DurableDriver, flow: Flow, reading: Reading) -> AuditRecord | None:
    """The check of ``reading`` on ``flow`` (under its lock, the flow as it was when read):
    nothing new, no record; a change, recorded once with its evidence; a failed read, its
    ERROR recorded and raised."""
    return await driver.check_with(
        flow, reading.answer, read_at=reading.read_at, evidence=reading.evidence
    )


async def check_at_rest(
    driver: DurableDriver, flow: Flow, watch: DossierWatch | None
) -> AuditRecord | None:
    """A due status check of a flow at rest: from ``watch``'s listing (its cycle's start the
    read's time, the item its evidence); else, or where the listing cannot serve it, the
    request read alone (watch traffic too). The record, if the check wrote one."""
    listed = None if watch is None else await watch.find(flow.request_id or flow.id)
    if watch is None or listed is None:
        with watching():
            return await driver.check_with(flow)
    answer, updated_at = listed
    return await driver.check_with(
        flow, answer, read_at=watch.started, evidence=evidence(updated_at)
    )


async def read_page(
    page: Sequence[StoredFlow],
    driver: DurableDriver,
    now: float,
    slots: asyncio.Semaphore,
    stopping: asyncio.Event,
    watch_of: Callable[[Flow], DossierWatch | None],
) -> dict[str, Reading]:
    """The reads of the status checks due at ``now`` among a page of resting flows, as loaded
    before their locks are taken (``firmaio serve``), ``slots`` at a time, by flow id: each from
    its dossier's listing (``watch_of``) or its request alone (:func:`read_at_rest`)."""
    readings: dict[str, Reading] = {}

    async def read(stored: StoredFlow) -> None:
        async with slots:
            if stopping.is_set():
                return
            try:
                flow = driver.resume(stored)
                if check_due(driver, flow, now):
                    readings[flow.id] = await read_at_rest(driver, flow, watch_of(flow), stored)
            finally:
                driver.forget(stored.flow_id)

    await asyncio.gather(*(read(stored) for stored in page))
    return readings
