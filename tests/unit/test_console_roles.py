"""The console's pure parts: roles per tenant (each role allows what the one below it does, ``*``
holds in every tenant), the refusal reasons the list filters by (the table's own words), the
actions each state allows (as the table says), and the words in both languages."""

from __future__ import annotations

from typing import Any

import pytest

from firmaio.adapters.console.auth import LoginLimiter, Who
from firmaio.adapters.console.flowpage import allowed_actions
from firmaio.adapters.console.text import TEXT, translator
from firmaio.adapters.store.listing import REFUSALS
from firmaio.fsm.machine import reasons


def test_a_role_allows_what_the_ones_below_it_do() -> None:
    who = Who("maria", {"a": "operator", "b": "viewer"})
    assert who.may("a", "viewer")
    assert who.may("a", "operator")
    assert not who.may("a", "admin")
    assert not who.may("b", "operator")
    assert not who.may("c", "viewer")
    assert who.tenants() == ("a", "b")
    assert who.tenants("operator") == ("a",)


def test_a_role_in_every_tenant() -> None:
    auditor = Who("audit", {"*": "viewer", "a": "admin"})
    assert auditor.tenants() is None  # every tenant
    assert auditor.tenants("operator") == ("a",)
    assert auditor.may("z", "viewer")
    assert not auditor.may("z", "operator")


def test_the_refusal_reasons_are_the_table_s_words() -> None:
    no_answer: Any = None  # neither reason reads the answer
    assert {
        "messages_disabled": reasons.messages_disabled(no_answer),
        "no_io_profile": reasons.no_io_profile(no_answer),
    } == REFUSALS


@pytest.mark.parametrize(
    ("state", "actions"),
    [
        ("NOTIFIED", {"cancel"}),
        ("FALLBACK_SUGGESTED", {"cancel", "notify", "fallback"}),
        ("SIGNED", {"fetch"}),
        ("CANCELLED", set()),
    ],
)
def test_each_state_allows_the_actions_the_table_does(state: str, actions: set[str]) -> None:
    assert allowed_actions(state) == actions


def test_sign_ins_are_limited_per_key_in_a_window() -> None:
    limiter = LoginLimiter(2, 60.0)
    limiter.failed(["name:maria"], 0.0)
    limiter.failed(["name:maria"], 1.0)
    assert not limiter.allowed(["name:maria", "client:1.2.3.4"], 2.0)
    assert limiter.allowed(["name:luca", "client:1.2.3.4"], 2.0)
    assert limiter.allowed(["name:maria"], 61.5)  # the first failure left the window


def test_every_word_is_in_italian_and_english() -> None:
    assert all(it and en for it, en in TEXT.values())
    assert translator("it")("sign_in") == "Accedi"
    assert translator("en")("sign_in") == "Sign in"
    assert translator("fr")("sign_in") == "Accedi"  # Italian first
    assert translator("en")("no such key") == "no such key"
