"""The table is validated when the engine is built; each check is shown on a broken table."""

from __future__ import annotations

import pytest

from firmaio.fsm import TABLE, Engine, InvalidDefinition, State, Trigger
from firmaio.fsm.machine.spine_guards import is_signed, is_still_ready, is_waiting_for_signature
from firmaio.fsm.machine.states import ENTRIES, INITIAL, ISSUER_INITIAL, SETUP_ONLY, TERMINAL
from firmaio.fsm.machine.steps import DEFAULT_STEPS
from firmaio.fsm.machine.table import BASIS, Row
from firmaio.fsm.machine.validate import (
    ambiguous_rows,
    states_without_path_to_terminal,
    terminal_states_with_exits,
    trap_states,
    unknown_basis,
    unreachable_states,
    validate,
)

B = ("page.wait",)
S = State
A = Trigger.CHECK_ACTIVATION


def test_the_real_table_is_valid() -> None:
    """The shipped table passes every check, from the states a flow may start in."""
    validate(TABLE, initial=ENTRIES, terminal=TERMINAL, basis=BASIS, steps=DEFAULT_STEPS)


def test_the_set_up_is_reachable_only_from_its_own_entry() -> None:
    """From READY alone the issuer's set-up is unreachable: RECEIVED is an entry of its own."""
    assert unreachable_states(TABLE, INITIAL, State) == sorted(SETUP_ONLY, key=list(State).index)
    assert unreachable_states(TABLE, ENTRIES, State) == []
    # the set-up joins the spine at READY: from RECEIVED, every state can be reached
    assert unreachable_states(TABLE, ISSUER_INITIAL, State) == []


def test_a_terminal_state_may_keep_a_row_that_stays() -> None:
    """Fetching a SIGNED request's documents stays in SIGNED: terminal means no row leads
    elsewhere, and such a row is not a trap."""
    rows = [Row(S.SIGNED, Trigger.FETCH_DOCUMENTS, S.SIGNED, None, ("api.signed_documents",))]
    assert terminal_states_with_exits(rows, TERMINAL) == []
    assert trap_states(rows, TERMINAL, [S.SIGNED]) == []


def test_unreachable_states_are_named() -> None:
    """A state no row leads to is reported."""
    rows = [Row(S.READY, A, S.SIGNED, None, B)]
    assert unreachable_states(rows, S.READY, [S.READY, S.SIGNED, S.NOTIFIED]) == [S.NOTIFIED]


def test_trap_states_are_named() -> None:
    """A non-terminal state whose only row loops on itself has no way out."""
    rows = [
        Row(S.READY, A, S.NOTIFIED, None, B),
        Row(S.NOTIFIED, Trigger.CHECK_STATUS, S.NOTIFIED, None, B),
    ]
    assert trap_states(rows, TERMINAL, [S.READY, S.NOTIFIED, S.SIGNED]) == [S.NOTIFIED]


def test_terminal_states_must_not_be_left() -> None:
    """A row leaving a terminal state is reported."""
    rows = [Row(S.SIGNED, Trigger.CHECK_STATUS, S.READY, None, B)]
    assert terminal_states_with_exits(rows, TERMINAL) == [S.SIGNED]


def test_states_without_path_to_terminal_are_named() -> None:
    """Two states that only lead to each other never end."""
    rows = [
        Row(S.READY, A, S.NOTIFIED, None, B),
        Row(S.NOTIFIED, Trigger.CHECK_STATUS, S.READY, None, B),
    ]
    assert states_without_path_to_terminal(rows, TERMINAL, [S.READY, S.NOTIFIED]) == [
        S.READY,
        S.NOTIFIED,
    ]


def test_repeated_guard_is_ambiguous() -> None:
    """Two rows of one (source, trigger) with the same guard are refused."""
    rows = [
        Row(S.READY, A, S.WAIT_FOR_SIGNATURE, is_waiting_for_signature, B),
        Row(S.READY, A, S.NOTIFIED, is_waiting_for_signature, B),
    ]
    [problem] = ambiguous_rows(rows)
    assert "READY --check_activation-->" in problem
    assert "is_waiting_for_signature" in problem


def test_unguarded_row_beside_others_is_ambiguous() -> None:
    """An unguarded row beside guarded ones would let row order decide."""
    rows = [Row(S.READY, A, S.READY, is_still_ready, B), Row(S.READY, A, S.SIGNED, None, B)]
    assert ambiguous_rows(rows) == [
        "READY --check_activation--> has an unguarded row beside other rows"
    ]


def test_unknown_basis_is_named() -> None:
    """Every row must cite a defined basis."""
    rows = [Row(S.READY, A, S.SIGNED, is_signed, ("page.nowhere",))]
    assert unknown_basis(rows, BASIS) == [
        "READY --check_activation--> SIGNED cites unknown basis 'page.nowhere'"
    ]


def test_one_error_names_every_problem() -> None:
    """The engine refuses a broken table with one InvalidDefinition listing all problems."""
    rows = [
        Row(S.READY, A, S.WAIT_FOR_SIGNATURE, is_waiting_for_signature, B),
        Row(S.READY, A, S.NOTIFIED, is_waiting_for_signature, B),
    ]
    with pytest.raises(InvalidDefinition) as caught:
        Engine(rows)
    text = str(caught.value)
    assert "unreachable states:" in text
    assert "NOTIFY_REFUSED" in text
    assert "non-terminal states with no way out: " in text
    assert "repeats guard is_waiting_for_signature" in text
    assert len(caught.value.problems) >= 4
