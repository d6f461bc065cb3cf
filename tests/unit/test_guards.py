"""Guards are pure predicates; within one (source, trigger) at most one holds for any answer."""

from __future__ import annotations

from collections import defaultdict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmaio.fsm import TABLE, Answer, Kind, Observation
from firmaio.fsm.machine import beside_guards as b
from firmaio.fsm.machine import setup_guards as s
from firmaio.fsm.machine import spine_guards as g
from firmaio.fsm.machine import witness_of, witnessed_by
from firmaio.fsm.machine.answers import answer_of, document_answer
from firmaio.fsm.testing import LATE_GUARDS, witness
from tests.strategies import answers

NOW, DEADLINE = 100.0, 200.0


def obs(answer: Answer | None, now: float = NOW) -> Observation:
    return Observation(answer, now, DEADLINE)


@pytest.mark.parametrize(
    ("guard", "answer", "now", "expected"),
    [
        (g.is_waiting_for_signature, Answer.request("WAIT_FOR_SIGNATURE"), NOW, True),
        (
            g.is_waiting_for_signature,
            Answer.request("WAIT_FOR_SIGNATURE", io_message_id="m"),
            NOW,
            False,
        ),
        (g.is_still_ready, Answer.request("READY"), NOW, True),
        (g.is_still_ready, Answer.request("READY"), DEADLINE, False),
        (g.activation_deadline_passed, Answer.request("READY"), DEADLINE, True),
        (g.activation_deadline_passed, Answer.request("READY"), NOW, False),
        (g.waits_in_an_unknown_status, Answer.request("WAIT_FOR_QTSP"), NOW, True),
        (g.waits_in_an_unknown_status, Answer.request("EXPIRED"), NOW, True),
        (g.waits_in_an_unknown_status, Answer.request("EXPIRED"), DEADLINE, False),
        (g.waits_in_an_unknown_status, Answer.request("SIGNED"), NOW, False),
        (g.waits_in_an_unknown_status, Answer.request("DRAFT"), NOW, False),
        (g.fell_back_to_draft, Answer.request("DRAFT"), NOW, True),
        (g.fell_back_to_draft, Answer.request("WAIT_FOR_QTSP"), NOW, False),
        (g.message_was_sent, Answer.sent("01G7VBM888NDGCMA84ZVZYJGZQ", http_status=201), NOW, True),
        (g.message_was_sent, Answer.sent(""), NOW, False),
        (
            g.was_already_notified,
            Answer.request("WAIT_FOR_SIGNATURE", io_message_id="m"),
            NOW,
            True,
        ),
        (g.was_already_notified, Answer.request("SIGNED", io_message_id="m"), NOW, False),
        (g.citizen_disabled_messages, Answer.messages_disabled(), NOW, True),
        (g.citizen_has_no_io_profile, Answer.no_io_profile(), NOW, True),
        (g.citizen_has_no_io_profile, Answer.not_found(), NOW, False),
        (g.notification_failed_permanently, Answer.not_found(), NOW, True),
        (g.notification_failed_permanently, Answer.request("READY"), NOW, True),
        (g.notification_failed_permanently, Answer.request("WAIT_FOR_QTSP"), NOW, False),
        (g.status_check_failed_permanently, Answer.request("WAIT_FOR_QTSP"), NOW, False),
        (g.status_check_failed_permanently, Answer.request("DRAFT"), NOW, True),
        (g.is_still_open, Answer.request("WAIT_FOR_SIGNATURE"), NOW, True),
        (g.cancel_was_accepted, Answer.cancel_accepted(), NOW, True),
        (g.is_signed, None, NOW, False),
        # the issuer's set-up: ids must come with the answer that gives them
        (s.signer_was_found, answer_of(Kind.SIGNER, 200, signer_id="S1"), NOW, True),
        (s.signer_was_found, answer_of(Kind.SIGNER, 200), NOW, False),
        (s.dossier_is_known, answer_of(Kind.DOSSIER, 201, dossier_id="D1"), NOW, True),
        (s.dossier_is_known, answer_of(Kind.DOSSIER, 201), NOW, False),
        (
            s.request_was_created,
            answer_of(Kind.CREATED, 201, request_id="R", document_id="D"),
            NOW,
            True,
        ),
        (s.request_was_created, answer_of(Kind.CREATED, 201, request_id="R"), NOW, False),
        (s.upload_url_was_issued, Answer(Kind.UPLOAD_URL, upload_url="https://b/u?s"), NOW, True),
        (s.upload_url_was_issued, Answer(Kind.UPLOAD_URL), NOW, False),
        (s.upload_arrived, document_answer("READY"), NOW, True),
        (s.upload_arrived, document_answer("WAIT_FOR_UPLOAD"), NOW, False),
        (s.upload_did_not_arrive, document_answer("WAIT_FOR_UPLOAD"), NOW, True),
        (
            s.upload_arrived,
            Answer.request("READY"),
            NOW,
            False,
        ),  # the request's, not the document's
        (s.is_still_validating, document_answer("WAIT_FOR_VALIDATION"), NOW, True),
        (s.is_still_validating, document_answer("WAIT_FOR_VALIDATION"), DEADLINE, False),
        (s.validation_deadline_passed, document_answer("WAIT_FOR_VALIDATION"), DEADLINE, True),
        (s.validation_deadline_passed, document_answer("WAIT_FOR_VALIDATION"), NOW, False),
        (s.set_up_request_vanished, document_answer("WAIT_FOR_UPLOAD"), NOW, False),
        (s.is_still_validating, document_answer("WAIT_FOR_UPLOAD"), NOW, True),
        (s.validation_deadline_passed, document_answer("WAIT_FOR_UPLOAD"), DEADLINE, True),
        (s.set_up_request_vanished, Answer.not_found(), NOW, True),
        (b.fallback_was_delivered, answer_of(Kind.DELIVERED, None, channel="pec"), NOW, True),
        (b.fallback_was_delivered, answer_of(Kind.DELIVERED, None, note="n"), NOW, False),
    ],
)
def test_guard(guard: g.Guard, answer: Answer | None, now: float, expected: bool) -> None:
    """Each guard answers its question about the observation."""
    assert guard(obs(answer, now)) is expected


def _groups() -> dict[tuple[str, str], list[g.Guard]]:
    groups: dict[tuple[str, str], list[g.Guard]] = defaultdict(list)
    for row in TABLE:
        if row.guard is not None:
            groups[row.source, row.trigger].append(row.guard)
    return groups


@given(answer=answers, now=st.floats(min_value=0, max_value=400))
def test_at_most_one_guard_holds_per_source_and_trigger(answer: Answer, now: float) -> None:
    """Guards of one (source, trigger) exclude each other, so row order never decides."""
    for key, guards in _groups().items():
        held = [guard.__name__ for guard in guards if guard(obs(answer, now))]
        assert len(held) <= 1, f"{key}: {held} all hold for {answer}"


@pytest.mark.parametrize("row", TABLE, ids=lambda r: f"{r.source}-{r.trigger}-{r.guard_name}")
def test_each_witness_makes_only_its_guard_hold(row: object) -> None:
    """The witness answers used by the path tests select exactly their row."""
    from firmaio.fsm.machine.table import Row

    assert isinstance(row, Row)
    if row.guard is None:
        return
    now = DEADLINE if row.guard in LATE_GUARDS else NOW
    siblings = _groups()[row.source, row.trigger]
    held = [guard.__name__ for guard in siblings if guard(obs(witness(row.guard), now))]
    assert held == [row.guard_name]


def test_every_guard_of_the_table_declares_its_witness_beside_it() -> None:
    """Each guard of the table is declared with its witness in its own guards module, and
    witness() reads that declaration; a guard without one is named when asked."""
    guards = {row.guard for row in TABLE if row.guard is not None}
    missing = sorted(guard.__name__ for guard in guards if witness_of(guard) is None)
    assert not missing, f"guards of the table without a witness (witnessed_by): {missing}"
    homes = {guard.__module__ for guard in guards}
    assert homes == {g.__name__, s.__name__, b.__name__}
    assert all(witness(guard) is witness_of(guard) for guard in guards)

    def is_mine(observation: Observation) -> bool:
        return observation.answer is not None

    with pytest.raises(KeyError, match="no witness answer for guard is_mine"):
        witness(is_mine)
    declared = witnessed_by(Answer.cancel_accepted())(is_mine)
    assert declared is is_mine  # declared beside the guard, not wrapped
    assert witness(is_mine) == Answer.cancel_accepted()


def test_the_set_up_witnesses_carry_the_facts_the_next_steps_need() -> None:
    """A witness of a set-up step that gives an id carries it, as the service's answer would."""
    assert witness(s.signer_was_found).fact("signer_id")
    assert witness(s.dossier_is_known).fact("dossier_id")
    for guard in (s.request_was_created,):
        assert witness(guard).fact("request_id")
        assert witness(guard).fact("document_id")
    assert witness(s.upload_url_was_issued).upload_url
    assert witness(s.upload_url_was_issued).facts == ()  # the URL is a credential: no fact
    assert witness(b.fallback_was_delivered).fact("channel")


def test_late_guards_hold_only_after_the_deadline_and_their_siblings_before() -> None:
    """Each late guard's witness selects it after the deadline, and a sibling before it."""
    for guard in LATE_GUARDS:
        answer = witness(guard)
        assert guard(obs(answer, DEADLINE))
        assert not guard(obs(answer, NOW))
        [row] = [r for r in TABLE if r.guard is guard]
        siblings = _groups()[row.source, row.trigger]
        assert [h.__name__ for h in siblings if h(obs(answer, NOW))] != []
