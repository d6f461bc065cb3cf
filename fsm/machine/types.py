"""The shapes of the transition table: a :class:`Row`, and the :class:`Basis` it names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .answers import Observation
from .reasons import Reason
from .states import State

Guard = Callable[[Observation], bool]
"""A guard: a pure, named predicate over an observation (its ``__name__`` is what diagrams and
records show)."""


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
