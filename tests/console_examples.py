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

The folder holds the files of :data:`GIVEN` too, and an absolute path of the examples
(``/secure/checkpoint.key``) is that path under the folder, as in a ``sh`` block.

Anything else is refused, naming the command.

Every fenced ``sh`` block runs too (:func:`sh_blocks`; ``tests/http/test_sh_examples.py``), a
page's blocks in order in one folder of their own, against the session's loopback sandbox: each
command must exit 0, its output is not compared (a ``console`` block is for that). The folder
holds ``flows.sqlite`` with a NOTIFIED flow, and the files of :data:`GIVEN`; ``FIRMAIO_API_KEY``,
``FIRMAIO_BASE_URL`` and ``FIRMAIO_FISCAL_CODE`` are set. A command runs with its documented
placeholders given real values (:func:`filled`):

* ``FLOW_ID``, ``ID``, ``ID...``: a flow of the command's store (``--db``, or ``$FIRMAIO_DB``):
  the last one a ``send`` of the page made, else the store's NOTIFIED flow; for ``fetch`` its
  request is signed first ("once SIGNED"), for ``delivered`` it is a flow the fallback was offered
  to ("a refused citizen"); ``REQUEST_ID``: that flow's request;
* ``...`` as a value: :data:`ELLIPSES` (``--db ...`` is ``flows.sqlite``, a key is the sandbox's);
* ``[optional parts]``: given (the brackets dropped; of ``a | b``, the first);
* an absolute path (``/etc/firmaio/...``): the same path under the folder;
* the sandbox's address in the examples, ``http://127.0.0.1:7071``: the session sandbox's.

Besides ``firmaio`` (``.venv/bin/firmaio`` too) and the commands of a ``console`` block, a ``sh``
block may hold ``NAME=VALUE firmaio ...``, ``echo TEXT | firmaio ...`` (TEXT on standard input),
``read -rs NAME`` (a made-up fiscal code typed), ``curl`` (run, on loopback) and ``python3 FILE``
(run). A command that cannot run on a test machine (a server, ``make``, ``systemctl``...) is in
:data:`NOT_RUN`, with the reason, the one list of them; a ``firmaio`` command there is still
parsed, so its options exist. A command neither runnable nor listed fails the test, naming it,
and so does an entry of :data:`NOT_RUN` that matches no command any more.
"""

from __future__ import annotations

import contextlib
import doctest
import io
import json
import re
import shlex
import sqlite3
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from firmaio.adapters.cli import main

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```console\n(.*?)^```$", re.MULTILINE | re.DOTALL)
REQUEST_ID = re.compile(r"\b[0-9A-HJKMNP-TV-Z]{26}\b")
EXIT = re.compile(r"^\[exit (\d+)\]$")
EXTRAS = set(
    tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]
)
CHECKER = doctest.OutputChecker()
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@dataclass
class Command:
    line: str
    """The command as written (continuation lines joined)."""
    output: list[str] = field(default_factory=list)

    @property
    def words(self) -> list[str]:
        """The command's words, an absolute path of the examples (``/secure/...``) made relative
        to the block's folder, where :data:`GIVEN` has its files."""
        return shlex.split(ABSOLUTE.sub(lambda m: m.group(0)[1:], self.line), comments=True)

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


SH_FENCE = re.compile(r"^```sh\n(.*?)^```$", re.MULTILINE | re.DOTALL)


@dataclass
class ShBlock:
    page: str
    line: int
    commands: list[str]
    """Each command as written, continuation lines joined; comment lines left out."""

    @property
    def name(self) -> str:
        return f"{self.page}:{self.line}"


def sh_commands(text: str) -> list[str]:
    """A ``sh`` block's commands (a line ending in ``\\`` continues on the next)."""
    commands: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = pending + (raw.strip() if pending else raw)
        if line.endswith("\\"):
            pending = line[:-1].rstrip() + " "
            continue
        pending = ""
        if line.strip() and not line.lstrip().startswith("#"):
            commands.append(line.strip())
    return commands


def sh_blocks() -> list[ShBlock]:
    """Every ``sh`` block of the manual, in page order."""
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for match in SH_FENCE.finditer(text):
            line = text[: match.start()].count("\n") + 1
            name = str(page.relative_to(ROOT))
            found.append(ShBlock(name, line, sh_commands(match.group(1))))
    return found


SERVES = "serves until stopped (a server, a worker or a feed followed until SIGINT)"
MAKE = "make runs the project's own targets (the suite itself, the demo, the benchmarks)"
HOST = "installs on the host (a system user, /opt, /etc, systemd): a machine to deploy on"

NOT_RUN: dict[tuple[str, str], str] = {
    ("README.md", "make "): MAKE,
    ("README.md", "FIRMAIO_CONSOLE_SECRET=... firmaio console --db"): SERVES,
    ("README.md", "firmaio worker "): SERVES,
    ("README.md", "firmaio enqueue --db postgresql://firmaio@db/"): (
        "queues on a PostgreSQL server named db, for workers running there"
    ),
    ("docs/console.md", "firmaio console --db"): SERVES,
    ("docs/development.md", "make "): MAKE,
    ("docs/events.md", "firmaio events --follow"): SERVES,
    ("docs/issuer.md", ".venv/bin/firmaio sandbox "): SERVES,
    ("docs/machine.md", "make "): MAKE,
    ("docs/operations.md", "python3 -m venv /opt/"): HOST,
    ("docs/operations.md", "useradd "): HOST,
    ("docs/operations.md", "install -d "): HOST,
    ("docs/operations.md", "cp deploy/systemd/"): HOST,
    ("docs/operations.md", "systemctl "): HOST,
    ("docs/report.md", "make "): MAKE,
    ("docs/sandbox.md", ".venv/bin/firmaio sandbox "): SERVES,
    ("docs/workers.md", "firmaio worker "): SERVES,
    ("docs/workers.md", "firmaio enqueue --db postgresql://firmaio@db/"): (
        "queues on a PostgreSQL server named db, for workers running there"
    ),
}
"""The manual's shell commands that do not run in the suite, each with the reason: a key is a
page and how the command starts."""


def serves(words: list[str]) -> bool:
    """Whether ``firmaio`` with these words runs until stopped (it cannot run in the suite)."""
    command = words[1] if len(words) > 1 else ""
    if command == "console":
        return len(words) < 3 or words[2] != "add-user"
    return command in ("serve", "worker", "sandbox") or (
        command == "events" and "--follow" in words
    )


def not_run(page: str, command: str) -> str | None:
    """Why ``command`` of ``page`` is not run (None: it runs)."""
    for (where, start), reason in NOT_RUN.items():
        if where == page and command.startswith(start):
            return reason
    return None


SANDBOX_IN_EXAMPLES = "http://127.0.0.1:7071"
"""The sandbox's address the manual's examples use (``firmaio sandbox --port 7071``)."""

ELLIPSES = {
    "--db": "flows.sqlite",
    "FIRMAIO_API_KEY": "sandbox-key",
    "FIRMAIO_CONSOLE_SECRET": "a-console-secret-of-the-manual-examples-0123456789",
    "FIRMAIO_KEY_ROMA": "sandbox-key",
    "FIRMAIO_KEY_MILANO": "sandbox-key",
}
"""What ``...`` stands for after each option or in each variable of the manual's examples."""

GIVEN: dict[str, str] = {
    "/run/secrets/maria": "una password lunga abbastanza per la console\n",
    "/secure/checkpoint.key": "5f" * 32 + "\n",
    "fields.json": json.dumps(
        {
            pdf: [
                {
                    "attrs": {"unique_name": "firma_richiedente"},
                    "clause": {"title": title, "type": "REQUIRED"},
                }
            ]
            for pdf, title in (
                ("contratto.pdf", "Firma del contratto"),
                ("allegato.pdf", "Presa visione"),
            )
        }
    ),
    "tenants.toml": '[comune-di-roma]\nkey_env = "FIRMAIO_API_KEY"\n',
}
"""Files the examples name as already there, written (mode 600) in the folder they run in; the
PDFs they name (``modulo.pdf``, ``contratto.pdf``...) are the sandbox's sample PDF, and
``verifica.py`` is docs/evidence.md's own listing."""

OPTIONAL = re.compile(r"\[([^\[\]]*)\]")
ABSOLUTE = re.compile(r"(?<![\w:/.])/(?:etc|run|secure|audit)/")


def filled(command: str, values: dict[str, str]) -> str:
    """``command`` with its placeholders given ``values`` (keys ``FLOW_ID``, ``ID``,
    ``REQUEST_ID``, ``SANDBOX``): optional parts given, ``...`` values, absolute paths made
    relative to the folder."""
    command = OPTIONAL.sub(lambda m: m.group(1).split(" | ")[0], command)
    command = command.replace(SANDBOX_IN_EXAMPLES, values["SANDBOX"])
    for name, value in ELLIPSES.items():
        command = re.sub(rf"({re.escape(name)}[ =])\.\.\.(?=\s|$)", rf"\g<1>{value}", command)
    command = ABSOLUTE.sub(lambda m: m.group(0)[1:], command)
    for name in ("FLOW_ID", "REQUEST_ID"):
        if name in values:
            command = command.replace(name, values[name])
    if "ID" in values:
        command = re.sub(r"\bID(\.\.\.)?(?=\W|$)", values["ID"], command)
    return command


def run(command: Command, block: Block | ShBlock, *, compare: bool = True) -> str:
    """Run ``command`` of ``block``; return what it printed. ``compare``: its output must be
    what the manual shows under it (a ``sh`` block shows none: only its exit code counts)."""
    words = command.words
    if words[0] == "export":
        return ""  # set by the caller
    if words[0] == "sqlite3":  # a store edited by hand
        with contextlib.closing(sqlite3.connect(words[1])) as db, db:
            db.execute(words[2])
        return ""
    if Path(words[0]).name == "pip":
        wanted = {e for w in words if "[" in w for e in w.split("[")[1].rstrip("]").split(",")}
        assert wanted <= EXTRAS, f"{block.name}: no such extra {sorted(wanted - EXTRAS)}"
        return ""
    assert words[0] == "firmaio", (
        f"{block.name}: `{command.line}` cannot run in the suite: in a sh block, list it in "
        "NOT_RUN (tests/console_examples.py) with the reason"
    )
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(words[1:], out=out)
    shown = out.getvalue()
    assert code == command.exit_code, (
        f"{block.name}: `{command.line}` exited {code}:\n{shown}{err.getvalue()}"
    )
    assert not compare or CHECKER.check_output(command.expected, shown, FLAGS), (
        f"{block.name}: `{command.line}` printed\n{shown}\nthe manual shows\n{command.expected}"
    )
    return shown
