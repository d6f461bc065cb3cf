"""The set-up against a service that misbehaves or is misused: collisions, lost answers, passing
and lasting blob-store failures, personal data in a file name, commands given a wrong id."""

from __future__ import annotations

import asyncio
import io
import json
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from firmaio.adapters.cli import main
from firmaio.adapters.cli.demo import sample_pdf
from firmaio.adapters.client import IssuerClient, IssuerSetup, order_from_pdf
from firmaio.adapters.clock import SystemClock
from firmaio.adapters.pytest_plugin import AsgiSandbox
from firmaio.adapters.sandbox import SAMPLE_PDF_FIELDS, Sandbox
from firmaio.adapters.store import open_store
from firmaio.fsm import Driver
from firmaio.fsm.driving.engine import default_engine
from firmaio.fsm.driving.inputs import marked_expiry
from firmaio.fsm.errors import ApiError
from firmaio.fsm.machine.answers import Kind
from firmaio.fsm.machine.order import Order
from firmaio.fsm.machine.states import State
from firmaio.fsm.testing import ManualClock
from firmaio.fsm.trail.record import Outcome
from tests.conftest import FAST_RETRY
from tests.sandbox_helpers import fault, fiscal_code

Body = Callable[[Driver, IssuerSetup], Awaitable[None]]
SEND = ("--field", "firma_richiedente:Firma del richiedente", "--title", "Modulo di adesione")


@pytest.fixture
def over_http(sandbox: Sandbox, tmp_path: Path) -> Callable[[Body], None]:
    """Runs a test's body with a driver over loopback HTTP: a dropped connection is real."""

    def run(body: Body) -> None:
        async def main_() -> None:
            async with IssuerClient("sandbox-key", base_url=sandbox.url, retry=FAST_RETRY) as c:
                setup = IssuerSetup(c, tmp_path / "signed")
                driver = Driver(c, SystemClock(), setup=setup)
                driver.recovery_grace = 0.0  # the sandbox answers at once
                await body(driver, setup)

        asyncio.run(main_())

    return run


@pytest.fixture
def with_driver(asgi: AsgiSandbox, clock: ManualClock, tmp_path: Path) -> Callable[[Body], None]:
    """Runs a test's body with a driver on the test's clock, its client reaching the sandbox
    in-process (httpx's ASGI transport): the driver's waits pass at once."""

    def run(body: Body) -> None:
        async def main_() -> None:
            async with asgi.client(retry=FAST_RETRY) as c:
                setup = IssuerSetup(c, tmp_path / "signed")
                await body(Driver(c, clock, setup=setup), setup)

        asyncio.run(main_())

    return run


def order(code: str, **values: object) -> Order:
    return order_from_pdf(
        sample_pdf(), fields=tuple(SAMPLE_PDF_FIELDS), document_title="Modulo di adesione",
        dossier_title="richiesta di firma di prova", **values,
    ).with_fiscal_code(code)  # fmt: skip


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def test_a_recovery_never_takes_another_flows_request(
    asgi: AsgiSandbox, with_driver: Callable[[Body], None]
) -> None:
    """Two flows of one citizen in one dossier: each finds only the request carrying its own
    mark; two requests with one mark are refused, none taken."""
    code = fiscal_code()
    engine = default_engine()
    the_order = order(code, expires_at="2030-01-01T00:00:00Z")
    a = engine.new_order_flow("01JFLOWA000000000000000001", the_order, now=0.0)
    b = engine.new_order_flow("01JFLOWB000000000000000001", the_order, now=0.0)
    assert marked_expiry(a) != marked_expiry(b)

    async def body(driver: Driver, setup: IssuerSetup) -> None:
        signer = (await setup.find_signer(code)).fact("signer_id") or ""
        dossier = (await setup.open_dossier(the_order)).fact("dossier_id") or ""
        made = await setup.create_request(the_order, dossier, signer, marked_expiry(a))
        assert (await setup.find_created_request(dossier, signer, marked_expiry(b))).kind is (
            Kind.NOT_FOUND
        )
        found = await setup.find_created_request(dossier, signer, marked_expiry(a))
        assert found.fact("request_id") == made.fact("request_id")
        await setup.create_request(the_order, dossier, signer, marked_expiry(a))
        twice = await setup.find_created_request(dossier, signer, marked_expiry(a))
        assert twice.kind is Kind.REFUSED

    with_driver(body)


def test_a_lost_creation_answer_is_recovered_without_a_second_request(
    sandbox: Sandbox, over_http: Callable[[Body], None]
) -> None:
    """The connection drops after the service made the request: ERROR record, then the
    recovery finds it by its mark; one request, one upload, one message."""
    code = fiscal_code()
    fault(sandbox, "createSignatureRequest", "drop_after")

    async def body(driver: Driver, setup: IssuerSetup) -> None:
        flow = driver.new_order_flow("01JLOSTCREATION00000000001", order(code))
        with pytest.raises(ApiError):
            await driver.advance(flow)
        assert flow.history[-1].outcome is Outcome.ERROR
        assert await driver.advance(flow) is State.NOTIFIED
        assert "recover_request" in [r.trigger for r in flow.history]
        signer = sandbox.issuer.get_signer(
            sandbox.issuer.keys["sandbox-key"], {"fiscal_code": code}
        )
        mine = [r for r in sandbox.issuer.requests.values() if r.signer_id == signer["id"]]
        assert [r.id for r in mine] == [flow.request_id]
        assert sandbox.issuer.uploads_received(mine[0].id) == 1

    over_http(body)


def test_a_passing_blob_store_failure_is_recovered_not_failed(
    asgi: AsgiSandbox, with_driver: Callable[[Body], None]
) -> None:
    """A 503 from the blob store: an ERROR record, then recover_upload reads the document
    (nothing arrived) and the PDF is uploaded once with a new URL."""
    code = fiscal_code()
    fault(asgi, "uploadDocument", "status", status=503)

    async def body(driver: Driver, setup: IssuerSetup) -> None:
        flow = driver.new_order_flow("01JBLOB503000000000000001", order(code))
        with pytest.raises(ApiError):
            await driver.advance(flow)
        assert flow.state is State.UPLOAD_URL_ISSUED
        assert await driver.advance(flow) is State.NOTIFIED
        assert asgi.issuer.uploads_received(flow.request_id or "") == 1

    with_driver(body)


def test_upload_urls_refused_again_and_again_fail_the_flow(
    asgi: AsgiSandbox, with_driver: Callable[[Body], None]
) -> None:
    code = fiscal_code()
    fault(asgi, "uploadDocument", "status", status=403, times=5)

    async def body(driver: Driver, setup: IssuerSetup) -> None:
        flow = driver.new_order_flow("01JBLOB403000000000000001", order(code))
        assert await driver.advance(flow) is State.FAILED
        assert [r.trigger for r in flow.history].count("upload_document") == 3
        assert "3 upload URLs in a row" in (flow.failure or "")
        assert asgi.issuer.uploads_received(flow.request_id or "") == 0

    with_driver(body)
    asgi.state.faults.clear()


def test_a_fiscal_code_in_the_file_name_is_never_stored_nor_printed(
    api_env: Sandbox, tmp_path: Path
) -> None:
    code = fiscal_code()
    named = tmp_path / f"adesione_{code}.pdf"
    shutil.copy(sample_pdf(), named)
    db = str(tmp_path / "flows.sqlite")
    status, out = run("send", str(named), "--fiscal-code", code, "--field", "firma_richiedente",
                      "--db", db, "--json")  # fmt: skip
    assert status == 0, out
    assert code not in out
    assert code.encode() not in Path(db).read_bytes()
    flow_id = json.loads(out)["flow"]["flow_id"]
    again = run("send", str(named), "--fiscal-code", code, "--field", "firma_richiedente",
                "--db", db, "--id", flow_id, "--json")  # fmt: skip
    assert again[0] == 0, again[1]  # resumed with the path given now


def test_fetch_and_delivered_refuse_an_id_the_store_does_not_have(
    api_env: Sandbox, tmp_path: Path
) -> None:
    db = str(tmp_path / "flows.sqlite")
    assert run("delivered", "01JTYPO0000000000000000001", "--db", db, "--channel", "email")[0] == 2
    assert run("fetch", "01JTYPO0000000000000000002", "--db", db)[0] == 2
    store = open_store(db)
    try:
        assert store.rows() == []
    finally:
        store.close()


def test_fetch_of_a_request_not_signed_yet_exits_15(api_env: Sandbox, tmp_path: Path) -> None:
    db = str(tmp_path / "flows.sqlite")
    status, out = run("send", str(sample_pdf()), "--fiscal-code", fiscal_code(), *SEND,
                      "--db", db, "--json")  # fmt: skip
    assert status == 0, out
    status, out = run("fetch", json.loads(out)["flow"]["flow_id"], "--db", db, "--json")
    assert status == 15, out
    assert json.loads(out)["flow"]["state"] == "NOTIFIED"


def test_send_refuses_a_past_expiry_and_other_fields_under_a_known_id(
    api_env: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, db = fiscal_code(), str(tmp_path / "flows.sqlite")
    assert run("send", str(sample_pdf()), "--fiscal-code", code, *SEND,
               "--expires-at", "2020-01-01T00:00:00Z")[0] == 2  # fmt: skip
    status, out = run("send", str(sample_pdf()), "--fiscal-code", code, *SEND, "--db", db,
                      "--json")  # fmt: skip
    flow_id = json.loads(out)["flow"]["flow_id"]
    status, out = run("send", str(sample_pdf()), "--fiscal-code", code, "--field",
                      "firma_richiedente:Altra clausola", "--db", db, "--id", flow_id)  # fmt: skip
    assert status == 2
    assert "other fields" in capsys.readouterr().err


def test_run_leaves_a_flow_awaiting_its_send_and_goes_on(api_env: Sandbox, tmp_path: Path) -> None:
    """A flow from a PDF with no record (its `send` stopped before its first step) needs the
    fiscal code only `send` holds: `run` reports it unsettled and drives the others."""
    db = str(tmp_path / "flows.sqlite")
    store = open_store(db)
    try:
        store.create("01JAWAITSSEND0000000000001", activation_deadline=0.0, now=0.0, due_at=None,
                     initial=State.RECEIVED)  # fmt: skip
    finally:
        store.close()
    status, out = run("run", "01JAWAITSSEND0000000000001", "--db", db, "--json")
    assert status == 15, out
    assert "needs input" in json.loads(out)["unsettled"]["01JAWAITSSEND0000000000001"]
