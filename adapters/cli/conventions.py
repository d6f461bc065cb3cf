"""What every ``firmaio`` command gets without asking: ``--version``, the global options before or
after the subcommand, each option settable by a ``FIRMAIO_*`` variable (said in ``--help``), "did
you mean" on a typo, a description and examples.

:func:`finish` walks the whole parser once it is built, so a command added later (its own
``add_X_command(sub)``) gets all of this with no edit of its own; :class:`Parser` is the argparse
class every parser and subparser of ``firmaio`` is made with.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NoReturn

from firmaio.fsm.errors import InvalidInput

from .examples import EXAMPLES

ENV_PREFIX = "FIRMAIO_"
TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off", "")
_ENV_ATTRIBUTE = "firmaio_env"
"""Where :func:`finish` notes an option's variable, on its action."""


def firmaio_version() -> str:
    """The installed package's version (its metadata: one place, pyproject.toml)."""
    from importlib.metadata import PackageNotFoundError, version  # read when asked, only

    try:
        return version("firmaio-fsm")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


class _Version(argparse.Action):
    """``--version``: the package's version, read from its metadata when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.update(nargs=0, default=argparse.SUPPRESS)
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        print(f"firmaio {firmaio_version()}", file=sys.stdout)
        parser.exit()


def env_name(action: argparse.Action) -> str | None:
    """``FIRMAIO_`` and the option's long name (``--lock-wait``: ``FIRMAIO_LOCK_WAIT``); None for a
    positional, ``--help``, ``--version``, and an option that reads a variable of its own (its
    help names it: ``--base-url``'s ``$FIRMAIO_BASE_URL``, ``--fiscal-code``'s)."""
    longs = [s for s in action.option_strings if s.startswith("--")]
    if not longs or isinstance(action, argparse._HelpAction | _Version):
        return None
    name = ENV_PREFIX + max(longs, key=len)[2:].upper().replace("-", "_")
    if action.help == argparse.SUPPRESS or (action.help and f"${name}" in action.help):
        return None
    return name


class Parser(argparse.ArgumentParser):
    """argparse, with a bad argument raised as :class:`InvalidInput` for ``main`` to report like
    every other error (one line, exit 2, the JSON envelope under ``--json``), a close match
    suggested for a mistyped command or option, a missing option's variable named, and no
    abbreviated options (``--tenant`` is not ``--tenants``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        kwargs.setdefault("formatter_class", Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise InvalidInput(f"{self.prog}: {_advised(self, message)} (see {self.prog} --help)")

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        """The options of this (sub)parser not given take their variables: a command's only
        once it is the one chosen, so another command's variable never gets in the way."""
        apply_env(self, os.environ)
        return super().parse_known_args(args, namespace)

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        """Parse ``args``, each option not given taken from its ``FIRMAIO_*`` variable if set;
        an unknown option is refused naming the command's closest one."""
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            chosen = chosen_parser(self, parsed)
            hints = [_closest(word, _long_options(chosen)) for word in extras]
            said = "".join(f" (did you mean {h}?)" for h in hints if h)
            chosen.error(f"unrecognized arguments: {' '.join(extras)}{said}")
        return parsed


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and examples as written (their lines and indentation kept)."""


class DefaultsFormatter(Formatter, argparse.ArgumentDefaultsHelpFormatter):
    """The same, with each option's default after its help."""


def _advised(parser: argparse.ArgumentParser, message: str) -> str:
    choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
    if choice:
        hint = _closest(choice.group(1), re.findall(r"'([^']*)'", choice.group(2)))
        if hint:
            return f"{message}; did you mean {hint!r}?"
    required = re.match(r"the following arguments are required: (.*)", message)
    if required:
        named = {s: _env_of(a) for a in parser._actions for s in a.option_strings}
        said = [f"{n} (or ${named[n]})" if named.get(n) else n for n in required[1].split(", ")]
        return f"the following arguments are required: {', '.join(said)}"
    return message


def _closest(word: str, candidates: Sequence[str]) -> str | None:
    word = word.partition("=")[0]
    if word.startswith("-") and not word.startswith("--"):
        return None
    found = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return found[0] if found else None


def _long_options(parser: argparse.ArgumentParser) -> list[str]:
    return [s for a in parser._actions for s in a.option_strings if s.startswith("--")]


def _subparsers(parser: argparse.ArgumentParser) -> Iterator[argparse._SubParsersAction[Any]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield action


def walk(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """``parser`` and every subparser under it, each once."""
    yield parser
    for action in _subparsers(parser):
        for child in dict.fromkeys(action.choices.values()):
            yield from walk(child)


def chosen_parser(
    parser: argparse.ArgumentParser, parsed: argparse.Namespace
) -> argparse.ArgumentParser:
    """The (sub)parser of the command ``parsed`` ran (``audit show``'s for ``audit show``)."""
    for action in _subparsers(parser):
        name = getattr(parsed, action.dest, None)
        if isinstance(name, str) and name in action.choices:
            return chosen_parser(action.choices[name], parsed)
    return parser


GLOBAL_TITLE = "global options (before or after the command)"


def add_global_options(parser: argparse.ArgumentParser, *, here: bool) -> None:
    """``-v``, ``--log-format`` and ``--log-level``: set on ``firmaio`` (``here``) and accepted by
    every subcommand too, where they leave the value alone unless given."""
    group = parser.add_argument_group(GLOBAL_TITLE)
    keep: dict[str, Any] = {} if here else {"default": argparse.SUPPRESS}
    options: list[tuple[tuple[str, ...], dict[str, Any]]] = [
        (("-v", "--verbose"), {"action": "store_true", "help": "log the library's events "
                               "(--log-level info)"}),
        (("--log-format",), {"choices": ("json", "console"), "help": "how log lines look on "
                             "stderr: one JSON object each, or for a person (default: json)"}),
        (("--log-level",), {"choices": ("debug", "info", "warning", "error"), "type": str.lower,
                            "help": "the least level logged (default: error; info with -v)"}),
    ]  # fmt: skip
    for flags, kwargs in options:
        if not here:  # read on ``firmaio`` itself (finish), said on every command's --help too
            name = ENV_PREFIX + flags[-1][2:].upper().replace("-", "_")
            kwargs = {**kwargs, "help": f"{kwargs['help']} [env: {name}]"}
        try:
            group.add_argument(*flags, **kwargs, **keep)
        except argparse.ArgumentError:  # the command has an option of that name already
            continue


def finish(parser: argparse.ArgumentParser) -> None:
    """Give every command of ``parser`` the conventions of this module (see its docstring)."""
    parser.add_argument(
        "--version", action=_Version, help="print the version of firmaio-fsm and exit"
    )  # before the global options: --help lists it first
    add_global_options(parser, here=True)
    for action in _subparsers(parser):
        _describe(action, [])
    for each in walk(parser):
        for option in each._actions:
            name = env_name(option)
            if name is None or option.default is argparse.SUPPRESS:
                continue
            setattr(option, _ENV_ATTRIBUTE, name)
            said = f"[env: {name}]"
            option.help = f"{option.help} {said}" if option.help else said


def _describe(action: argparse._SubParsersAction[Any], path: list[str]) -> None:
    helps = {pseudo.dest: pseudo.help for pseudo in action._choices_actions}
    for name, child in action.choices.items():
        if name not in helps:  # an alias
            continue
        said = helps[name]
        if child.description is None and said:
            child.description = said[:1].upper() + said[1:] + "."
        if child.epilog is None and " ".join([*path, name]) in EXAMPLES:
            child.epilog = "examples:\n" + EXAMPLES[" ".join([*path, name])]
        if child.formatter_class is argparse.ArgumentDefaultsHelpFormatter:
            child.formatter_class = DefaultsFormatter
        elif child.formatter_class is argparse.HelpFormatter:
            child.formatter_class = Formatter
        add_global_options(child, here=False)
        for inner in _subparsers(child):
            _describe(inner, [*path, name])


def _env_of(action: argparse.Action) -> str | None:
    name = getattr(action, _ENV_ATTRIBUTE, None)
    return name if isinstance(name, str) else None


def apply_env(parser: argparse.ArgumentParser, environ: Mapping[str, str]) -> None:
    """Each option of ``parser`` (not its subcommands') takes the value of its variable as its
    default, when set: checked as the option would check it; a bad value is refused naming the
    variable."""
    for action in parser._actions:
        name = _env_of(action)
        if name is None or name not in environ:
            continue
        action.default = _env_value(parser, action, name, environ[name])
        action.required = False


def _env_value(
    parser: argparse.ArgumentParser, action: argparse.Action, name: str, text: str
) -> Any:
    if action.nargs == 0:  # a flag: --json, --again
        if text.strip().lower() not in TRUE + FALSE:
            raise InvalidInput(
                f"{parser.prog}: ${name}={text!r}: say 1 or 0 (true, false, yes, no)"
            )
        return text.strip().lower() in TRUE
    many = isinstance(action, argparse._AppendAction) or action.nargs in ("*", "+")
    values = [_checked(parser, action, name, v.strip()) for v in text.split(",")] if many else []
    return values if many else _checked(parser, action, name, text)


def _checked(parser: argparse.ArgumentParser, action: argparse.Action, name: str, text: str) -> Any:
    try:
        value = parser._get_value(action, text)
    except argparse.ArgumentError as error:
        raise InvalidInput(f"{parser.prog}: ${name}: {error.message}") from None
    if action.choices is not None and value not in action.choices:
        choices = ", ".join(map(repr, action.choices))
        raise InvalidInput(
            f"{parser.prog}: ${name}: invalid choice: {text!r} (choose from {choices})"
        )
    return value


def command_words(parser: argparse.ArgumentParser, argv: Sequence[str]) -> str | None:
    """The command ``argv`` names, as far as its words are commands (``audit show``), for an
    answer to arguments that did not parse; None when its first word is none."""
    words: list[str] = []
    current = parser
    for word in argv:
        if word.startswith("-"):
            continue
        found = [a.choices[word] for a in _subparsers(current) if word in a.choices]
        if not found:
            break
        words.append(word)
        current = found[0]
    return " ".join(words) or None
