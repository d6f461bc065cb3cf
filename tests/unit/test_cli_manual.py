"""docs/cli.md and the command say the same, in both directions: every command's arguments
(the generated reference against each command's parser), every option the prose names, every
environment variable, every exit code with its name."""

from __future__ import annotations

import re
from pathlib import Path

from firmaio.adapters.cli import exits
from firmaio.adapters.cli.conventions import env_name, walk
from firmaio.adapters.cli.diagram import generated_block
from firmaio.adapters.cli.manual import commands
from firmaio.adapters.cli.parser import build_parser

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
START, END = "<!-- BEGIN generated:options -->\n", "<!-- END generated:options -->"
PROSE = PAGE.split(START)[0] + PAGE.split(END)[1]
OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")
VARIABLE = re.compile(r"\bFIRMAIO_[A-Z_]*[A-Z]\b")


def helps() -> dict[str, str]:
    """Each command's ``--help``, as it prints it."""
    return {name: sub.format_help() for name, sub in commands(build_parser()).items()}


def test_every_commands_arguments_are_the_pages_and_only_those() -> None:
    """The reference in docs/cli.md is each command's parser, argument for argument: on a
    mismatch, run `make diagrams` (it rewrites the block) and commit."""
    block = PAGE.split(START, 1)[1].split(END, 1)[0]
    assert block == generated_block("options"), "docs/cli.md drifted: run `make diagrams`"
    for name, shown in helps().items():
        for option in set(OPTION.findall(shown)) - {"--help"}:
            assert f"`{option}" in block, f"firmaio {name} {option} is not in docs/cli.md"


MISTYPED = {"--qr-dirr"}
"""Options the page names on purpose as a user's typo (its "did you mean" example)."""


def test_every_option_the_prose_names_is_an_option_of_a_command() -> None:
    known = {option for shown in helps().values() for option in OPTION.findall(shown)}
    known |= set(OPTION.findall(build_parser().format_help()))  # --version, the global ones
    named = set(OPTION.findall(PROSE)) - MISTYPED
    assert named <= known, f"docs/cli.md names options no command has: {sorted(named - known)}"


def test_every_environment_variable_is_documented_and_read() -> None:
    """A variable a command's help names is in the page; one the page names is read by the code
    (or, FIRMAIO_CRASH_AT, by the crash tests' command)."""
    shown = {variable for text in helps().values() for variable in VARIABLE.findall(text)}
    assert shown <= set(VARIABLE.findall(PAGE)), sorted(shown - set(VARIABLE.findall(PAGE)))
    code = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "adapters").rglob("*.py"))
    code += (ROOT / "tests" / "crashing_cli.py").read_text(encoding="utf-8")
    options = {  # every option's own variable, read by the parser (adapters/cli/conventions.py)
        name
        for parser in walk(build_parser())
        for action in parser._actions
        if (name := env_name(action)) is not None
    }
    unread = {v for v in VARIABLE.findall(PAGE) if v not in code and v not in options}
    assert not unread, f"docs/cli.md names variables nothing reads: {sorted(unread)}"


def test_every_exit_code_is_in_the_table_with_its_name() -> None:
    """The exit codes' table: one row per code of exits.EXITS, naming it as `failure.kind`
    does, and no other row."""
    table = PAGE.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\d+) \| `([a-z_]+)` \|", table, flags=re.MULTILINE)
    assert rows == [(str(e.code), e.name) for e in exits.EXITS]
