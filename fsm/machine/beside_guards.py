"""Guards of the steps beside the page's path: fetching the signed documents (after SIGNED) and
recording how the fallback reached the citizen.

Like :mod:`fsm.machine.spine_guards`: pure, named predicates over an
:class:`~fsm.machine.answers.Observation`, named as questions, each with its witness.
"""

from __future__ import annotations

from .answers import Kind, Observation, answer_of
from .types import witnessed_by


def _kind_is(obs: Observation, kind: Kind) -> bool:
    return obs.answer is not None and obs.answer.kind is kind


@witnessed_by(
    answer_of(
        Kind.FETCHED,
        200,
        **{
            "signed.0.name": "contratto-di-servizio.pdf",
            "signed.0.size": "51377",
            "signed.0.sha256": "0b1c2d3e4f5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
        },
    )
)
def documents_were_fetched(obs: Observation) -> bool:
    """Every signed document was downloaded, its size and type checked."""
    return _kind_is(obs, Kind.FETCHED)


@witnessed_by(answer_of(Kind.DELIVERED, None, channel="letter"))
def fallback_was_delivered(obs: Observation) -> bool:
    """The operator named the channel that reached the citizen."""
    return _kind_is(obs, Kind.DELIVERED) and bool(obs.answer and obs.answer.fact("channel"))
