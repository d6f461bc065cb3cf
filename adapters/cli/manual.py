"""docs/cli.md's reference of every command's arguments, rendered from the parser itself.

The block ``<!-- BEGIN generated:options -->`` of docs/cli.md is :func:`options_markdown` of
:func:`~.parser.build_parser`: one table per command (its positional arguments, then its
options, each with its metavar, its default and the help ``--help`` prints). ``make diagrams``
writes it; ``tests/unit/test_cli_manual.py`` fails when the page and the parser differ, in
either direction (an option added, renamed, removed, or its help changed).
"""

from __future__ import annotations

import argparse


def commands(
    parser: argparse.ArgumentParser, prefix: str = ""
) -> dict[str, argparse.ArgumentParser]:
    """Every subcommand's parser, by its full name (``audit verify``), in the parser's order."""
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                full = f"{prefix} {name}".strip()
                found[full] = sub
                found.update(commands(sub, full))
    return found


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _help(action: argparse.Action) -> str:
    text = action.help or ""
    if "%(" in text:
        text = text % {**vars(action), "prog": "firmaio"}
    if action.choices is not None and not isinstance(action.choices, dict):
        text = f"{text} (one of: {', '.join(map(str, action.choices))})".strip()
    return _cell(text)


def _argument(action: argparse.Action) -> str:
    if not action.option_strings:
        name = action.metavar if isinstance(action.metavar, str) else action.dest
        return f"`{name}`" + (" ..." if action.nargs in ("*", "+") else "")
    option = max(action.option_strings, key=len)
    if action.nargs == 0:
        return f"`{option}`"
    metavar = action.metavar if isinstance(action.metavar, str) else action.dest.upper()
    return f"`{option} {metavar}`"


def _rows(parser: argparse.ArgumentParser) -> list[str]:
    rows = []
    for action in parser._actions:
        hidden = action.help == argparse.SUPPRESS
        if hidden or isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        rows.append(f"| {_argument(action)} | {_help(action)} |")
    return rows


def options_markdown(parser: argparse.ArgumentParser) -> str:
    """The reference of every command's arguments, as Markdown (see the module docstring)."""
    lines = []
    for name, sub in commands(parser).items():
        rows = _rows(sub)
        if not rows:
            continue
        lines += [f"### `firmaio {name}`", "", "| Argument | What it takes |", "|---|---|"]
        lines += [*rows, ""]
    return "\n".join(lines)
