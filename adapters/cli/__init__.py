"""The ``firmaio`` command: parse, wire, run one command, map errors to documented exit codes.

``main(argv)`` returns the exit code (:mod:`.exits` declares them). The modules: :mod:`.parser`
(arguments), :mod:`.wiring` (the composition root: the command's settings, made once, and its
factory), :mod:`.flows`, :mod:`.audit`, :mod:`.diagram` and :mod:`.demo` (the commands),
:mod:`.output` (what is printed), :mod:`.terminal` (control characters escaped in everything
printed).
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Sequence
from typing import TextIO, cast

from firmaio.fsm.errors import InvalidInput

from . import exits
from .demo import DEMO_CITIZENS
from .parser import build_parser
from .terminal import TerminalSafe
from .wiring import Wiring, configure_logging, settings_from_args

__all__ = ["DEMO_CITIZENS", "Wiring", "build_parser", "main"]


def main(
    argv: Sequence[str] | None = None, out: TextIO | None = None, *, wiring: Wiring | None = None
) -> int:
    """Run ``firmaio`` with ``argv``; return the exit code. Errors go to stderr with advice.

    ``wiring`` replaces parts of what the commands are built with (see :class:`Wiring`). What
    is written to ``out`` and to stderr has its control characters escaped (:mod:`.terminal`).
    """
    stream = cast(TextIO, TerminalSafe(out if out is not None else sys.stdout))
    with contextlib.redirect_stderr(cast(TextIO, TerminalSafe(sys.stderr))):
        return _main(stream, list(sys.argv[1:] if argv is None else argv), wiring)


def _main(stream: TextIO, argv: list[str], wiring: Wiring | None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except InvalidInput as error:  # the message starts with the command: "firmaio notify: ..."
        print(error, file=sys.stderr)
        if "--json" in argv:
            usage = exits.Failure(exits.USAGE, str(error))
            json.dump({"exit_code": exits.USAGE.code, "failure": usage.as_json()}, stream)
            stream.write("\n")
        return exits.USAGE.code
    args.wiring = wiring if wiring is not None else Wiring()
    configure_logging(args.verbose)
    try:
        args.settings = settings_from_args(args, args.wiring)  # once, for the whole command
        code: int = args.func(args, stream)
    except Exception as error:
        failure = exits.failure_of(error)
        if failure is None:
            raise
        print(f"firmaio: {failure.message}", file=sys.stderr)
        return failure.exit.code
    return code
