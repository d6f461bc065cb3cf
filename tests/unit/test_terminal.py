"""What ``firmaio`` prints to a terminal: control characters escaped, text of any alphabet kept."""

from __future__ import annotations

import io

import pytest

from firmaio.adapters.cli import main
from firmaio.adapters.cli.terminal import TerminalSafe, escaped


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x1b[2J\x1b]0;owned\x07", "\\x1b[2J\\x1b]0;owned\\x07"),
        ("ok\rforged", "ok\\x0dforged"),
        ("\x9b31m", "\\x9b31m"),
        ("nul\x00", "nul\\x00"),
        ("abc\u202edef\u2066", "abc\\u202edef\\u2066"),
        ("line\u2028sep", "line\\u2028sep"),
        ("Firma è già qui: 10 €\n\tok", "Firma è già qui: 10 €\n\tok"),
    ],
)
def test_control_characters_are_escaped_and_letters_kept(text: str, shown: str) -> None:
    assert escaped(text) == shown


def test_a_lone_carriage_return_rewrites_a_progress_line_and_nothing_else() -> None:
    out = io.StringIO()
    print("12/40 driven", end="\r", file=TerminalSafe(out))
    print("hidden\rshown", file=TerminalSafe(out))
    assert out.getvalue() == "12/40 driven\rhidden\\x0dshown\n"


def test_the_command_escapes_what_it_echoes_on_stdout_and_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A path echoed back in an error (here a PDF that does not exist) is escaped."""
    out = io.StringIO()
    argv = ["send", "/nonexistent/\x1b]0;owned\x07.pdf", "--field", "f", "--json"]
    assert main(argv, out=out) == 2
    err = capsys.readouterr().err
    for shown in (out.getvalue(), err):
        assert "\x1b" not in shown
        assert "\x07" not in shown
    assert "cannot read the PDF /nonexistent/\\x1b]0;owned\\x07.pdf" in err
