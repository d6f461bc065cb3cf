"""Target 15: the console's list page and a flow's page over a 1,000,000-flow PostgreSQL store.

The store is bench/due_bench.py's (realistic histories, valid chains: 100,000 open flows resting
in NOTIFIED, 900,000 closed), its flows spread over 10 tenants and over a year of creation times,
written by COPY. The console is served in-process (httpx over ASGI) to an operator of one tenant;
each page's server time is the time from its request to its whole answer, the HTML rendered:

- the list, filtered by state (NOTIFIED) and tenant: the first page, then each next page by
  its cursor, 200 pages deep;
- 200 flows' pages of that tenant, chosen at random (trail, documents, path on the diagram,
  events).

p95 of each, in milliseconds.
"""

from __future__ import annotations

import asyncio
import random
import re
import statistics
import time
from dataclasses import dataclass
from typing import Any

from bench.due_bench import rows, templates

TENANTS = [f"comune-{n}" for n in range(10)]
SECRET = "b" * 40
PASSWORD = "bench password 14"
PAGES = 200
YEAR = 365 * 86_400.0


def build(dsn: str, open_: int, closed: int) -> float:
    """The store at ``dsn`` (COPY, one transaction); seconds it took."""
    import psycopg

    from firmaio.adapters.store import open_store
    from firmaio.fsm import default_engine

    started = time.perf_counter()
    open_store(dsn).close()
    kinds = templates(default_engine())
    columns = (
        "id, state, seq, head_hash, activation_deadline, created_at, updated_at, due_at, "
        "dossier_id, table_version, tenant, request_id"
    )
    total = open_ + closed
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY flows ({columns}) FROM STDIN") as copy:
            for n, (flow, _records) in enumerate(rows(kinds, open_, closed, 0)):
                created = flow[5] - YEAR * (total - n) / total  # spread over a year, in order
                copy.write_row((*flow[:5], created, *flow[6:], 1, TENANTS[n % 10], flow[0]))
        with cur.copy(
            "COPY audit_records (flow_id, seq, payload, prev_hash, hash) FROM STDIN"
        ) as copy:
            for _flow, records in rows(kinds, open_, closed, 0):
                for record in records:
                    copy.write_row(record)
        cur.execute("ANALYZE flows")
        cur.execute("ANALYZE audit_records")
    return time.perf_counter() - started


@dataclass
class Found:
    flows: int
    built: float
    list_p95: float
    list_median: float
    flow_p95: float
    flow_median: float
    listed: int


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


async def _measure(dsn: str) -> tuple[list[float], list[float], int]:
    import httpx

    from firmaio.adapters.console import ConsoleSettings, console_app, hash_password
    from firmaio.adapters.store import open_store
    from firmaio.adapters.store.accounts import Account

    store = open_store(dsn)
    store.save_account(Account("bench", hash_password(PASSWORD), roles={"comune-3": "operator"}),
                       now=0.0)  # fmt: skip
    store.close()
    app = console_app(ConsoleSettings(dsn, SECRET, secure_cookies=False))
    transport = httpx.ASGITransport(app=app)
    lists: list[float] = []
    flows: list[float] = []
    seen: list[str] = []
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        login = await client.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', login.text)
        assert csrf is not None
        data = {"username": "bench", "password": PASSWORD, "csrf": csrf.group(1)}
        assert (await client.post("/login", data=data)).status_code == 303
        url: str | None = "/flows?state=NOTIFIED&tenant=comune-3"
        while url is not None and len(lists) < PAGES:
            started = time.perf_counter()
            page = await client.get(url)
            lists.append(time.perf_counter() - started)
            assert page.status_code == 200, page.text[:500]
            seen += re.findall(r'href="/flows/(01JBENCH\d+)"', page.text)
            after = re.search(r'id="next" href="([^"]+)"', page.text)
            url = None if after is None else after.group(1).replace("&amp;", "&")
        for flow_id in random.Random(14).sample(seen, min(PAGES, len(seen))):
            started = time.perf_counter()
            page = await client.get(f"/flows/{flow_id}")
            flows.append(time.perf_counter() - started)
            assert page.status_code == 200, page.text[:500]
            assert "comune-3" in page.text
    await app.state.console.store.close()
    return lists, flows, len(seen)


def run(open_: int = 100_000, closed: int = 900_000) -> Found:
    from bench.queue_bench import postgres_schema

    with postgres_schema() as dsn:
        built = build(dsn, open_, closed)
        lists, flows, listed = asyncio.run(_measure(dsn))
    return Found(
        open_ + closed, built, p95(lists), statistics.median(lists), p95(flows),
        statistics.median(flows), listed,
    )  # fmt: skip


def result() -> Any:
    """Target 15's line (bench/run.py)."""
    from bench.due_bench import postgres_reachable
    from bench.run import Result, discard_logs

    goal = "p95 server time <= 150 ms each (list and flow page)"
    if not postgres_reachable():
        return Result("15 console pages", "PostgreSQL not reachable", goal, None)
    discard_logs()
    found = run()
    met = found.list_p95 <= 0.150 and found.flow_p95 <= 0.150
    return Result(
        "15 console pages",
        f"list filtered by state and tenant: p95 {found.list_p95 * 1e3:.1f} ms (median "
        f"{found.list_median * 1e3:.1f}) over {PAGES} pages ({found.listed:,} flows); a flow's "
        f"page: p95 {found.flow_p95 * 1e3:.1f} ms (median {found.flow_median * 1e3:.1f}) over "
        f"{PAGES} flows",
        goal,
        met,
        f"PostgreSQL, {found.flows:,} flows over 10 tenants (built in {found.built:.0f} s), "
        "served in-process over ASGI, HTML rendered",
    )


if __name__ == "__main__":
    print(result().line())
