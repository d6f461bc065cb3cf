"""The reviewer's language: every state, trigger, guard and reason of the machine has a label in
Italian and in English, and the catalogue names nothing the machine does not have."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from firmaio.fsm.labels import LANGS, Kind, catalogue, label, word
from firmaio.fsm.labels.words import WORDS
from firmaio.fsm.machine import TABLE, State, Trigger, reasons
from firmaio.fsm.trail import Outcome


def machine_names() -> dict[Kind, set[str]]:
    """Every code name the machine has, by kind: states, triggers, the guards and the reasons
    of its rows, and every reason a refusal or failure can give."""
    reason_functions = {
        name
        for name, function in inspect.getmembers(reasons, inspect.isfunction)
        if function.__module__ == reasons.__name__ and not name.startswith("_")
    }
    return {
        Kind.STATE: {str(s) for s in State},
        Kind.TRIGGER: {str(t) for t in Trigger},
        Kind.GUARD: {row.guard_name for row in TABLE if row.guard_name is not None},
        Kind.REASON: {row.reason.__name__ for row in TABLE if row.reason is not None}
        | reason_functions,
    }


@pytest.mark.parametrize("kind", list(Kind))
@pytest.mark.parametrize("lang", LANGS)
def test_every_code_name_has_a_label_in_both_languages(kind: Kind, lang: str) -> None:
    names = machine_names()[kind]
    unlabelled = sorted(n for n in names if label(kind, n, lang) == n or not label(kind, n, lang))
    assert not unlabelled, f"{kind}s without a label in {lang}: add them to fsm/labels/machine.py"


@pytest.mark.parametrize("kind", list(Kind))
def test_the_catalogue_names_only_what_the_machine_has(kind: Kind) -> None:
    stale = sorted(set(catalogue(kind)) - machine_names()[kind])
    assert not stale, f"labels of {kind}s the machine no longer has: {stale}"


def test_italian_is_the_default_and_english_is_on_request() -> None:
    assert label(Kind.STATE, "SIGNED") == "Firmata"
    assert label(Kind.STATE, "SIGNED", "en") == "Signed"
    assert label(Kind.TRIGGER, "notify") == "Invio del messaggio su IO"
    assert word("trail") == "Registro"
    assert word("trail", "en") == "Trail"
    assert label(Kind.STATE, "A_STATE_OF_YOUR_OWN") == "A_STATE_OF_YOUR_OWN"
    with pytest.raises(ValueError, match="no labels in 'fr'"):
        label(Kind.STATE, "SIGNED", "fr")


def test_every_word_is_in_both_languages() -> None:
    assert all(it.strip() and en.strip() for it, en in WORDS.values())
    italian = {it for it, _ in WORDS.values()}
    assert "Percorso seguito" in italian


def test_every_word_is_used_by_a_page() -> None:
    """The catalogue holds no word that no template or module asks for (the outcomes and the
    facts' words are asked for by the value they name)."""
    root = Path(__file__).resolve().parents[2]
    sources = "".join(
        path.read_text()
        for folder in ("adapters", "fsm")
        for path in (root / folder).rglob("*")
        if path.suffix in (".j2", ".py") and path.name != "words.py"
    )
    kinds = ("sent_sha256", "signed_sha256", "channel", "note", "signer_id")
    asked_by_value = {str(outcome) for outcome in Outcome} | {f"fact_{kind}" for kind in kinds}
    asked_by_value |= {f"basis_{kind}" for kind in ("page", "own", "notes")}
    unused = [
        key
        for key in WORDS
        if key not in asked_by_value and f"'{key}'" not in sources and f'"{key}"' not in sources
    ]
    assert not unused, f"words no page uses: {unused}"
