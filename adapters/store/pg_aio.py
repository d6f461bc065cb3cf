"""PostgreSQL's async store: the checks that find nothing new, written together.

A watch pass checks many flows at rest at once, and most checks find nothing new: each writes its
flow's last-checked and due times (:meth:`~firmaio.fsm.ports.FlowStore.checked`), one ``UPDATE``
and one commit, whose round trip costs more CPU than the rest of the check. Here the checks
asked for in one turn of the event loop are gathered and written in one statement
(:meth:`~.postgres.PostgresStore.checked_many`), each still a compare-and-set on its flow's row
(its answer its own); any other call runs as :class:`~.aio.AsyncStore` runs it.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from .aio import AsyncStore
from .due import Check
from .sql import SqlStore


class PostgresAsyncStore(AsyncStore):
    """An :class:`AsyncStore` over PostgreSQL whose checks are written together."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._checks: list[tuple[asyncio.Future[bool], Check]] = []
        self._writing: set[asyncio.Future[list[bool]]] = set()

    async def checked(
        self, flow_id: str, *, expected_seq: int, at: float, due_at: float | None
    ) -> bool:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        self._checks.append((future, (flow_id, expected_seq, at, due_at)))
        if len(self._checks) == 1:  # the first of this turn: they go together once it ends
            loop.call_soon(self._write_checks)
        return await future

    def _write_checks(self) -> None:
        checks, self._checks = self._checks, []
        run = self._run(SqlStore.checked_many, [check for _future, check in checks])
        written = asyncio.ensure_future(run)
        self._writing.add(written)
        written.add_done_callback(functools.partial(self._settle_checks, checks))

    def _settle_checks(
        self, checks: list[tuple[asyncio.Future[bool], Check]], done: asyncio.Future[list[bool]]
    ) -> None:
        """Each check's answer (or the statement's failure) to its caller."""
        self._writing.discard(done)
        error = None if done.cancelled() else done.exception()
        for n, (future, _check) in enumerate(checks):
            if future.done():
                continue
            if done.cancelled():
                future.cancel()
            elif error is not None:
                future.set_exception(error)
            else:
                future.set_result(done.result()[n])
