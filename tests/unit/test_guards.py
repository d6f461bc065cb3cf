"""Guards are pure predicates; within one (source, trigger) at most one holds for any answer."""

from __future__ import annotations

from collections import defaultdict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmaio.fsm import TABLE, Answer, Observation
from firmaio.fsm import guards as g
from firmaio.fsm.testing import witness
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
        (g.has_unexpected_status, Answer.request("WAIT_FOR_QTSP"), NOW, True),
        (g.has_unexpected_status, Answer.request("SIGNED"), NOW, False),
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
    from firmaio.fsm.table import Row

    assert isinstance(row, Row)
    if row.guard is None:
        return
    now = DEADLINE if row.guard_name == "activation_deadline_passed" else NOW
    siblings = _groups()[row.source, row.trigger]
    held = [guard.__name__ for guard in siblings if guard(obs(witness(row.guard), now))]
    assert held == [row.guard_name]
