"""The outbox against the sandbox: a flow from a PDF to its signed document fetched, driven by a
durable driver on SQLite and PostgreSQL, leaves one CloudEvent per record, in order, with the
request's id and none of the sandbox's secrets (the citizen's fiscal code, the API key, the
upload and download URLs)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from firmaio.adapters.client import IssuerSetup
from firmaio.adapters.pytest_plugin import AsgiSandbox
from firmaio.adapters.store import open_async_store
from firmaio.fsm import DurableDriver
from firmaio.fsm.machine.states import State, Trigger
from firmaio.fsm.testing import ManualClock
from tests.conftest import FAST_RETRY
from tests.http.test_send import order
from tests.sandbox_helpers import fiscal_code

FLOW = "01JOUTBOXFLOW0000000000001"


def test_a_flow_from_a_pdf_to_its_signed_file_leaves_one_clean_event_per_record(
    asgi: AsgiSandbox, clock: ManualClock, db: str, tmp_path: Path
) -> None:
    code = fiscal_code()

    async def main() -> None:
        store = open_async_store(db)
        try:
            async with asgi.client(retry=FAST_RETRY) as client:
                setup = IssuerSetup(client, tmp_path / "signed")
                driver = DurableDriver(client, clock, store, setup=setup, recovery_grace=0.0)
                flow = await driver.open(FLOW, order=order(code), tenant="comune-a")
                assert await driver.advance(flow) is State.NOTIFIED
                assert flow.request_id is not None
                asgi.issuer.close(flow.request_id, "SIGNED")
                await driver.step(flow, Trigger.CHECK_STATUS)
                await driver.fetch_documents(flow)
                events = await store.events(limit=1000)
                links = await store.links(FLOW)
        finally:
            await store.close()

        assert [(e.flow_id, e.seq) for e in events] == [(FLOW, link.seq) for link in links]
        assert len({e.id for e in events}) == len(links)
        types = [e.type.removeprefix("it.pagopa.firmaio.") for e in events]
        assert types[0] == "flow.signer_found"
        assert "flow.notified" in types
        assert types[-2:] == ["flow.signed", "documents.fetched"]
        request_id = flow.request_id
        secrets = [code, "sandbox-key", "://", "sig=", "se="]
        for event in events:
            parsed = JSONFormat().read(CloudEvent, event.body.encode())
            assert parsed.get_subject() == FLOW
            found = [s for s in secrets if s in event.body]
            assert not found, f"{event.type} carries {found}"
        data = json.loads(events[-1].body)["data"]
        assert data["tenant"] == "comune-a"
        assert data["request_id"] == request_id
        facts = data["evidence"]["facts"]
        assert any(k.endswith(".sha256") for k in facts), facts
        first = json.loads(events[0].body)["data"]
        assert first["request_id"] is None, "the request is made later"
        assert "facts" not in first["evidence"] or not any(
            k.startswith("order.") for k in first["evidence"]["facts"]
        )

    asyncio.run(main())
