"""What ``firmaio`` writes to a terminal: text the service sent is shown, never obeyed.

A problem's ``detail``, a refused PDF's reasons, an unknown status: text from the service reaches
the operator's screen in a trail, an error or a summary. A control character in it (an escape
sequence that clears the screen or retitles the window, a carriage return that hides what came
before it, a right-to-left override that reorders a line) would act on the terminal. Every line
the command prints goes through :class:`TerminalSafe`, which writes each character that is not
printable as its Python escape (``\\x1b``, ``\\u202e``); line breaks and tabs are kept, and
letters of any alphabet pass as they are. JSON output is unchanged: ``json.dump`` escapes control
characters itself.
"""

from __future__ import annotations

import io
import re
from typing import TextIO

_SUSPECT = re.compile(r"[^\x20-\x7e\n\t]")
"""Characters that may not be printable: everything but printable ASCII, line break and tab."""


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char.isprintable():  # è, €, a letter of any alphabet
        return char
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def escaped(text: str) -> str:
    """``text`` with every character that is not printable (but line breaks and tabs) escaped."""
    return _SUSPECT.sub(_escape, text)


class TerminalSafe(io.TextIOBase):
    """A text stream that writes to ``stream`` what :func:`escaped` makes of it.

    One write of a lone carriage return passes as it is: that is how a progress line rewrites
    itself (``print(..., end="\\r")``); a carriage return inside any other text is escaped.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        self.stream.write(text if text == "\r" else escaped(text))
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def close(self) -> None:
        """Nothing to close: the stream written to is its owner's (``sys.stdout``, a test's)."""

    def isatty(self) -> bool:
        return self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()

    def writable(self) -> bool:
        return True
