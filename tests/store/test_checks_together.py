"""PostgreSQL: the checks that find nothing new asked for in one turn of the event loop are
written in one statement, each still a compare-and-set on its own flow's row: a flow with a
record written since, or with an open intent, is left as it was and its caller told so."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from firmaio.adapters.store import PostgresAsyncStore, open_async_store, open_store
from firmaio.adapters.store.postgres import PostgresStore

START = 1_800_000_000.0


def test_checks_of_one_turn_are_one_statement_each_flow_compared_alone(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [f"01ARZ3NDEKTSV4RRFFQ69G5F{n:02d}" for n in range(4)]
    writer = open_store(postgres_url)
    try:
        writer.create_many(ids, activation_deadline=START + 600, now=START)
        writer.open_intent(ids[3], "notify", expected_seq=0, now=START, due_at=START + 5)
    finally:
        writer.close()
    statements: list[int] = []
    many = PostgresStore.checked_many

    def counted(self: PostgresStore, checks: Sequence[Any]) -> list[bool]:
        statements.append(len(checks))
        return many(self, checks)

    monkeypatch.setattr(PostgresStore, "checked_many", counted)

    async def run() -> list[bool]:
        store = open_async_store(postgres_url)
        assert isinstance(store, PostgresAsyncStore)
        try:
            seqs = [0, 0, 1, 0]  # the third: a record written since (its caller's seq is old)
            return await asyncio.gather(
                *(
                    store.checked(i, expected_seq=s, at=START + 60, due_at=START + 3660)
                    for i, s in zip(ids, seqs, strict=True)
                )
            )
        finally:
            await store.close()

    assert asyncio.run(run()) == [True, True, False, False]
    assert statements == [4], "one statement for the four checks"
    reader = open_store(postgres_url)
    try:
        loaded = {i: reader.load(i) for i in ids}
        dues = {i: reader.due_of(i) for i in ids}
    finally:
        reader.close()
    assert [loaded[i].checked_at for i in ids] == [START + 60, START + 60, None, None]  # type: ignore[union-attr]
    assert (dues[ids[0]], dues[ids[1]], dues[ids[3]]) == (START + 3660, START + 3660, START + 5)
