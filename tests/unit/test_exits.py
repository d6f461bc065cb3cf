"""Exit codes: one declared table; a flow's code follows from the steps and its resting state."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from firmaio.adapters.cli import exits
from firmaio.fsm import State
from firmaio.fsm.machine.steps import DEFAULT_STEPS


def test_exit_codes_are_unique_and_named() -> None:
    codes = [e.code for e in exits.EXITS]
    assert codes == sorted(set(codes))
    assert all(e.name and e.meaning for e in exits.EXITS)


def test_every_resting_state_has_a_result_and_no_driven_state_has_one() -> None:
    assert set(exits.RESULT_OF) == DEFAULT_STEPS.resting
    assert not set(exits.RESULT_OF) & DEFAULT_STEPS.driven


@pytest.mark.parametrize(
    ("state", "code"),
    [
        (State.READY, 15),
        (State.WAIT_FOR_SIGNATURE, 15),
        (State.NOTIFY_REFUSED, 15),
        (State.NOTIFIED, 0),
        (State.FALLBACK_SUGGESTED, 10),
        (State.SIGNED, 0),
        (State.REJECTED, 12),
        (State.CANCELLED, 13),
        (State.FAILED, 14),
        (State.EXPIRED, 16),
    ],
)
def test_the_code_of_each_state(state: State, code: int) -> None:
    assert exits.exit_code_for(state) == code


def test_a_command_s_own_goal_is_success() -> None:
    assert exits.exit_code_for(State.CANCELLED, goal=State.CANCELLED) == 0
    assert exits.exit_code_for(State.CANCELLED, goal=State.SIGNED) == 13


@pytest.mark.parametrize(
    ("state", "code"),
    [
        (State.CANCELLED, 0),
        (State.NOTIFIED, 5),  # the service refused the cancel: the flow stayed where it was
        (State.FALLBACK_SUGGESTED, 5),
        (State.WAIT_FOR_SIGNATURE, 5),
        (State.SIGNED, 5),  # signed before the cancel: no success for `cancel`
        (State.REJECTED, 12),
        (State.EXPIRED, 16),
        (State.FAILED, 14),
    ],
)
def test_cancel_exits_0_only_for_cancelled(state: State, code: int) -> None:
    assert exits.goal_exit_code(state, State.CANCELLED, exits.NOT_ALLOWED) == code


def test_fetch_short_of_signed_is_not_settled_while_open() -> None:
    assert exits.goal_exit_code(State.SIGNED, State.SIGNED, exits.NOT_SETTLED) == 0
    assert exits.goal_exit_code(State.NOTIFIED, State.SIGNED, exits.NOT_SETTLED) == 15
    assert exits.goal_exit_code(State.REJECTED, State.SIGNED, exits.NOT_SETTLED) == 12


def test_the_manual_lists_exactly_the_declared_exit_codes() -> None:
    """docs/cli.md is the one place exit codes are documented; it follows exits.EXITS."""
    page = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    section = page.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    documented = [int(m) for m in re.findall(r"^\| (\d+) \|", section, re.MULTILINE)]
    assert documented == [e.code for e in exits.EXITS]
