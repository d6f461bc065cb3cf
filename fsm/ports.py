"""The ports: what the core needs from the outside world, as small Protocols.

``fsm`` imports no adapter: it is handed objects that fit these shapes. ``fsm.testing`` has
fakes for tests; ``adapters`` has the real issuer-API client.
"""

from __future__ import annotations

from typing import Protocol

from fsm.answers import Answer


class SignatureApi(Protocol):
    """The three calls of the Firma con IO issuer API a flow makes.

    Every answer the API gives on purpose comes back as an :class:`Answer`; when no usable answer
    can be had, the call raises an :class:`fsm.errors.ApiError`. An implementation must never send
    a second IO message for one request: when the outcome of a notification is unknown, it reads
    the request before sending again.
    """

    async def get_request(self, request_id: str) -> Answer:
        """``GET /signature-requests/{id}``: an ``Answer`` of kind REQUEST or NOT_FOUND."""
        ...

    async def send_notification(self, request_id: str) -> Answer:
        """``PUT /signature-requests/{id}/notification`` with an empty body."""
        ...

    async def cancel_request(self, request_id: str) -> Answer:
        """``PUT /signature-requests/{id}/status`` with ``"CANCELLED"``."""
        ...


class Clock(Protocol):
    """Time, injected so that tests never sleep for real."""

    def now(self) -> float:
        """Seconds since the epoch."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""
        ...
