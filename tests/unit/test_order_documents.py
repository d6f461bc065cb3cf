"""An order of several documents, in the pure core: its checks, its facts, and the set-up's loop
over its documents (one row back to DRAFT_CREATED, the next document's id as its data), driven
with scripted answers."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from firmaio.fsm import Driver
from firmaio.fsm.errors import InvalidInput
from firmaio.fsm.machine import Answer, Kind, Order, OrderDocument, State, answer_of
from firmaio.fsm.machine.answers import document_answer
from firmaio.fsm.testing import EXAMPLE_ORDER, ManualClock, ScriptedApi

FIELD = EXAMPLE_ORDER.fields
SHA = "ab" * 32


def more(n: int, **changes: object) -> tuple[OrderDocument, ...]:
    base = OrderDocument(f"/srv/allegato-{n}.pdf", SHA, 100, FIELD, f"Allegato {n}")
    return (replace(base, **changes),)  # type: ignore[arg-type]


def three() -> Order:
    return replace(EXAMPLE_ORDER, more_documents=more(2) + more(3))


def test_an_order_of_three_documents_reads_back_from_its_facts() -> None:
    order = three()
    order.check()
    again = Order.from_facts(dict(order.facts()))
    assert again is not None
    assert again.documents == order.documents
    assert [d.title for d in again.documents] == [
        "Contratto di servizio",
        "Allegato 2",
        "Allegato 3",
    ]
    assert order.document(2).pdf == "/srv/allegato-3.pdf"
    assert order.document(2).more_documents == ()
    assert len(order.documents_metadata()) == 3


@pytest.mark.parametrize(
    ("document", "named"),
    [
        (more(2, title="AB"), "document 2's title must have 3 to 60 characters"),
        (more(2, pdf_sha256="x"), "document 2's PDF needs its SHA-256"),
        (more(2, title="Allegato RSSMRA80A01H501U"), "document 2's title holds a fiscal code"),
        (more(2, fields=()), "document 2: the signature fields must be a non-empty list"),
        (more(2) * 10, "at most 10 documents"),
    ],
    ids=["title", "sha256", "fiscal-code", "fields", "too-many"],
)
def test_a_bad_document_is_refused_naming_it(
    document: tuple[OrderDocument, ...], named: str
) -> None:
    with pytest.raises(InvalidInput, match=named) as refused:
        replace(EXAMPLE_ORDER, more_documents=document).check()
    assert "RSSMRA80A01H501U" not in str(refused.value)


def test_each_document_is_uploaded_and_validated_on_its_own_steps_then_marked_ready() -> None:
    api = ScriptedApi()
    ids = ("DOC1", "DOC2", "DOC3")
    api.script(
        answer_of(Kind.SIGNER, 200, signer_id="SIGNER"),
        Answer(Kind.DOCUMENT_VALID, http_status=200),
        answer_of(Kind.DOSSIER, 201, dossier_id="DOSSIER"),
        answer_of(
            Kind.CREATED, 201, request_id="REQ", document_id="DOC1", document_ids=",".join(ids)
        ),
    )
    for _ in ids:
        api.script(
            Answer(Kind.UPLOAD_URL, http_status=200, upload_url="https://blob.example/u"),
            answer_of(Kind.UPLOADED, 201),
            document_answer("READY"),
        )
    api.script(answer_of(Kind.MARKED_READY, 204), Answer.request("WAIT_FOR_SIGNATURE"))
    api.script(answer_of(Kind.SENT, 200))

    async def go() -> None:
        driver = Driver(api, ManualClock(), setup=api)
        flow = driver.new_order_flow("01JMULTIDOC0000000000000001", three())
        await driver.advance(flow)
        assert flow.state is not State.FAILED, flow.failure

    asyncio.run(go())
    uploads = [a["order"].pdf for (m, _), a in zip(api.calls, api.arguments, strict=True)
               if m == "upload_document"]  # type: ignore[attr-defined]  # fmt: skip
    assert uploads == [d.pdf for d in three().documents]
    reads = [a["document_id"] for (m, _), a in zip(api.calls, api.arguments, strict=True)
             if m in ("get_upload_url", "read_document")]  # fmt: skip
    assert reads == ["DOC1", "DOC1", "DOC2", "DOC2", "DOC3", "DOC3"]
    assert [m for m, _ in api.calls].count("mark_ready") == 1


def test_a_document_rejected_after_its_upload_ends_the_flow_naming_it() -> None:
    api = ScriptedApi()
    api.script(
        answer_of(Kind.SIGNER, 200, signer_id="SIGNER"),
        Answer(Kind.DOCUMENT_VALID, http_status=200),
        answer_of(Kind.DOSSIER, 201, dossier_id="DOSSIER"),
        answer_of(
            Kind.CREATED, 201, request_id="REQ", document_id="DOC1", document_ids="DOC1,DOC2,DOC3"
        ),
        Answer(Kind.UPLOAD_URL, http_status=200, upload_url="https://blob.example/u"),
        answer_of(Kind.UPLOADED, 201),
        document_answer("READY"),
        Answer(Kind.UPLOAD_URL, http_status=200, upload_url="https://blob.example/u"),
        answer_of(Kind.UPLOADED, 201),
        document_answer("REJECTED", reject_reason="the field firma_richiedente is off its page"),
    )

    async def go() -> str:
        driver = Driver(api, ManualClock(), setup=api)
        flow = driver.new_order_flow("01JMULTIDOC0000000000000002", three())
        assert await driver.advance(flow) is State.DOCUMENT_REFUSED
        return flow.history[-1].reason or ""

    reason = asyncio.run(go())
    assert 'document 2 of 3 ("Allegato 2")' in reason
    assert "off its page" in reason
