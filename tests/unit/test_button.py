"""The "Firma con IO" button snippet: PagoPA's web component wired to one refused request.

The snippet is read back with an HTML parser (the standard library's, which ends a script element
at ``</script`` as browsers do), and its JavaScript string literals are decoded as JSON: a
hostile id must come back whole from the attribute and from the script, and change nothing else.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from firmaio.fsm import Fallback, InvalidRequestId, Kind
from firmaio.fsm.driving.fallback import button_snippet
from firmaio.fsm.ids import check_request_id

ULID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
CDN_SCRIPT = "https://assets.cdn.io.pagopa.it/sign/io-sign.js"
"""The URL of the installation guide ("pulsante-firma-con-io/installazione-e-uso")."""
_LITERAL = r'("(?:[^"\\]|\\.)*")'
"""A JSON string literal, as the snippet writes its JavaScript strings."""


class _Snippet(HTMLParser):
    """The tags of a snippet, in order, with their attributes, and the text of its scripts."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.other: list[str] = []
        self._in_script = False
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = True
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data
        elif data.strip():
            self.other.append(data)

    def handle_comment(self, data: str) -> None:
        self.other.append(f"<!--{data}-->")


def _wiring(snippet: str) -> tuple[str, str, str]:
    """The element id the inline script looks up, the event it listens for, and the id it hands
    to ``redirectOrShowQrCode``, each decoded from its JavaScript literal."""
    parsed = _Snippet(snippet)
    [_module, inline] = parsed.scripts
    found = re.fullmatch(
        rf"\s*document\.getElementById\({_LITERAL}\)\.addEventListener\(\s*{_LITERAL},\s*"
        rf"\(event\) => event\.currentTarget\.redirectOrShowQrCode\({_LITERAL}\),\s*\);\s*",
        inline,
    )
    assert found, inline
    element_id, event, request_id = (json.loads(literal) for literal in found.groups())
    return element_id, event, request_id


def _check_structure(snippet: str, request_id: str) -> None:
    """The module script from the CDN, one ``<io-sign>``, one inline script wired to it; nothing
    else, and the id back whole wherever it is written."""
    parsed = _Snippet(snippet)
    assert [tag for tag, _ in parsed.tags] == ["script", "io-sign", "script"]
    assert parsed.tags[0][1] == {"type": "module", "src": CDN_SCRIPT}
    assert parsed.scripts[0] == ""
    assert set(parsed.tags[1][1]) == {"id"}  # no attribute smuggled in
    element_id = parsed.tags[1][1]["id"]
    assert element_id is not None
    assert request_id in element_id
    assert parsed.tags[2][1] == {}
    assert parsed.other == []
    assert "<" not in parsed.scripts[1]  # so neither </script> nor <!-- can act on the element
    assert _wiring(snippet) == (element_id, "io-sign.cta.click", request_id)


def test_the_snippet_loads_the_component_and_hands_it_the_request() -> None:
    """The installation guide's script tag (a module), the element, and a listener for the
    component's event that calls ``redirectOrShowQrCode`` with this request's id."""
    snippet = button_snippet(ULID)
    assert f'<script type="module" src="{CDN_SCRIPT}"></script>' in snippet
    assert "<io-sign " in snippet
    assert '"io-sign.cta.click"' in snippet
    assert f'redirectOrShowQrCode("{ULID}")' in snippet
    _check_structure(snippet, ULID)


def test_each_request_has_its_own_element() -> None:
    """Two snippets on one page address two elements, and declare nothing that could clash."""
    one, two = button_snippet(ULID), button_snippet("01BX5ZZKBKACTAV9WEVGEMMVRZ")
    assert _Snippet(one).tags[1][1]["id"] != _Snippet(two).tags[1][1]["id"]
    assert not re.search(r"\b(const|let|var|function|class)\b", _Snippet(one).scripts[1])


def test_the_fallback_offers_the_button_for_its_request() -> None:
    fallback = Fallback.for_refusal(ULID, Kind.MESSAGES_DISABLED)
    assert fallback.button_html() == button_snippet(ULID)
    assert _wiring(fallback.button_html())[2] == ULID


@pytest.mark.parametrize(
    "request_id",
    ["x</script><script>alert(1)", '"><img src=x onerror=alert(1)>', "a b", "", "../x", "x" * 129],
)
def test_an_unusable_id_is_refused(request_id: str) -> None:
    """Ids check_request_id refuses (a ``/``, whitespace, empty, ``..``, too long) give no
    snippet: ``</script>`` cannot be spelled in an accepted id."""
    with pytest.raises(InvalidRequestId):
        button_snippet(request_id)


HOSTILE = [
    'x"onmouseover="alert(1)',
    "x'-alert(1)-'",
    "<!--<script>",
    'x");alert(1);("',
    "<io-sign>&amp;&lt;",
    "x`${alert(1)}`",
    "x\u00e8\u20ac<>",
]
"""Ids check_request_id accepts that would break out of an attribute or a script if written
unescaped."""


@pytest.mark.parametrize("request_id", HOSTILE)
def test_a_hostile_id_that_passes_the_check_is_escaped(request_id: str) -> None:
    assert check_request_id(request_id) == request_id
    _check_structure(button_snippet(request_id), request_id)


MARKUP = st.sampled_from("<>\"'&!-=;()`${}")
"""Characters that mean something to HTML or JavaScript, drawn often."""
PRINTABLE = st.characters(categories=["L", "N", "P", "S"])


@given(st.text(alphabet=st.one_of(MARKUP, PRINTABLE), min_size=1, max_size=40))
def test_any_accepted_id_comes_back_whole_and_changes_nothing_else(request_id: str) -> None:
    try:
        check_request_id(request_id)
    except InvalidRequestId:
        assume(False)
    _check_structure(button_snippet(request_id), request_id)
