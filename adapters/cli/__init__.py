"""The ``firmaio`` command: parse, wire, run one command, map errors to documented exit codes.

``main(argv)`` returns the exit code (:mod:`.exits` declares them). The modules: :mod:`.parser`
(arguments), :mod:`.wiring` (the composition root), :mod:`.flows`, :mod:`.audit`,
:mod:`.diagram` and :mod:`.demo` (the commands), :mod:`.output` (what is printed).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

import httpx

from firmaio.fsm.errors import (
    ApiConfigurationError,
    ApiError,
    InvalidInput,
    StaleFlow,
    StoreError,
    TransitionNotAllowed,
)

from . import exits
from .demo import DEMO_CITIZENS
from .parser import build_parser
from .wiring import Wiring, configure_logging

__all__ = ["DEMO_CITIZENS", "Wiring", "build_parser", "main"]


def main(
    argv: Sequence[str] | None = None, out: TextIO | None = None, *, wiring: Wiring | None = None
) -> int:
    """Run ``firmaio`` with ``argv``; return the exit code. Errors go to stderr with advice.

    ``wiring`` replaces parts of what the commands are built with (see :class:`Wiring`).
    """
    args = build_parser().parse_args(argv)
    args.wiring = wiring if wiring is not None else Wiring()
    configure_logging(args.verbose)
    stream = out if out is not None else sys.stdout
    try:
        code: int = args.func(args, stream)
    except InvalidInput as error:
        print(f"firmaio: {error}", file=sys.stderr)
        return exits.USAGE.code
    except ApiConfigurationError as error:
        print(f"firmaio: {error}", file=sys.stderr)
        return exits.CONFIGURATION.code
    except StoreError as error:
        print(f"firmaio: {error}", file=sys.stderr)
        return exits.STORE.code
    except (TransitionNotAllowed, StaleFlow) as error:
        print(f"firmaio: {error}", file=sys.stderr)
        return exits.NOT_ALLOWED.code
    except (ApiError, httpx.HTTPError) as error:
        print(
            f"firmaio: the issuer API gave no usable answer ({error}); "
            "it was retried with backoff; try again later",
            file=sys.stderr,
        )
        return exits.UNAVAILABLE.code
    return code
