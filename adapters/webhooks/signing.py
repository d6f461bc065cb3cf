"""Signing a delivery as the Standard Webhooks specification says, with its library.

Each delivery is a POST whose body is the event's CloudEvent, as JSON (CloudEvents' structured
mode: ``content-type: application/cloudevents+json``), with three headers:

- ``webhook-id``: the event's id, the same on every attempt (a receiver drops a duplicate by it);
- ``webhook-timestamp``: when this attempt was signed, in whole seconds since the epoch;
- ``webhook-signature``: ``v1,`` and the base64 HMAC-SHA256, under the tenant's secret, of
  ``<webhook-id>.<webhook-timestamp>.<body>``.

The signature is made by :class:`standardwebhooks.Webhook`, never by code of ours.
"""

from __future__ import annotations

import datetime

from standardwebhooks import Webhook

CONTENT_TYPE = "application/cloudevents+json"
"""The body's content type: one CloudEvent in JSON (structured mode)."""


class Signer:
    """Signs the deliveries of one tenant's webhook with its secret (``whsec_...``)."""

    def __init__(self, secret: str) -> None:
        self._webhook = Webhook(secret)

    def __repr__(self) -> str:
        return "Signer(<secret>)"

    def headers(self, event_id: str, body: bytes, at: float) -> dict[str, str]:
        """The headers of one attempt at ``event_id`` with ``body``, signed at ``at`` (epoch
        seconds)."""
        when = datetime.datetime.fromtimestamp(int(at), tz=datetime.UTC)
        return {
            "webhook-id": event_id,
            "webhook-timestamp": str(int(at)),
            "webhook-signature": self._webhook.sign(event_id, when, body),
            "content-type": CONTENT_TYPE,
        }
