"""The ``firmaio`` command: parse, wire, run one command, map errors to documented exit codes.

``main(argv)`` returns the exit code (:mod:`.exits` declares them). The modules: :mod:`.parser`
(arguments), :mod:`.wiring` (the composition root: the command's settings, made once, and its
factory), :mod:`.flows`, :mod:`.audit`, :mod:`.diagram` and :mod:`.demo` (the commands),
:mod:`.output` (what is printed), :mod:`.terminal` (control characters escaped in everything
printed).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import TextIO, cast

from firmaio.fsm.errors import InvalidInput

from . import exits
from .conventions import TRUE, chosen_parser, command_words
from .demo import DEMO_CITIZENS
from .envelope import dump, emit, envelope
from .parser import build_parser
from .terminal import TerminalSafe
from .wiring import Wiring, configure_logging, settings_from_args

__all__ = ["CLOSED_PIPE", "DEMO_CITIZENS", "Wiring", "build_parser", "main"]

CLOSED_PIPE = 141
"""The exit code when the output's reader closed the pipe: 128 + SIGPIPE, as a shell says."""


def main(
    argv: Sequence[str] | None = None, out: TextIO | None = None, *, wiring: Wiring | None = None
) -> int:
    """Run ``firmaio`` with ``argv``; return the exit code. Errors go to stderr with advice.

    ``wiring`` replaces parts of what the commands are built with (see :class:`Wiring`). What
    is written to ``out`` and to stderr has its control characters escaped (:mod:`.terminal`).
    """
    stream = cast(TextIO, TerminalSafe(out if out is not None else sys.stdout))
    words = list(sys.argv[1:] if argv is None else argv)
    with contextlib.redirect_stderr(cast(TextIO, TerminalSafe(sys.stderr))):
        return _quiet_on_a_closed_pipe(lambda: _main(stream, words, wiring))


def _main(stream: TextIO, argv: list[str], wiring: Wiring | None) -> int:
    parser = build_parser()
    try:
        with contextlib.redirect_stdout(stream):  # --help and --version print to ``out``
            args = parser.parse_args(argv)
    except SystemExit as done:  # --help, --version
        return done.code if isinstance(done.code, int) else 0
    except InvalidInput as error:  # the message starts with the command: "firmaio notify: ..."
        print(error, file=sys.stderr)
        if _json_asked(argv):
            usage = exits.Failure(exits.USAGE, str(error))
            dump(envelope(command_words(parser, argv), exits.USAGE.code, usage), stream)
        return exits.USAGE.code
    args.invocation = chosen_parser(parser, args).prog.removeprefix(f"{parser.prog} ")
    args.wiring = wiring if wiring is not None else Wiring()
    configure_logging(args)
    try:
        args.settings = settings_from_args(args, args.wiring)  # once, for the whole command
        code: int = args.func(args, stream)
    except Exception as error:
        failure = exits.failure_of(error)
        if failure is None:
            raise
        print(f"firmaio: {failure.message}", file=sys.stderr)
        if getattr(args, "json", False) and not getattr(args, "enveloped", False):
            emit(args, stream, failure.exit.code, failure)
        return failure.exit.code
    return code


def _json_asked(argv: list[str]) -> bool:
    flag = os.environ.get("FIRMAIO_JSON", "").strip().lower()
    return "--json" in argv or flag in TRUE


def _quiet_on_a_closed_pipe(run: Callable[[], int]) -> int:
    """``run``, ending quietly when the reader of the output went away (``| head``): no
    traceback, and nothing more written (exit 141, as a shell says of SIGPIPE)."""
    try:
        code = run()
        sys.stdout.flush()  # what is still buffered: its reader may be gone too
        return code
    except BrokenPipeError:
        with contextlib.suppress(OSError, ValueError):  # no stdout, or not a file
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # the interpreter's last flush writes nowhere
        return CLOSED_PIPE
