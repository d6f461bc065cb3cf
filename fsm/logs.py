"""The library's loggers: structlog events that go where the application says, never on stdout
by themselves.

An application that configured structlog gets the events through its configuration (``firmaio``
configures it: ``--log-format``, ``--log-level``). One that did not gets them as records of the
standard library's :mod:`logging`, under the logger's name (``firmaio.fsm``,
``firmaio.adapters.serve``...): nothing is shown until the application adds a handler, and
Python's last-resort handler prints warnings and errors on stderr only. docs/embedding.md has the
snippets.
"""

from __future__ import annotations

import logging
from typing import Any

import structlog

from .redact import redact_secrets


class LibraryLogger:
    """A logger of the library: structlog's when the application configured structlog, else the
    standard library's logger of the same name (decided at each call: an application may
    configure logging after importing the library)."""

    __slots__ = ("_configured", "_stdlib")

    def __init__(self, name: str) -> None:
        self._configured = structlog.get_logger(name)
        self._stdlib = structlog.wrap_logger(
            logging.getLogger(name),
            processors=[
                structlog.contextvars.merge_contextvars,
                redact_secrets,
                structlog.stdlib.render_to_log_kwargs,
            ],
            wrapper_class=structlog.stdlib.BoundLogger,
        )

    def __getattr__(self, name: str) -> Any:
        chosen = self._configured if structlog.is_configured() else self._stdlib
        return getattr(chosen, name)


def get_logger(name: str) -> Any:
    """The library's logger ``name`` (see :class:`LibraryLogger`)."""
    return LibraryLogger(name)
