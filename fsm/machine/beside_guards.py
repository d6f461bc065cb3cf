"""Guards of the steps beside the page's path: fetching the signed documents (after SIGNED) and
recording how the fallback reached the citizen.

Like :mod:`fsm.machine.spine_guards`: pure, named predicates over an
:class:`~fsm.machine.answers.Observation`, named as questions.
"""

from __future__ import annotations

from .answers import Kind, Observation


def _kind_is(obs: Observation, kind: Kind) -> bool:
    return obs.answer is not None and obs.answer.kind is kind


def documents_were_fetched(obs: Observation) -> bool:
    """Every signed document was downloaded, its size and type checked."""
    return _kind_is(obs, Kind.FETCHED)


def fallback_was_delivered(obs: Observation) -> bool:
    """The operator named the channel that reached the citizen."""
    return _kind_is(obs, Kind.DELIVERED) and bool(obs.answer and obs.answer.fact("channel"))
