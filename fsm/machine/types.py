"""The shapes of the transition table: a :class:`Row`, the :class:`Basis` it names, and a guard
with its witness (:func:`witnessed_by`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from .answers import Answer, Observation
from .reasons import Reason
from .states import State

Guard = Callable[[Observation], bool]
"""A guard: a pure, named predicate over an observation (its ``__name__`` is what diagrams and
records show)."""

G = TypeVar("G", bound=Guard)

_WITNESSES: dict[Guard, Answer] = {}


def witnessed_by(answer: Answer) -> Callable[[G], G]:
    """Declare, beside a guard, its witness: an answer under which it holds and the other guards
    of its rows don't (:func:`fsm.testing.witness` reads it). The guard is returned as it is."""

    def declare(guard: G) -> G:
        _WITNESSES[guard] = answer
        return guard

    return declare


def witness_of(guard: Guard) -> Answer | None:
    """The witness declared beside ``guard`` (:func:`witnessed_by`), if any."""
    return _WITNESSES.get(guard)


@dataclass(frozen=True, slots=True)
class Row:
    """One transition: from ``source``, ``trigger`` leads to ``target`` when ``guard`` holds.

    ``reason`` says why, for the audit record; every row into a terminal state gives one (the
    validator checks), and so do the refusals.
    """

    source: State
    trigger: str
    target: State
    guard: Guard | None
    basis: tuple[str, ...]
    reason: Reason | None = None

    @property
    def guard_name(self) -> str | None:
        """The guard's ``__name__``, as diagrams and audit records show it."""
        return None if self.guard is None else self.guard.__name__


@dataclass(frozen=True, slots=True)
class Basis:
    """Why a row exists: a sentence of the page (``on_page``), or a fact beyond it."""

    on_page: bool
    text: str
