"""Many workers on one PostgreSQL store, through Procrastinate, with two tenants' keys.

Real processes (``firmaio worker``) against the sandbox over loopback HTTP with the gateway's real
limit (150 calls per 5 s per key): every flow reaches rest with exactly one message per citizen
who is due one and no 429; a worker killed mid-run leaves its flows to the others; SIGTERM stops
a worker cleanly; the re-notification policy and the status watch run as scheduled jobs.
"""

from __future__ import annotations

import io
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from firmaio.adapters.cli import main
from firmaio.adapters.sandbox import DEMO_DOSSIER, Sandbox
from firmaio.adapters.store import open_store
from firmaio.fsm.ports import FlowRow
from tests.crashing_cli import command
from tests.envelope_helpers import enveloped
from tests.sandbox_helpers import fiscal_code

KEYS = {"comune-a": "sandbox-key", "comune-b": "key-b"}
"""Each tenant's key, as the workers' environment holds it (FIRMAIO_KEY_<A|B>)."""


@pytest.fixture
def limited() -> Iterator[Sandbox]:
    """The sandbox with two issuers' keys and the gateway's real limit on each."""
    keys = {"sandbox-key": "issuer-a", "key-b": "issuer-b"}
    with Sandbox(activation_delay=0.2, validation_delay=0, keys=keys) as sandbox:
        yield sandbox


@pytest.fixture
def tenants(tmp_path: Path) -> Path:
    path = tmp_path / "tenants.toml"
    path.write_text(
        '[comune-a]\nkey_env = "FIRMAIO_KEY_A"\n\n[comune-b]\nkey_env = "FIRMAIO_KEY_B"\n'
    )
    return path


def request(
    sandbox: Sandbox, tenant: str, *, messages_on: bool = True, dossier: str | None = None
) -> str:
    code = fiscal_code()
    sandbox.issuer.add_citizen(code, messages_on=messages_on)
    return sandbox.issuer.create_ready_request(KEYS[tenant], code, dossier)


def start_worker(
    sandbox: Sandbox, db: str, tenants: Path, *extra: str, crash: str | None = None
) -> subprocess.Popen[str]:
    argv, env = command(sandbox.url, crash)
    env.pop("FIRMAIO_API_KEY")  # the tenants' keys only
    env |= {"FIRMAIO_KEY_A": KEYS["comune-a"], "FIRMAIO_KEY_B": KEYS["comune-b"]}
    # a killed worker's open intents are read back at once: none of its calls can still be
    # under way, and the sandbox acts at once
    options = ["--db", db, "--tenants", str(tenants), "--json", "--stalled-after", "3"]
    return subprocess.Popen(
        [*argv, "worker", *options, "--recovery-grace", "0", *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def enqueue(db: str, tenants: Path, tenant: str, ids: list[str], *options: str) -> int:
    """``firmaio enqueue``; how many flows it queued (each given id must be one of them)."""
    out = io.StringIO()
    argv = ["enqueue", "--db", db, "--tenants", str(tenants), "--tenant", tenant, "--json"]
    assert main([*argv, *options, *ids], out=out) == 0, out.getvalue()
    queued: int = enveloped(out.getvalue())["queued"]
    assert queued >= len(ids)
    return queued


def rows(db: str, ids: list[str]) -> dict[str, FlowRow]:
    store = open_store(db)
    try:
        return {row.flow_id: row for row in store.rows(ids)}
    finally:
        store.close()


def wait_for(
    what: Callable[[], bool], timeout: float, why: str, seen: Callable[[], object] = str
) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout:.0f} s waiting for {why}; {seen()}")
        time.sleep(0.25)


def queue_and_flows(db: str) -> str:
    """What the store and the queue hold, for a failure's message."""
    import psycopg

    with psycopg.connect(db) as conn:
        flows = conn.execute(
            "SELECT state, intent IS NOT NULL, count(*) FROM flows GROUP BY 1, 2"
        ).fetchall()
        jobs = conn.execute(
            "SELECT task_name, status, count(*) FROM procrastinate_jobs GROUP BY 1, 2"
        ).fetchall()
    return f"flows (state, intent open, count): {flows}; jobs: {jobs}"


def stop(worker: subprocess.Popen[str]) -> dict[str, object]:
    """SIGTERM, then the worker's summary; it must exit 0 promptly."""
    worker.send_signal(signal.SIGTERM)
    out, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err
    summary: dict[str, object] = enveloped(out)
    return summary


def at_rest(db: str, ids: list[str], resting: set[str]) -> Callable[[], bool]:
    def check() -> bool:
        found = rows(db, ids)
        return len(found) == len(ids) and all(
            r.state in resting and r.intent is None for r in found.values()
        )

    return check


def test_three_workers_two_keys_one_killed(
    limited: Sandbox, postgres_url: str, tenants: Path
) -> None:
    """3 workers, 2 tenants, 360 flows (more calls per key than one window allows: the limit
    holds them back); comune-a's flows are one dossier, queued with --dossier, so their statuses
    are read through its listing. One worker is killed right after a notification went out; the
    others finish its flows. Every flow rests, one message per citizen due one, no 429, every
    trail intact, every record's actor names its worker and tenant."""
    issuer_a = limited.issuer.keys[KEYS["comune-a"]]
    dossier = limited.issuer.create_dossier(issuer_a, DEMO_DOSSIER)["id"]
    citizens = {}
    for n in range(180):
        messages_on = n % 5 != 0
        citizens[request(limited, "comune-a", messages_on=messages_on, dossier=dossier)] = (
            "comune-a",
            messages_on,
        )
        citizens[request(limited, "comune-b", messages_on=messages_on)] = ("comune-b", messages_on)
    ids = list(citizens)
    with pytest.MonkeyPatch.context() as env:  # --dossier lists it with comune-a's key
        env.setenv("FIRMAIO_KEY_A", KEYS["comune-a"])
        env.setenv("FIRMAIO_BASE_URL", limited.url)
        assert enqueue(postgres_url, tenants, "comune-a", [], "--dossier", dossier) == 180
    of_b = [i for i, (tenant, _) in citizens.items() if tenant == "comune-b"]
    assert enqueue(postgres_url, tenants, "comune-b", of_b) == 180
    dying = start_worker(limited, postgres_url, tenants, crash="after_call:notify:20")
    workers = [start_worker(limited, postgres_url, tenants) for _ in range(2)]
    dying.communicate(timeout=120)
    assert dying.returncode == -signal.SIGKILL
    resting = {"NOTIFIED", "FALLBACK_SUGGESTED"}
    seen = lambda: queue_and_flows(postgres_url)  # noqa: E731
    wait_for(at_rest(postgres_url, ids, resting), 240, "every flow", seen)
    for worker in workers:
        assert stop(worker)["stopped"] is True
    found = rows(postgres_url, ids)
    for request_id, (tenant, messages_on) in citizens.items():
        assert found[request_id].tenant == tenant
        assert found[request_id].state == ("NOTIFIED" if messages_on else "FALLBACK_SUGGESTED")
        assert limited.issuer.messages_sent(request_id) == (1 if messages_on else 0), request_id
    assert limited.state.throttled == 0, "the gateway answered 429"
    reads = limited.state.calls["getSignatureRequest"]
    assert limited.state.calls["getRequestsByDossier"] >= 1
    assert reads < 180 + 60, f"{reads} single reads: comune-a's should come from the listing"
    assert main(["audit", "verify", "--db", postgres_url], out=io.StringIO()) == 0
    store = open_store(postgres_url)
    try:
        actors = {
            record.actor
            for request_id in ids
            for record in store.load(request_id).records  # type: ignore[union-attr]
        }
    finally:
        store.close()
    assert {actor.rsplit("/", 1)[1] for actor in actors if actor} == set(KEYS)
    assert len({actor.rsplit("/", 1)[0] for actor in actors if actor}) == 3, "3 workers wrote"


def test_sigterm_stops_cleanly_and_a_restart_goes_on(
    limited: Sandbox, postgres_url: str, tenants: Path
) -> None:
    """SIGTERM mid-run: the worker exits 0 soon, no intent left open, every record kept; a
    new worker finishes the flows with one message each."""
    ids = [request(limited, "comune-a") for _ in range(100)]  # 300 calls: 2 windows at least
    enqueue(postgres_url, tenants, "comune-a", ids)
    worker = start_worker(limited, postgres_url, tenants)
    wait_for(
        lambda: any(r.state == "NOTIFIED" for r in rows(postgres_url, ids).values()),
        60,
        "a first flow",
    )
    started = time.monotonic()
    assert stop(worker)["stopped"] is True
    assert time.monotonic() - started < 30
    assert all(r.intent is None for r in rows(postgres_url, ids).values())
    assert any(
        r.state == "READY" or r.state == "WAIT_FOR_SIGNATURE"
        for r in rows(postgres_url, ids).values()
    ), "the run ended before the signal: make the batch bigger"
    assert main(["audit", "verify", "--db", postgres_url], out=io.StringIO()) == 0
    again = start_worker(limited, postgres_url, tenants)
    wait_for(at_rest(postgres_url, ids, {"NOTIFIED"}), 120, "every flow")
    stop(again)
    assert all(limited.issuer.messages_sent(i) == 1 for i in ids)


def test_scheduled_jobs_renotify_and_watch_until_closed(
    limited: Sandbox, postgres_url: str, tenants: Path
) -> None:
    """With re-notification after 4 s and a status check every second: a refused citizen who
    turns messages on (a sandbox control) is re-notified, once; SIGNED and REJECTED are
    recorded; a flow cancelled from NOTIFIED while the workers run stays CANCELLED."""
    code = fiscal_code()
    limited.issuer.add_citizen(code, messages_on=False)
    refused = limited.issuer.create_ready_request(KEYS["comune-b"], code)
    signed, rejected, cancelled = (request(limited, "comune-a") for _ in range(3))
    ids = [refused, signed, rejected, cancelled]

    def states() -> list[str]:
        found = rows(postgres_url, ids)
        return [found[i].state if i in found else "-" for i in ids]

    enqueue(postgres_url, tenants, "comune-b", [refused])
    enqueue(postgres_url, tenants, "comune-a", [signed, rejected, cancelled])
    options = ("--renotify-after", "4", "--watch-every", "1")
    workers = [start_worker(limited, postgres_url, tenants, *options) for _ in range(2)]
    try:
        first = ["FALLBACK_SUGGESTED", "NOTIFIED", "NOTIFIED", "NOTIFIED"]
        wait_for(lambda: states() == first, 60, "the first resting states")
        control = limited.url.removesuffix("/api/v1/sign") + "/__sandbox"
        turned_on = httpx.post(f"{control}/citizens", json={"fiscal_code": code})
        assert turned_on.status_code == 204
        for request_id, status in ((signed, "SIGNED"), (rejected, "REJECTED")):
            closed = httpx.post(f"{control}/requests/{request_id}/close", json={"status": status})
            assert closed.status_code == 204
        with pytest.MonkeyPatch.context() as env:
            env.setenv("FIRMAIO_API_KEY", KEYS["comune-a"])
            env.setenv("FIRMAIO_BASE_URL", limited.url)
            out = io.StringIO()
            argv = ["cancel", cancelled, "--db", postgres_url, "--tenant", "comune-a", "--json"]
            assert main(argv, out=out) == 0, out.getvalue()
        last = ["NOTIFIED", "SIGNED", "REJECTED", "CANCELLED"]
        wait_for(lambda: states() == last, 60, "the re-notification and the closing states")

        def status_reads() -> int:  # the request alone, or through its dossier's listing
            calls = limited.state.calls
            return calls.get("getSignatureRequest", 0) + calls.get("getRequestsByDossier", 0)

        reads = status_reads()
        wait_for(  # later visits change nothing: closed flows get none, no second message
            lambda: status_reads() >= reads + 2,
            30,
            "two more status checks of the flow still open",
        )
    finally:
        for worker in workers:
            stop(worker)
    assert states() == last
    assert [limited.issuer.messages_sent(i) for i in ids] == [1, 1, 1, 1]
