"""From a PDF to a signed document against the sandbox: the issuer's set-up as audited steps,
each refusal of the PDF, the expired upload URL, the validation that never ends, and the signed
document's download (and its refusal when its type or size is wrong).

The whole way to a signed document and the refused downloads go over real HTTP (loopback); the
other cases reach the sandbox's app in-process (httpx's ASGI transport) on the test's clock, so
a validation deadline passes as the driver sleeps, at once."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from firmaio.adapters.cli.demo import sample_pdf
from firmaio.adapters.client import DownloadRefused, IssuerClient, IssuerSetup, order_from_pdf
from firmaio.adapters.clock import SystemClock
from firmaio.adapters.pytest_plugin import AsgiSandbox
from firmaio.adapters.sandbox import SAMPLE_PDF_FIELDS, Sandbox
from firmaio.fsm import Driver
from firmaio.fsm.errors import InvalidInput
from firmaio.fsm.machine.order import Order
from firmaio.fsm.machine.states import State, Trigger
from firmaio.fsm.testing import ManualClock
from firmaio.fsm.trail.record import Outcome
from tests.conftest import FAST_RETRY
from tests.sandbox_helpers import SET_UP_TRIGGERS, AnySandbox, fault, fiscal_code

SET_UP = SET_UP_TRIGGERS


Body = Callable[[Driver], Awaitable[None]]


@pytest.fixture
def over_http(sandbox: Sandbox, tmp_path: Path) -> Callable[[Body], None]:
    """Runs a test's body with a driver over loopback HTTP (its own event loop, its own
    client)."""

    def run(body: Body) -> None:
        async def main() -> None:
            async with IssuerClient("sandbox-key", base_url=sandbox.url, retry=FAST_RETRY) as c:
                await body(Driver(c, SystemClock(), setup=IssuerSetup(c, tmp_path / "signed")))

        asyncio.run(main())

    return run


@pytest.fixture
def with_driver(asgi: AsgiSandbox, clock: ManualClock, tmp_path: Path) -> Callable[[Body], None]:
    """Runs a test's body with a driver on the test's clock whose client reaches the sandbox
    in-process (its own event loop, its own client)."""

    def run(body: Body) -> None:
        async def main() -> None:
            async with asgi.client(retry=FAST_RETRY) as c:
                await body(Driver(c, clock, setup=IssuerSetup(c, tmp_path / "signed")))

        asyncio.run(main())

    return run


def order(code: str, fields: Any = None, **values: Any) -> Order:
    return order_from_pdf(
        sample_pdf(),
        fields=tuple(fields if fields is not None else SAMPLE_PDF_FIELDS),
        document_title="Modulo di adesione",
        dossier_title="richiesta di firma di prova",
        **values,
    ).with_fiscal_code(code)


def requests_of(sandbox: AnySandbox, code: str) -> list[Any]:
    """The sandbox's requests for the citizen with ``code``."""
    signer = sandbox.issuer.get_signer(sandbox.issuer.keys["sandbox-key"], {"fiscal_code": code})
    return [r for r in sandbox.issuer.requests.values() if r.signer_id == signer["id"]]


def trail_text(driver_flow: Any) -> str:
    return json.dumps([r.as_event_dict() for r in driver_flow.history])


def test_a_pdf_goes_to_notified_then_its_signed_document_is_fetched(
    sandbox: Sandbox, over_http: Callable[[Body], None], tmp_path: Path
) -> None:
    """Every set-up step is one call and one record; the request is made and uploaded once; the
    citizen gets one message; the signed file's SHA-256 is recorded and matches the file."""

    async def body(setup_driver: Driver) -> None:
        code = fiscal_code()
        flow = setup_driver.new_order_flow("01JSENDFLOW0000000000000001", order(code))
        assert await setup_driver.advance(flow) is State.NOTIFIED
        fired = [r.trigger for r in flow.history]
        assert [t for t in dict.fromkeys(fired) if t in SET_UP] == SET_UP
        assert all(r.outcome is Outcome.ACCEPTED for r in flow.history)
        [request] = requests_of(sandbox, code)
        assert flow.request_id == request.id
        assert flow.id != request.id
        assert sandbox.issuer.uploads_received(request.id) == 1
        assert sandbox.issuer.messages_sent(request.id) == 1
        first = dict(flow.history[0].facts or ())
        assert first["order.pdf_sha256"] == hashlib.sha256(sample_pdf().read_bytes()).hexdigest()
        assert code not in trail_text(flow)  # the fiscal code is never recorded

        sandbox.issuer.close(request.id, "SIGNED")
        await setup_driver.step(flow, Trigger.CHECK_STATUS)
        record = await setup_driver.fetch_documents(flow)
        assert flow.state is State.SIGNED
        facts = dict(record.facts or ())
        [document] = request.documents
        path = Path(facts[f"signed.{document.id}.file"])
        body = path.read_bytes()
        assert path.parent == tmp_path / "signed" / request.id
        assert body.startswith(b"%PDF")
        assert body != sample_pdf().read_bytes()
        assert facts[f"signed.{document.id}.sha256"] == hashlib.sha256(body).hexdigest()
        assert facts[f"signed.{document.id}.size"] == str(len(body))

    over_http(body)


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        (
            [
                {
                    "attrs": {"unique_name": "firma_assente"},
                    "clause": {"title": "Firma assente", "type": "REQUIRED"},
                }
            ],
            'the field "firma_assente" was not found',
        ),
        (
            [
                {
                    "attrs": {
                        "coordinates": {"x": 500, "y": 800},
                        "page": 0,
                        "size": {"w": 200, "h": 100},
                    },
                    "clause": {"title": "Fuori pagina", "type": "REQUIRED"},
                }
            ],
            "(Fuori pagina) incompatible coordinates",
        ),
        (
            [
                {
                    "attrs": {
                        "coordinates": {"x": 10, "y": 10},
                        "page": 7,
                        "size": {"w": 20, "h": 10},
                    },
                    "clause": {"title": "Pagina otto", "type": "REQUIRED"},
                }
            ],
            "(Pagina otto)",
        ),
    ],
    ids=["missing-field", "off-the-page", "no-such-page"],
)
def test_each_refusal_of_the_pdf_ends_the_flow_before_anything_is_made(
    asgi: AsgiSandbox, with_driver: Callable[[Body], None], fields: Any, said: str
) -> None:
    """validate-document refuses: DOCUMENT_REFUSED with the service's own words; no dossier,
    no request, no upload."""

    async def body(setup_driver: Driver) -> None:
        code = fiscal_code()
        dossiers = len(asgi.issuer.dossiers)
        flow = setup_driver.new_order_flow("01JSENDREFUSED000000000001", order(code, fields))
        assert await setup_driver.advance(flow) is State.DOCUMENT_REFUSED
        assert flow.history[-1].trigger == "check_document"
        assert said in (flow.history[-1].reason or "")
        assert requests_of(asgi, code) == []
        assert len(asgi.issuer.dossiers) == dossiers

    with_driver(body)


def test_a_file_that_is_not_a_pdf_is_refused_before_any_call(tmp_path: Path) -> None:
    text = tmp_path / "not.pdf"
    text.write_text("hello")
    with pytest.raises(InvalidInput, match="not a PDF"):
        order_from_pdf(
            text, fields=tuple(SAMPLE_PDF_FIELDS), document_title="Modulo", dossier_title="prova"
        )


def test_a_citizen_without_io_profile_fails_with_the_reason(
    asgi: AsgiSandbox, with_driver: Callable[[Body], None]
) -> None:

    async def body(setup_driver: Driver) -> None:
        code = fiscal_code()
        asgi.issuer.add_citizen(code, has_profile=False)
        flow = setup_driver.new_order_flow("01JSENDNOPROFILE0000000001", order(code))
        assert await setup_driver.advance(flow) is State.FAILED
        assert "no IO profile" in (flow.failure or "")
        assert code not in trail_text(flow)

    with_driver(body)


def test_a_refused_upload_url_is_replaced_and_the_pdf_uploaded_once(
    asgi: AsgiSandbox, with_driver: Callable[[Body], None]
) -> None:
    """The blob store refuses the URL (403 AuthenticationFailed, as for an expired SAS): the
    flow asks for a new URL, uploads once, and goes on."""

    async def body(setup_driver: Driver) -> None:
        code = fiscal_code()
        fault(asgi, "uploadDocument", "status", status=403)
        flow = setup_driver.new_order_flow("01JSENDEXPIREDURL000000001", order(code))
        assert await setup_driver.advance(flow) is State.NOTIFIED
        uploads = [r for r in flow.history if r.trigger == "upload_document"]
        assert [r.guard for r in uploads] == ["upload_url_expired", "document_was_uploaded"]
        assert [r.trigger for r in flow.history].count("get_upload_url") == 2
        [request] = requests_of(asgi, code)
        assert asgi.issuer.uploads_received(request.id) == 1

    with_driver(body)


def test_a_validation_that_never_ends_fails_at_the_flows_own_deadline(
    asgi: AsgiSandbox, with_driver: Callable[[Body], None]
) -> None:

    async def body(setup_driver: Driver) -> None:
        code = fiscal_code()
        asgi.issuer.validation_hangs = True
        try:
            flow = setup_driver.new_order_flow(
                "01JSENDVALIDATIONHANG0001", order(code, validation_timeout=1.0)
            )
            assert await setup_driver.advance(flow) is State.FAILED
        finally:
            asgi.issuer.validation_hangs = False
        assert flow.history[-1].guard == "validation_deadline_passed"
        assert "validation deadline" in (flow.failure or "")

    with_driver(body)


@pytest.mark.parametrize("kind", ["malformed", "truncated"])
def test_a_signed_download_of_the_wrong_type_or_size_is_refused(
    sandbox: Sandbox, over_http: Callable[[Body], None], tmp_path: Path, kind: str
) -> None:
    """Nothing is written, the flow stays SIGNED, the attempt is an ERROR record; a later fetch
    succeeds."""

    async def body(setup_driver: Driver) -> None:
        code = fiscal_code()
        flow = setup_driver.new_order_flow(f"01JSENDDOWNLOAD{kind.upper():0<11}"[:26], order(code))
        assert await setup_driver.advance(flow) is State.NOTIFIED
        sandbox.issuer.close(flow.request_id or "", "SIGNED")
        await setup_driver.step(flow, Trigger.CHECK_STATUS)
        fault(sandbox, "downloadDocument", kind)
        with pytest.raises(DownloadRefused, match="nothing was written"):
            await setup_driver.fetch_documents(flow)
        assert flow.state is State.SIGNED
        assert flow.history[-1].outcome is Outcome.ERROR
        assert not (tmp_path / "signed").exists() or not any((tmp_path / "signed").rglob("*.pdf"))
        record = await setup_driver.fetch_documents(flow)
        assert record.outcome is Outcome.ACCEPTED

    over_http(body)


def test_the_fallbacks_delivery_is_recorded_with_its_channel(
    asgi: AsgiSandbox, with_driver: Callable[[Body], None]
) -> None:

    async def body(setup_driver: Driver) -> None:
        code = fiscal_code("X")  # messages off
        flow = setup_driver.new_order_flow("01JSENDDELIVERED0000000001", order(code))
        assert await setup_driver.advance(flow) is State.FALLBACK_SUGGESTED
        assert flow.fallback is not None
        assert flow.fallback.signature_request_id == flow.request_id
        before = len(flow.history)
        with pytest.raises(InvalidInput, match="channel"):
            await setup_driver.deliver_fallback(flow, "Raccomandata A/R")
        assert len(flow.history) == before  # a bad channel changes nothing
        assert await setup_driver.deliver_fallback(flow, "letter", "raccomandata") is (
            State.FALLBACK_SUGGESTED
        )
        assert dict(flow.history[-1].facts or ()) == {"channel": "letter", "note": "raccomandata"}

    with_driver(body)
