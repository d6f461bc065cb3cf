"""Status reads served from a dossier's listing: one paged listing answers every flow that asked.

While many flows of one dossier wait for activation, reading each request once per poll costs
one call per flow per poll. :class:`DossierStatusReader` collects the reads that arrive within a
short window and answers them all from ``GET /dossiers/{id}/signature-requests`` (100 requests a
page), stopping at the last page it needs. A request the listing does not show (another dossier)
is read on its own, and so is one the listing shows without a usable status (an answer out of
its shape is not taken). The listing carries the status only, no notification: the driver uses
this reader for ``check_activation`` and ``check_status``, never for ``recover_notification``.
"""

from __future__ import annotations

import asyncio
from contextlib import aclosing
from typing import Any

from firmaio.fsm.errors import ApiError
from firmaio.fsm.ids import check_request_id
from firmaio.fsm.machine import Answer, Kind

from .client import IssuerClient
from .client.answers import bad_status, epoch


class DossierStatusReader:
    """A :class:`fsm.ports.StatusReader` over one dossier's listing."""

    def __init__(self, client: IssuerClient, dossier_id: str, *, window: float = 0.05) -> None:
        self.client = client
        self.dossier_id = check_request_id(dossier_id)
        self.window = window
        self.listings = 0
        """Listing passes made (each may span several pages)."""
        self._waiting: dict[str, list[asyncio.Future[Answer]]] = {}
        self._round: asyncio.Task[None] | None = None

    async def read_status(self, request_id: str) -> Answer:
        """The request's status, from the next listing pass."""
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(check_request_id(request_id), []).append(future)
        if self._round is None:
            self._round = asyncio.create_task(self._pass())
        return await future

    async def _pass(self) -> None:
        await asyncio.sleep(self.window)  # let the other flows ask too
        waiting, self._waiting = self._waiting, {}
        try:
            await self._answer(waiting)
        finally:
            self._round = asyncio.create_task(self._pass()) if self._waiting else None

    async def _answer(self, waiting: dict[str, list[asyncio.Future[Answer]]]) -> None:
        self.listings += 1
        found: dict[str, Any] = {}
        try:
            pages = self.client.list_dossier_requests(self.dossier_id, limit=100)
            async with aclosing(pages) as items:
                async for item in items:
                    if isinstance(item, dict) and item.get("id") in waiting:
                        found[item["id"]] = item
                        if len(found) == len(waiting):
                            break
        except ApiError as error:
            for futures in waiting.values():
                _settle(futures, error)
            return
        for request_id, futures in waiting.items():
            hit = found.get(request_id)
            if hit is not None and bad_status(hit.get("status"), "status") is None:
                expires_at = epoch(hit.get("expires_at"))
                read = Answer(
                    Kind.REQUEST,
                    status=str(hit["status"]),
                    expires_at=expires_at,
                    facts=(("dossier_id", self.dossier_id),),  # as the request's own read
                )
                _settle(futures, read)
                continue
            try:
                _settle(futures, await self.client.get_request(request_id))
            except ApiError as error:
                _settle(futures, error)


def _settle(futures: list[asyncio.Future[Answer]], outcome: Answer | ApiError) -> None:
    for future in futures:
        if future.done():
            continue
        if isinstance(outcome, ApiError):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
