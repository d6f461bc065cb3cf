"""Events: one type per kind of record, generated into docs/events.md; the payload carries the
record's public evidence only."""

from __future__ import annotations

from pathlib import Path

from firmaio.adapters.cli.diagram import GENERATED, generated_block
from firmaio.fsm import TABLE, State, Trigger, default_engine
from firmaio.fsm.driving.inputs import delivery_answer
from firmaio.fsm.trail import AuditRecord, Outcome, cloud_event, event_type
from firmaio.fsm.trail.events import PREFIX, event_types, events_markdown
from tests.helpers import START, flow_at

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
PAGE = "docs/events.md"
START_MARK, END_MARK = "<!-- BEGIN generated:events -->\n", "<!-- END generated:events -->"
CODE = "RSSMRA80A01H501U"


def rows() -> list[tuple[State, str, State]]:
    return [(row.source, row.trigger, row.target) for row in TABLE]


def test_the_manual_s_event_types_are_the_table_s() -> None:
    text = (ROOT / PAGE).read_text()
    block = text.split(START_MARK, 1)[1].split(END_MARK, 1)[0]
    assert block == events_markdown(rows()), f"{PAGE}'s event types are stale: `make diagrams`"
    assert "events" in GENERATED
    assert generated_block("events") == block


def test_every_row_writes_a_type_that_names_what_it_did() -> None:
    """A row that moves the flow is named by its target; one that keeps it, by its trigger;
    no two kinds of record share a type by accident."""
    types = event_types(rows())
    for source, trigger, target in rows():
        [named] = [t for t, written in types.items() if (source, trigger, target) in written]
        if source is not target:
            assert named == f"{PREFIX}flow.{target.lower()}"
    assert types[f"{PREFIX}documents.fetched"] == [("SIGNED", "fetch_documents", "SIGNED")]
    assert f"{PREFIX}fallback.delivered" in types
    assert len(types) == len(set(types))


def record(**fields: object) -> AuditRecord:
    base = AuditRecord(
        flow_id="F1", seq=4, trigger=Trigger.NOTIFY, source=State.WAIT_FOR_SIGNATURE,
        target=State.WAIT_FOR_SIGNATURE, outcome=Outcome.ERROR, guards=(), answer="transient",
        http_status=503, request_status=None, io_message_id=None,
        qr_code_url="https://continua.io.pagopa.it/qrcode.png?feat=firma&srid=R1",
        detail=f"the citizen {CODE} was not reached", reason=None, requested_at=START,
        decided_at=START + 0.25,
        facts=(("order.pdf", f"/in/{CODE}.pdf"), ("signed.D1.file", f"/out/{CODE}.pdf"),
               ("url", "https://blob.example/x?sig=abc")),
    )  # fmt: skip
    return base._replace(**fields)


def test_an_event_carries_no_fiscal_code_url_or_order() -> None:
    event = cloud_event(record(), source="urn:firmaio:store:S", tenant="comune-a")
    assert event["type"] == f"{PREFIX}attempt.failed"
    assert event["id"] == "F1/4"
    assert event["time"] == "2027-01-15T08:00:00.250Z"
    text = str(event)
    assert CODE not in text
    assert "://" not in text
    assert "order.pdf" not in text
    evidence = event["data"]["evidence"]
    assert evidence["detail"] == "the citizen [fiscal-code] was not reached"
    assert evidence["facts"] == {"signed.D1.file": "/out/[fiscal-code].pdf"}


def test_a_refused_attempt_and_a_kept_state_are_named_by_how_they_ended() -> None:
    assert event_type(record(outcome=Outcome.REFUSED)) == f"{PREFIX}attempt.refused"
    flow = flow_at(default_engine(), State.FALLBACK_SUGGESTED)
    kept = default_engine().fire(flow, Trigger.DELIVER_FALLBACK, delivery_answer("pec"), now=START)
    assert event_type(kept) == f"{PREFIX}fallback.delivered"
