"""The manual's shell examples, as a test runs them: every fenced ``console`` block of README.md
and docs/*.md, each ``$ command`` with the output printed under it.

A block runs in a folder of its own (the sandbox's sample PDF there as ``modulo.pdf``), against
a sandbox of its own on loopback whose key is ``sandbox-key`` (``FIRMAIO_API_KEY`` and
``FIRMAIO_BASE_URL`` are set), where every signature-request id a command names is a READY
request for a citizen with messages on. What a block may hold:

* ``$ firmaio ...``: run in-process (:func:`firmaio.adapters.cli.main`); its standard output is
  compared with the lines under it, ``...`` standing for any text (doctest's ELLIPSIS); a last
  line ``[exit N]`` is the exit code expected (none: 0);
* ``$ export NAME=VALUE ...``: set for the block's next commands;
* ``$ pip install 'firmaio-fsm[EXTRA,...]'``: not run; each extra must be one the package has;
* ``$ sqlite3 FILE "SQL"``: the statement run on that SQLite file (a store edited by hand).

Anything else is refused, naming the command: a block that is not meant to run is ``sh``.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```console\n(.*?)^```$", re.MULTILINE | re.DOTALL)
REQUEST_ID = re.compile(r"\b[0-9A-HJKMNP-TV-Z]{26}\b")
EXIT = re.compile(r"^\[exit (\d+)\]$")


@dataclass
class Command:
    line: str
    """The command as written (continuation lines joined)."""
    output: list[str] = field(default_factory=list)

    @property
    def words(self) -> list[str]:
        return shlex.split(self.line, comments=True)

    @property
    def exit_code(self) -> int:
        found = EXIT.match(self.output[-1]) if self.output else None
        return int(found.group(1)) if found else 0

    @property
    def expected(self) -> str:
        """The output expected on stdout (without the ``[exit N]`` line)."""
        lines = self.output
        if lines and EXIT.match(lines[-1]):
            lines = lines[:-1]
        return "".join(f"{line}\n" for line in lines)


@dataclass
class Block:
    page: str
    line: int
    commands: list[Command]

    @property
    def name(self) -> str:
        return f"{self.page}:{self.line}"


def parse(text: str) -> list[Command]:
    """A console block's commands, each with the output under it."""
    commands: list[Command] = []
    pending = ""
    for raw in text.splitlines():
        if pending or raw.startswith("$ "):
            line = pending + (raw[2:] if not pending else raw.strip())
            if line.endswith("\\"):
                pending = line[:-1].rstrip() + " "
                continue
            pending = ""
            commands.append(Command(line))
        elif commands:
            commands[-1].output.append(raw)
        elif raw.strip():
            raise ValueError(f"output before any command: {raw!r}")
    return commands


def blocks() -> list[Block]:
    """Every console block of the manual, in page order."""
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            line = text[: match.start()].count("\n") + 1
            found.append(Block(str(page.relative_to(ROOT)), line, parse(match.group(1))))
    return found


def request_ids(block: Block) -> list[str]:
    """The signature-request ids the block's commands name (each becomes a READY request)."""
    ids: list[str] = []
    for command in block.commands:
        for found in REQUEST_ID.findall(command.line):
            if found not in ids:
                ids.append(found)
    return ids
