"""Where ``firmaio send`` reads the citizen's fiscal code from: never the command line, by choice.

A command line is public on the machine: every local user reads it in the process list (``ps``,
``/proc/PID/cmdline``) while ``send`` runs. An environment variable and standard input are not
(``/proc/PID/environ`` is readable by the process's own user only), nor is a file its owner
keeps to themselves. So the fiscal code is read, in this order, from:

- ``--fiscal-code-file FILE``: the file's first line; ``-`` reads standard input;
- ``--fiscal-code CF``, which still works, with a warning on stderr;
- ``$FIRMAIO_FISCAL_CODE``.

The code itself is never printed: a message says where it was looked for, not what was found.
"""

from __future__ import annotations

import argparse
import os
import sys

from firmaio.fsm.errors import InvalidInput

FISCAL_CODE_ENV = "FIRMAIO_FISCAL_CODE"
ON_THE_COMMAND_LINE = (
    "firmaio send: warning: --fiscal-code shows the citizen's fiscal code to every local user "
    f"in the process list; pass it in ${FISCAL_CODE_ENV} or with --fiscal-code-file FILE "
    "(- reads standard input)"
)
_MOST = 256
"""Characters read from a file or standard input: a fiscal code has 16."""


def fiscal_code_of(args: argparse.Namespace) -> str:
    """The citizen's fiscal code, from where ``send`` was told (see the module docstring)."""
    given, from_file = args.fiscal_code, args.fiscal_code_file
    if given is not None and from_file is not None:
        raise InvalidInput("give --fiscal-code or --fiscal-code-file, not both")
    if from_file is not None:
        return _first_line(from_file)
    if given is not None:
        print(ON_THE_COMMAND_LINE, file=sys.stderr)
        return str(given)
    code = os.environ.get(FISCAL_CODE_ENV, "").strip()
    if not code:
        raise InvalidInput(
            f"name the citizen: ${FISCAL_CODE_ENV}, or --fiscal-code-file FILE "
            "(- reads standard input)"
        )
    return code


def _first_line(path: str) -> str:
    where = "standard input" if path == "-" else f"the file {path!r}"
    try:
        if path == "-":
            text = sys.stdin.read(_MOST)
        else:
            with open(path, encoding="utf-8") as file:
                text = file.read(_MOST)
    except OSError as error:
        raise InvalidInput(f"cannot read {where}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{where} is not text") from None
    lines = text.strip().splitlines()
    if not lines or not lines[0].strip():
        raise InvalidInput(f"no fiscal code in {where}")
    return lines[0].strip()
