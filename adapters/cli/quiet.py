"""What other libraries log in a long-running command (Procrastinate, psycopg's pool, asyncio),
one line each and never a traceback: ``firmaio worker`` says what matters itself (a store outage:
one line when it begins, one when it ends; the exit's reason)."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from typing import Any


def quiet_logs(loop: asyncio.AbstractEventLoop, *, verbose: bool) -> Callable[[], None]:
    """Procrastinate's, psycopg's and asyncio's records (a job that failed, a lane or a pool
    that lost its database), and a task's error nobody awaited, as one line each on stderr:
    from INFO up with ``--verbose``, else only CRITICAL ones. Returns what puts them back as they
    were (``main`` may run again in the same process: a test, an embedding program)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLine("%(name)s %(levelname)s: %(message)s"))
    names = ("procrastinate", "psycopg", "asyncio")
    saved = [
        (logger, logger.handlers[:], logger.propagate, logger.level)
        for logger in map(logging.getLogger, names)
    ]
    for name in names:
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.propagate = False
        quietest = logging.WARNING if name == "psycopg" else logging.INFO
        logger.setLevel(quietest if verbose else logging.CRITICAL)

    def unretrieved(_loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if not verbose:  # an ERROR record: said only with --verbose
            return
        error = context.get("exception")
        said = str(context.get("message", ""))
        if isinstance(error, BaseException):
            said = f"{said}: {first_line(error)}"
        handler.handle(logging.makeLogRecord({"name": "asyncio", "levelname": "ERROR",
                                              "levelno": logging.ERROR, "msg": said}))  # fmt: skip

    # kept on the loop after restore(): the loop ends with the command, and a task it frees
    # later (a job of a lane the outage cut, freed with the error that stops the worker) is
    # still said this way, never as a traceback
    loop.set_exception_handler(unretrieved)

    def restore() -> None:
        for logger, handlers, propagate, level in saved:
            logger.handlers[:] = handlers
            logger.propagate = propagate
            logger.setLevel(level)

    return restore


def first_line(error: BaseException) -> str:
    """An error as its type and the first line of what it says."""
    said = str(error).splitlines()
    return f"{type(error).__name__}: {said[0]}" if said else type(error).__name__


class OneLine(logging.Formatter):
    """A record in one line: an exception as its type and first line, never its traceback."""

    def format(self, record: logging.LogRecord) -> str:
        plain = logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None})
        line = super().format(plain).splitlines()
        text = line[0] if line else ""
        if record.exc_info and record.exc_info[1] is not None:
            text += f" ({first_line(record.exc_info[1])})"
        return text
