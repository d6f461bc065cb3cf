"""Helpers of the webhook tests: an outbox in memory (the store's contract: ``due_events`` gives
each flow's lowest pending event only) and a receiver, in-process over ASGI, that verifies every
delivery's signature with the ``standardwebhooks`` library and answers as a test tells it."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
from standardwebhooks import Webhook

TYPE = "it.pagopa.firmaio.flow.notified"
SECRET = "whsec_" + base64.b64encode(b"a test secret of 32 bytes, fixed").decode()


@dataclass(frozen=True)
class Event:
    """A stored event, as the store's ``StoredEvent`` has it (the fields delivery reads)."""

    id: str
    flow_id: str
    seq: int
    tenant: str | None
    body: str
    status: str = "pending"
    attempts: int = 0
    next_attempt_at: float | None = None
    last_error: str | None = None


def event(flow_id: str, seq: int, tenant: str | None = None) -> Event:
    ident = f"{flow_id}/{seq}"
    body = {
        "specversion": "1.0",
        "id": ident,
        "type": TYPE,
        "subject": flow_id,
        "data": {"seq": seq},
    }
    return Event(ident, flow_id, seq, tenant, json.dumps(body))


@dataclass
class MemoryOutbox:
    """The outbox's delivery methods, in memory."""

    events: dict[str, Event] = field(default_factory=dict)
    log: list[dict[str, Any]] = field(default_factory=list)

    def add(self, *events: Event) -> None:
        for item in events:
            self.events[item.id] = item

    async def due_events(
        self, *, tenants: Sequence[str | None], now: float, limit: int
    ) -> list[Event]:
        lowest: dict[str, Event] = {}
        for item in sorted(self.events.values(), key=lambda e: e.seq):
            if item.status == "pending" and item.flow_id not in lowest:
                lowest[item.flow_id] = item
        due = [
            e for e in lowest.values()
            if e.tenant in tenants and (e.next_attempt_at is None or e.next_attempt_at <= now)
        ]  # fmt: skip
        return due[:limit]

    async def record_attempt(self, event_id: str, **attempt: Any) -> None:
        self.log.append({"event_id": event_id, **attempt})
        status = {"delivered": "delivered", "retry": "pending", "dead": "dead"}[attempt["outcome"]]
        self.events[event_id] = replace(
            self.events[event_id], status=status, attempts=attempt["attempt"],
            next_attempt_at=attempt["next_attempt_at"], last_error=attempt["error"],
        )  # fmt: skip

    def redeliver(self, ids: Sequence[str]) -> None:
        for ident in ids:
            self.events[ident] = replace(self.events[ident], status="pending", attempts=0)


@dataclass
class Receiver:
    """A receiver of deliveries: each verified with ``standardwebhooks`` under ``secret``;
    ``answer`` says the status of each (default 204); ``got`` keeps the verified bodies and
    their ``webhook-id``, ``refused`` the deliveries whose signature did not hold."""

    secret: str = SECRET
    answer: Callable[[], int] = lambda: 204
    got: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    refused: int = 0
    headers: list[dict[str, str]] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        headers = dict(request.headers)
        self.headers.append(headers)
        try:
            body = Webhook(self.secret).verify(request.content, headers)
        except Exception:
            self.refused += 1
            return httpx.Response(401)
        status = self.answer()
        if 200 <= status < 300:
            self.got.append((headers["webhook-id"], body))
        return httpx.Response(status)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)
