"""One catalogue of the reviewer's words: every state, trigger, guard and reason of the machine
(:mod:`.machine`) and the words of the report and the evidence document (:mod:`.words`), in
Italian (the default) and English; dates written the Italian way.

Pages show a label beside its code name, never instead of it: the code name is what the records,
the diagrams and the API say. A name the catalogue does not know (a table of your own) is shown
as it is. Pure data and lookups: the report, the evidence document and a web console read it.
"""

from __future__ import annotations

import enum
from datetime import datetime

from .machine import GUARDS, REASONS, STATES, TRIGGERS
from .words import MONTHS, WORDS

__all__ = ["DEFAULT_LANG", "LANGS", "Kind", "catalogue", "date_text", "label", "word"]

LANGS = ("it", "en")
DEFAULT_LANG = "it"


class Kind(enum.StrEnum):
    """What a code name names."""

    STATE = "state"
    TRIGGER = "trigger"
    GUARD = "guard"
    REASON = "reason"


_CATALOGUES: dict[Kind, dict[str, tuple[str, str]]] = {
    Kind.STATE: STATES,
    Kind.TRIGGER: TRIGGERS,
    Kind.GUARD: GUARDS,
    Kind.REASON: REASONS,
}


def _index(lang: str) -> int:
    if lang not in LANGS:
        raise ValueError(f"no labels in {lang!r}; the languages: {', '.join(LANGS)}")
    return LANGS.index(lang)


def catalogue(kind: Kind) -> dict[str, tuple[str, str]]:
    """Every code name of ``kind`` with its labels, ``(Italian, English)``."""
    return dict(_CATALOGUES[kind])


def label(kind: Kind, name: str, lang: str = DEFAULT_LANG) -> str:
    """The label of the code name ``name`` in ``lang``; ``name`` itself when it has none."""
    found = _CATALOGUES[kind].get(name)
    return name if found is None else found[_index(lang)]


def word(key: str, lang: str = DEFAULT_LANG) -> str:
    """One of the pages' words or sentences (:data:`.words.WORDS`); a missing key is a bug."""
    return WORDS[key][_index(lang)]


def date_text(moment: datetime, lang: str = DEFAULT_LANG, *, seconds: bool = True) -> str:
    """``moment`` as a reader writes it: ``6 dicembre 2026, 11:03:54`` in Italian,
    ``6 December 2026, 11:03:54`` in English, in ``moment``'s own time zone.

    >>> from datetime import UTC, datetime
    >>> date_text(datetime(2026, 12, 6, 9, 5, 7, tzinfo=UTC))
    '6 dicembre 2026, 09:05:07'
    >>> date_text(datetime(2026, 3, 1, 18, 0, tzinfo=UTC), "en", seconds=False)
    '1 March 2026, 18:00'
    """
    month = MONTHS[moment.month - 1][_index(lang)]
    clock = moment.strftime("%H:%M:%S" if seconds else "%H:%M")
    return f"{moment.day} {month} {moment.year}, {clock}"
