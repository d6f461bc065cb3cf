"""A listing item is a status check's answer only in its documented shape
(``SignatureRequestListView``): every required field, ids and times as the API writes them, an
upper-case status, of the dossier listed. Anything else is not trusted: the request is read
alone."""

from __future__ import annotations

from typing import Any

import pytest

from firmaio.adapters.watch import LISTING, evidence, listed_answer
from firmaio.fsm.machine import Kind

DOSSIER = "01JDOSSIER0000000000000001"
ITEM: dict[str, Any] = {
    "id": "01JREQUEST0000000000000001",
    "signer_id": "01JSIGNER00000000000000001",
    "dossier_id": DOSSIER,
    "status": "SIGNED",
    "created_at": "2030-03-01T10:00:00.000Z",
    "updated_at": "2030-03-17T09:30:00.000Z",
    "expires_at": "2030-05-01T10:00:00+02:00",
}


def test_an_item_in_its_documented_shape_is_the_check_s_answer() -> None:
    found = listed_answer(ITEM, DOSSIER)
    assert found is not None
    answer, updated_at = found
    assert (answer.kind, answer.status, answer.http_status) == (Kind.REQUEST, "SIGNED", 200)
    assert answer.expires_at == 1903852800.0  # 2030-05-01 08:00 UTC
    assert answer.facts == (), "the flow learns nothing from the listing"
    assert updated_at == ITEM["updated_at"]
    assert dict(evidence(updated_at)) == {
        "status.read_from": LISTING,
        "status.updated_at": ITEM["updated_at"],
    }


@pytest.mark.parametrize(
    "changed",
    [
        {"status": "signed"},
        {"status": None},
        {"status": "SIGNED; DROP"},
        {"id": "../../x"},
        {"signer_id": None},
        {"dossier_id": "01JDOSSIER0000000000000002"},
        {"expires_at": "next week"},
        {"updated_at": 1_900_000_000},
        {"created_at": None},
    ],
)
def test_an_item_out_of_its_shape_is_not_trusted(changed: dict[str, Any]) -> None:
    assert listed_answer({**ITEM, **changed}, DOSSIER) is None


@pytest.mark.parametrize("missing", sorted(ITEM))
def test_an_item_without_a_required_field_is_not_trusted(missing: str) -> None:
    item = {k: v for k, v in ITEM.items() if k != missing}
    assert listed_answer(item, DOSSIER) is None


@pytest.mark.parametrize("item", [None, "SIGNED", ["SIGNED"], 7])
def test_an_item_that_is_not_an_object_is_not_trusted(item: object) -> None:
    assert listed_answer(item, DOSSIER) is None
