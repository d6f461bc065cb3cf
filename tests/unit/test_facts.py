"""Records carry facts: a flow from a PDF writes its order on its first record (never the fiscal
code), each set-up step the ids the service gave; a flow restored from its records knows the same.
A record without facts is stored, and hashed, exactly as before facts existed."""

from __future__ import annotations

import json

import pytest
from structlog.testing import capture_logs

from firmaio.fsm import Answer, ApiUnavailable, Engine, Kind, Outcome, State, Trigger, fold
from firmaio.fsm.diagrams.paths import paths
from firmaio.fsm.testing import (
    EXAMPLE_DOSSIER_ID,
    EXAMPLE_NEW_REQUEST_ID,
    EXAMPLE_ORDER,
    EXAMPLE_QR_CODE_URL,
    EXAMPLE_SIGNER_ID,
    flow_in,
)
from firmaio.fsm.trail.chain import ChainLink, canonical, chain_hash, genesis, verify_chain
from firmaio.fsm.trail.record import AuditRecord, from_event_dict
from tests.helpers import RID, START, fire_rows, new_flow_from

FISCAL_CODE = "RSSMRA80A01H501U"
JOIN = next(p for p in paths() if p[0].source is State.RECEIVED and p[-1].target is State.READY)
"""The set-up's happy path, from RECEIVED to READY."""


def _set_up(engine: Engine) -> list[AuditRecord]:
    flow = new_flow_from(engine, State.RECEIVED)
    return fire_rows(engine, flow, JOIN)


def test_the_first_record_of_a_pdf_flow_carries_the_order_but_not_the_fiscal_code(
    engine: Engine,
) -> None:
    first, second, *rest = _set_up(engine)
    facts = dict(first.facts or ())
    assert {k: v for k, v in facts.items() if k.startswith("order.")} == dict(EXAMPLE_ORDER.facts())
    assert facts["signer_id"] == EXAMPLE_SIGNER_ID  # the answer's own facts beside the order
    assert not any(name.startswith("order.") for name, _ in second.facts or ())
    for record in (first, second, *rest):
        assert FISCAL_CODE not in canonical(record)
        assert FISCAL_CODE not in repr(record)


def test_each_set_up_step_records_the_ids_the_service_gave(engine: Engine) -> None:
    records = _set_up(engine)
    by_trigger = {str(r.trigger): dict(r.facts or ()) for r in records}
    assert by_trigger["open_dossier"] == {"dossier_id": EXAMPLE_DOSSIER_ID}
    assert by_trigger["create_request"]["request_id"] == EXAMPLE_NEW_REQUEST_ID
    assert "document_id" in by_trigger["create_request"]
    assert by_trigger["get_upload_url"] == {}  # the URL is a credential: never recorded
    for record in records:
        assert "blob.example" not in canonical(record)
        assert from_event_dict(json.loads(canonical(record))) == record


def test_the_first_record_carries_the_order_whatever_its_outcome(engine: Engine) -> None:
    """A first attempt without a usable answer still writes the order: the store alone can
    resume the flow."""
    flow = new_flow_from(engine, State.RECEIVED)
    record = engine.fire(flow, Trigger.FIND_SIGNER, ApiUnavailable("timed out"), now=START + 1)
    assert record.outcome is Outcome.ERROR
    assert dict(record.facts or ())["order.pdf"] == EXAMPLE_ORDER.pdf
    restored = engine.restore(flow.id, flow.activation_deadline, flow.history)
    assert (restored.state, restored.initial) == (State.RECEIVED, State.RECEIVED)
    assert restored.order == EXAMPLE_ORDER
    assert restored.order is not None
    assert restored.order.fiscal_code is None


def test_facts_and_the_order_are_not_logged(engine: Engine) -> None:
    flow = new_flow_from(engine, State.RECEIVED)
    with capture_logs() as logs:
        fire_rows(engine, flow, JOIN[:2])
    assert logs
    assert all("facts" not in entry for entry in logs)
    assert FISCAL_CODE not in repr(logs)
    assert EXAMPLE_ORDER.pdf not in repr(logs)


def test_a_restored_flow_knows_the_same_facts_and_order_without_the_fiscal_code(
    engine: Engine,
) -> None:
    flow = flow_in(State.DOCUMENT_UPLOADED, engine=engine)
    restored = engine.restore(flow.id, flow.activation_deadline, flow.history)
    assert (restored.state, restored.initial) == (State.DOCUMENT_UPLOADED, State.RECEIVED)
    assert restored.facts == flow.facts
    assert restored.order == flow.order == EXAMPLE_ORDER
    assert restored.order is not None
    assert restored.order.fiscal_code is None
    assert flow.order is not None
    assert flow.order.fiscal_code == FISCAL_CODE
    assert restored.request_id == flow.request_id == EXAMPLE_NEW_REQUEST_ID
    assert restored.entered_at == flow.entered_at
    assert restored.deadline() == flow.deadline()  # the validation deadline, from the records
    assert restored.upload_url is None  # never recorded


def test_a_pdf_flow_s_trail_folds_from_received_and_its_chain_verifies(engine: Engine) -> None:
    flow = new_flow_from(engine, State.RECEIVED)
    records = fire_rows(engine, flow, JOIN)
    assert fold(records) is State.READY
    assert fold(records, State.RECEIVED) is State.READY
    assert fold(records[:3]) is State.DOSSIER_CHOSEN
    assert fold([], State.RECEIVED) is State.RECEIVED
    with pytest.raises(ValueError, match="starts in SIGNER_FOUND, not in READY"):
        fold(records[1:])  # a trail that lost its first record is not one flow's history
    with pytest.raises(ValueError, match="starts in SIGNER_FOUND, not in RECEIVED"):
        fold(records[1:], State.RECEIVED)
    links, prev = [], genesis(flow.id)
    for record in records:
        payload = canonical(record)
        digest = chain_hash(prev, payload)
        links.append(ChainLink(record.seq, payload, prev, digest))
        prev = digest
    assert verify_chain(flow.id, links, len(links), prev, "READY") is None
    assert verify_chain(flow.id, [], 0, genesis(flow.id), "RECEIVED") is None
    assert verify_chain(flow.id, links, len(links), prev, "RECEIVED") is not None


# the canonical form and the hash of a record written before records had facts, as the code of
# that time (commit 199ee28) computed them: a stored chain of then still verifies
_OLD_PAYLOAD = (
    '{"answer":"request","decided_at":1800000001.0,"detail":null,'
    '"flow_id":"01ARZ3NDEKTSV4RRFFQ69G5FAV","guard":"is_waiting_for_signature",'
    '"guards":"is_waiting_for_signature=True","http_status":200,"io_message_id":null,'
    '"outcome":"accepted","qr_code_url":"' + EXAMPLE_QR_CODE_URL + '","reason":null,'
    '"request_status":"WAIT_FOR_SIGNATURE","requested_at":1800000000.0,"seq":1,'
    '"source":"READY","target":"WAIT_FOR_SIGNATURE","trigger":"check_activation"}'
)
_OLD_HASH = "2592a83fa1cb0d2964c580d9db8cc2b9c4e3e93cae0767b456c1b319c9e035ea"


def test_a_record_without_facts_is_stored_and_hashed_as_before_facts_existed(
    engine: Engine,
) -> None:
    flow = new_flow_from(engine, State.READY, RID)
    [record] = fire_rows(engine, flow, next(paths())[:1])
    # as the code of then made it: no facts, and no table version (stamped since versions)
    record = record._replace(requested_at=START, decided_at=START + 1, table_version=None)
    assert record.facts is None
    assert canonical(record) == _OLD_PAYLOAD
    assert chain_hash(genesis(RID), canonical(record)) == _OLD_HASH
    assert from_event_dict(json.loads(_OLD_PAYLOAD)) == record
    link = ChainLink(1, _OLD_PAYLOAD, genesis(RID), _OLD_HASH)
    assert verify_chain(RID, [link], 1, _OLD_HASH, "WAIT_FOR_SIGNATURE") is None


def test_a_refused_first_record_teaches_the_order_but_not_its_answer_s_facts(
    engine: Engine,
) -> None:
    """Only accepted records teach a flow the ids an answer carried; a first record refused by
    every guard still carries (and teaches) the order, so the store alone can resume the flow."""
    flow = new_flow_from(engine, State.RECEIVED)
    odd = Answer(Kind.DOSSIER, http_status=201, facts=(("dossier_id", "D-not-yet"),))
    record = engine.fire(flow, Trigger.FIND_SIGNER, odd, now=START + 1)
    assert record.outcome is Outcome.REFUSED
    assert dict(record.facts or ())["dossier_id"] == "D-not-yet"  # the evidence is recorded
    assert "dossier_id" not in flow.facts
    assert flow.facts["order.pdf"] == EXAMPLE_ORDER.pdf
    restored = engine.restore(flow.id, flow.activation_deadline, flow.history)
    assert restored.facts == flow.facts
    assert restored.order == EXAMPLE_ORDER
