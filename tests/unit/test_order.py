"""An Order is checked as the service checks it: each bad field is named, and the citizen's fiscal
code, held in memory only, never appears in an error, a repr or the order's facts."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmaio.fsm import InvalidInput
from firmaio.fsm.machine.order import (
    Order,
    check_expiry,
    check_fiscal_code,
    default_title,
    holds_fiscal_code,
    units,
)
from firmaio.fsm.testing import EXAMPLE_ORDER

FISCAL_CODE = "RSSMRA80A01H501U"
FIELD = EXAMPLE_ORDER.fields[0]


def _values(**changes: Any) -> dict[str, Any]:
    values = {
        "pdf": EXAMPLE_ORDER.pdf,
        "pdf_sha256": EXAMPLE_ORDER.pdf_sha256,
        "pdf_size": EXAMPLE_ORDER.pdf_size,
        "fields": EXAMPLE_ORDER.fields,
        "document_title": EXAMPLE_ORDER.document_title,
        "dossier_title": EXAMPLE_ORDER.dossier_title,
        "fiscal_code": FISCAL_CODE,
    }
    values.update(changes)
    return values


def _placed(**attrs: Any) -> dict[str, Any]:
    base = {"coordinates": {"x": 10, "y": 20}, "page": 0, "size": {"w": 120, "h": 40}}
    base.update(attrs)
    return {"attrs": base, "clause": {"title": "Firma del richiedente", "type": "REQUIRED"}}


def test_the_example_order_is_valid_and_holds_the_fiscal_code_in_memory() -> None:
    EXAMPLE_ORDER.check()
    assert EXAMPLE_ORDER.fiscal_code == FISCAL_CODE
    assert len(EXAMPLE_ORDER.pdf_sha256) == 64
    assert EXAMPLE_ORDER.fields[0]["attrs"] == {"unique_name": "firma_richiedente"}
    assert Order.checked(**_values(fields=(_placed(),))).fields[0]["attrs"]["page"] == 0


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"pdf": ""}, "names no PDF"),
        ({"pdf_sha256": "abc"}, "SHA-256"),
        ({"pdf_sha256": "G" * 64}, "SHA-256"),
        ({"pdf_size": 0}, "positive size"),
        ({"fields": ()}, "signature fields must be a non-empty list"),
        ({"fields": "firma"}, "signature fields must be a non-empty list"),
        ({"fields": ("firma",)}, "signature field 0 must be an object"),
        ({"fields": ({"attrs": {"unique_name": "x"}},)}, "signature field 0: clause.type"),
        (
            {"fields": ({**FIELD, "clause": {"title": "Firma", "type": "LATER"}},)},
            "clause.type must be one of REQUIRED, UNFAIR, OPTIONAL",
        ),
        (
            {"fields": ({**FIELD, "clause": {"title": "Fir", "type": "REQUIRED"}},)},
            "clause.title must have 5 to 79 characters",
        ),
        (
            {"fields": (FIELD, {**FIELD, "attrs": "here"})},
            "signature field 1: attrs must be an object",
        ),
        ({"fields": ({**FIELD, "attrs": {"unique_name": ""}},)}, "attrs.unique_name"),
        ({"fields": (_placed(page=-1),)}, "attrs needs unique_name, or page"),
        ({"fields": (_placed(coordinates={"x": 1}),)}, "attrs.coordinates.y must be a number"),
        ({"fields": (_placed(size={"w": -1, "h": 2}),)}, "attrs.size.w must be a number"),
        (
            {"fields": ({**FIELD, "clause": {"title": "Firma facoltativa", "type": "OPTIONAL"}},)},
            "at least one clause that is not OPTIONAL",
        ),
        ({"document_title": "ab"}, "document title must have 3 to 60 characters"),
        ({"document_title": "x" * 61}, "document title must have 3 to 60 characters"),
        ({"dossier_title": None}, "either a new dossier's title or an existing dossier's id"),
        ({"dossier_id": "01GG4NFBCN4ZH8ETCCKX3A6V4J"}, "either a new dossier's title"),
        ({"dossier_title": "ab"}, "dossier title must have at least 3 characters"),
        ({"expires_at": "tomorrow"}, "expires_at 'tomorrow' is not an ISO-8601"),
        ({"expires_at": "2027-06-01T12:00:00"}, "needs a time zone"),
        ({"support_email": "help.example"}, "support e-mail is not an e-mail address"),
        ({"validation_timeout": 0}, "timeouts must be positive"),
        ({"activation_timeout": -1.0}, "timeouts must be positive"),
        ({"fiscal_code": "RSSMRA80A01H501"}, "fiscal code is not a personal fiscal code"),
        ({"fiscal_code": 80}, "fiscal code must be a string, got int"),
    ],
)
def test_each_bad_field_is_named_and_no_fiscal_code_is_repeated(
    changes: dict[str, Any], named: str
) -> None:
    with pytest.raises(InvalidInput, match=named) as caught:
        Order.checked(**_values(**changes))
    for text in (str(caught.value), repr(caught.value)):
        assert FISCAL_CODE not in text
        assert "RSSMRA80A01H501" not in text


@pytest.mark.parametrize(
    "bad", ["RSSMRA80A01H501", "rssmra80a01h501u", "RSSMRA80A01H501UX", " RSSMRA80A01H501U"]
)
def test_a_bad_fiscal_code_is_described_never_repeated(bad: str) -> None:
    with pytest.raises(InvalidInput, match="fiscal code") as caught:
        EXAMPLE_ORDER.with_fiscal_code(bad)
    assert bad.strip().upper()[:15] not in str(caught.value).upper()
    assert f"{len(bad)} characters" in str(caught.value)
    assert check_fiscal_code(FISCAL_CODE) == FISCAL_CODE


def test_the_fiscal_code_is_in_no_repr_fact_or_comparison() -> None:
    order = replace(EXAMPLE_ORDER, fiscal_code=None).with_fiscal_code(FISCAL_CODE)
    assert order.fiscal_code == FISCAL_CODE
    assert FISCAL_CODE not in repr(order)
    assert FISCAL_CODE not in str(order)
    assert all(FISCAL_CODE not in f"{name}={value}" for name, value in order.facts())
    assert order == replace(order, fiscal_code=None)  # the same order, whoever it is for


def test_an_order_s_facts_read_back_as_the_same_order_without_the_fiscal_code() -> None:
    facts = dict(EXAMPLE_ORDER.facts())
    assert all(name.startswith("order.") for name in facts)
    assert "order.dossier_title" in facts
    assert "order.existing_dossier_id" not in facts
    again = Order.from_facts(facts)
    assert again == EXAMPLE_ORDER
    assert again is not None
    assert again.fiscal_code is None
    again.check()
    assert Order.from_facts({"signer_id": "S1"}) is None  # a flow started at READY


def test_an_existing_dossier_and_an_expiry_survive_the_facts() -> None:
    order = Order.checked(
        **_values(
            dossier_title=None,
            dossier_id="01GG4NFBCN4ZH8ETCCKX3A6V4J",
            expires_at="2027-06-01T12:00:00+02:00",
            support_email="firma@comune.example.it",
            validation_timeout=60.0,
        )
    )
    assert Order.from_facts(dict(order.facts())) == order
    assert check_expiry("2027-06-01T10:00:00Z") == check_expiry("2027-06-01T12:00:00+02:00")


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("domanda-RSSMRA80A01H501U", "domanda"),
        ("RSSMRA80A01H501U", "Documento"),
        ("modulo_rssmra80a01h501u_firmato", "modulo firmato"),
        ("praticaRSSMRA80A01H501Ubis", "pratica bis"),
        ("t", "Documento t"),
        ("Modulo di adesione", "Modulo di adesione"),
        ("x" * 70, "x" * 60),
        ("\U0001f4c4" * 40, "\U0001f4c4" * 30),  # 2 UTF-16 units each, as the service counts
    ],
)
def test_a_default_title_holds_no_fiscal_code_and_fits_the_service(name: str, title: str) -> None:
    assert default_title(name) == title


@given(st.text(max_size=90))
def test_every_default_title_is_one_the_order_takes(name: str) -> None:
    title = default_title(name)
    assert 3 <= units(title) <= 60
    assert not holds_fiscal_code(title)
    Order.checked(**_values(document_title=title))


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("document_title", "Domanda RSSMRA80A01H501U", "the document title"),
        ("dossier_title", "pratica di rssmra80a01h501u", "the dossier title"),
        ("support_email", "rssmra80a01h501u@example.it", "the support e-mail"),
        (
            "fields",
            ({"attrs": {"unique_name": "firma_RSSMRA80A01H501U"}, "clause": FIELD["clause"]},),
            "the signature field 0's name",
        ),
    ],
)
def test_a_fiscal_code_in_what_the_service_keeps_is_refused_by_field(
    field: str, value: object, named: str
) -> None:
    with pytest.raises(InvalidInput, match=f"^{named}.* holds a fiscal code") as refused:
        Order.checked(**_values(**{field: value}))
    assert FISCAL_CODE.lower() not in str(refused.value).lower()
