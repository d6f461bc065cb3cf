"""Webhooks delivered by real workers and by ``firmaio serve`` to a receiver in a process of its
own (tests/webhook_receiver.py), which verifies every signature with the ``standardwebhooks``
library: each tenant's events at its own URL only, one per record, in order per flow, distinct
ids; a worker killed between a record's commit and its delivery; a receiver failing until the
events are dead, then redelivered."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from firmaio.adapters.cli import main
from firmaio.adapters.cli.demo import sample_pdf
from firmaio.adapters.sandbox import Sandbox
from firmaio.adapters.store import open_store
from tests.crashing_cli import ROOT, command
from tests.sandbox_helpers import fiscal_code

KEYS = {"comune-a": "sandbox-key", "comune-b": "key-b"}
SECRETS = {
    "comune-a": "whsec_" + base64.b64encode(b"comune-a's secret, 32 bytes long").decode(),
    "comune-b": "whsec_" + base64.b64encode(b"comune-b's secret, 32 bytes long").decode(),
}
PATHS = {"comune-a": "/a", "comune-b": "/b"}
SEND = ("--field", "firma_richiedente:Firma del richiedente", "--title", "Modulo di adesione")


@dataclass
class Receiver:
    out: Path
    url: str
    process: subprocess.Popen[bytes]

    def lines(self) -> list[dict[str, object]]:
        if not self.out.exists():
            return []
        return [json.loads(line) for line in self.out.read_text().splitlines() if line]

    def got(self, path: str | None = None) -> list[str]:
        """The ids it took, in the order it took them (at ``path``, or anywhere)."""
        return [
            str(line["id"])
            for line in self.lines()
            if "id" in line and (path is None or line["path"] == path)
        ]

    def answer(self, status: int | None) -> None:
        marker = Path(f"{self.out}.status")
        if status is None:
            marker.unlink(missing_ok=True)
        else:
            marker.write_text(str(status))


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    out, port = tmp_path / "received.jsonl", tmp_path / "receiver.port"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env["RECEIVER_SECRETS"] = json.dumps({PATHS[t]: s for t, s in SECRETS.items()})
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.webhook_receiver", str(out), str(port)], env=env
    )
    wait_for(port.exists, 20, "the receiver to listen")
    yield Receiver(out, f"http://127.0.0.1:{port.read_text()}", process)
    process.kill()
    process.wait()


@pytest.fixture
def issuers() -> Iterator[Sandbox]:
    keys = {"sandbox-key": "issuer-a", "key-b": "issuer-b"}
    with Sandbox(activation_delay=0, validation_delay=0, keys=keys) as sandbox:
        yield sandbox


def wait_for(
    what: Callable[[], bool], timeout: float, why: str, seen: Callable[[], object] = str
) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout:.0f} s waiting for {why}; {seen()}")
        time.sleep(0.1)


def tenants_file(tmp_path: Path, receiver: Receiver) -> Path:
    """Each tenant's key, webhook and folder its signed documents are collected into."""
    for tenant in KEYS:
        (tmp_path / tenant).mkdir(exist_ok=True)
    path = tmp_path / "tenants.toml"
    path.write_text(
        "".join(
            f'[{t}]\nkey_env = "FIRMAIO_KEY_{t[-1].upper()}"\nwebhook_url = "{receiver.url}'
            f'{PATHS[t]}"\nwebhook_secret_env = "HOOK_{t[-1].upper()}"\n'
            "webhook_retries = [0.5, 0.5, 0.5]\n"
            f'documents_dir = "{tmp_path / t}"\n\n'
            for t in KEYS
        )
    )
    return path


def start_worker(
    sandbox: Sandbox, db: str, tenants: Path, crash: str | None = None
) -> subprocess.Popen[str]:
    argv, env = command(sandbox.url, crash)
    env.pop("FIRMAIO_API_KEY")
    env |= {f"FIRMAIO_KEY_{t[-1].upper()}": key for t, key in KEYS.items()}
    env |= {f"HOOK_{t[-1].upper()}": secret for t, secret in SECRETS.items()}
    options = ["--db", db, "--tenants", str(tenants), "--json", "--stalled-after", "3"]
    return subprocess.Popen(
        [*argv, "worker", *options, "--recovery-grace", "0", "--watch-every", "0.5"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(worker: subprocess.Popen[str]) -> None:
    worker.send_signal(signal.SIGTERM)
    _out, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err


def send_from_pdf(sandbox: Sandbox, db: str, tenant: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A flow from the sample PDF, sent for ``tenant`` by ``firmaio send`` (to NOTIFIED); its
    id."""
    code = fiscal_code()
    sandbox.issuer.add_citizen(code)
    with monkeypatch.context() as env:
        env.setenv("FIRMAIO_API_KEY", KEYS[tenant])
        env.setenv("FIRMAIO_BASE_URL", sandbox.url)
        env.setenv("FIRMAIO_FISCAL_CODE", code)
        out = io.StringIO()
        argv = ["send", str(sample_pdf()), *SEND, "--db", db, "--tenant", tenant, "--json"]
        assert main(argv, out=out) == 0, out.getvalue()
    shown = json.loads(out.getvalue())
    return shown["flow"]["flow_id"], shown["flow"]["request_id"]


def enqueue(db: str, tenants: Path, tenant: str, ids: list[str]) -> None:
    with pytest.MonkeyPatch.context() as env:
        env.setenv(f"FIRMAIO_KEY_{tenant[-1].upper()}", KEYS[tenant])
        env.setenv(f"HOOK_{tenant[-1].upper()}", SECRETS[tenant])
        argv = ["enqueue", "--db", db, "--tenants", str(tenants), "--tenant", tenant, *ids]
        assert main(argv, out=io.StringIO()) == 0


def stored_events(db: str, status: str | None = None) -> dict[str, list[tuple[str, str, int]]]:
    """The events of the store (of ``status``), by tenant: (id, flow, seq) in the order they
    were written."""
    store = open_store(db)
    try:
        events = store.events(status=status, limit=10_000)
    finally:
        store.close()
    by_tenant: dict[str, list[tuple[str, str, int]]] = {}
    for e in events:
        by_tenant.setdefault(e.tenant or "default", []).append((e.id, e.flow_id, e.seq))
    return by_tenant


def state_of(db: str, flow_id: str) -> str:
    store = open_store(db)
    try:
        return next((row.state for row in store.rows([flow_id])), "not stored yet")
    finally:
        store.close()


def test_three_workers_two_tenants_each_gets_its_own_events_in_order(
    issuers: Sandbox,
    receiver: Receiver,
    postgres_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """For each tenant, a flow from a PDF to SIGNED, its document collected on its own, and two
    READY requests, driven by 3 workers: each tenant's URL gets exactly its events, verified, each
    once, in order per flow, and a documents.fetched event whose SHA-256 is the written file's."""
    sandbox = issuers
    tenants = tenants_file(tmp_path, receiver)
    sent = {t: send_from_pdf(sandbox, postgres_url, t, monkeypatch) for t in KEYS}
    signed = {t: flow_id for t, (flow_id, _rid) in sent.items()}
    for tenant, (flow_id, request_id) in sent.items():
        ready = []
        for _ in range(2):
            code = fiscal_code()
            sandbox.issuer.add_citizen(code)
            ready.append(sandbox.issuer.create_ready_request(KEYS[tenant], code))
        enqueue(postgres_url, tenants, tenant, [flow_id, *ready])
        sandbox.issuer.close(request_id, "SIGNED")
    workers = [start_worker(sandbox, postgres_url, tenants) for _ in range(3)]
    try:
        wait_for(
            lambda: all(state_of(postgres_url, f) == "SIGNED" for f in signed.values()),
            60, "the signed flows",
        )  # fmt: skip
        wait_for(
            lambda: sum("documents.fetched" in str(line.get("event")) for line in receiver.lines())
            == len(signed),
            60, "each signed flow's documents.fetched event", receiver.lines,
        )  # fmt: skip

        def all_arrived() -> bool:
            events = stored_events(postgres_url)
            return all(len(receiver.got(PATHS[t])) >= len(events[t]) for t in KEYS)

        wait_for(all_arrived, 60, "every event at its URL", receiver.lines)
    finally:
        for worker in workers:
            stop(worker)
    # the flows at rest are still checked (--watch-every): their last events may have been
    # written as the workers stopped; every event delivered was got once, at its tenant's URL
    events = stored_events(postgres_url, "delivered")
    assert not [line for line in receiver.lines() if "refused" in line]
    for tenant in KEYS:
        got = receiver.got(PATHS[tenant])
        assert sorted(got) == sorted(e for e, _f, _s in events[tenant])  # its own, each once
        seqs: dict[str, list[int]] = {}
        for _id, flow_id, seq in sorted(events[tenant], key=lambda e: got.index(e[0])):
            seqs.setdefault(flow_id, []).append(seq)
        assert all(s == sorted(s) for s in seqs.values()), seqs  # in order per flow
        assert len(seqs[signed[tenant]]) >= 5  # set-up, notified, signed ...
    bodies = [line["event"] for line in receiver.lines()]
    assert any(str(b["type"]).endswith(".signed") for b in bodies)  # type: ignore[index]
    fetched = [b for b in bodies if b["type"].endswith("documents.fetched")]  # type: ignore[index]
    assert {b["subject"] for b in fetched} == set(signed.values())  # type: ignore[index]
    for body in fetched:  # each names the file written on its own, whole, with its SHA-256
        facts = body["data"]["evidence"]["facts"]  # type: ignore[index]
        (document,) = {name.split(".")[1] for name in facts if name.startswith("signed.")}
        written = Path(facts[f"signed.{document}.file"])
        assert written.is_relative_to(tmp_path)
        assert (
            hashlib.sha256(written.read_bytes()).hexdigest() == facts[f"signed.{document}.sha256"]
        )
        assert written.stat().st_size == int(facts[f"signed.{document}.size"])


def test_a_worker_killed_after_a_record_delivers_its_event_after_a_restart(
    issuers: Sandbox,
    receiver: Receiver,
    postgres_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SIGKILL right after the SIGNED record's commit (before its event could be delivered):
    a new worker delivers it, with the id the store gave it."""
    sandbox = issuers
    tenants = tenants_file(tmp_path, receiver)
    flow_id, request_id = send_from_pdf(sandbox, postgres_url, "comune-a", monkeypatch)
    enqueue(postgres_url, tenants, "comune-a", [flow_id])
    sandbox.issuer.close(request_id, "SIGNED")
    dying = start_worker(sandbox, postgres_url, tenants, crash="after_write:check_status")
    dying.communicate(timeout=60)
    assert dying.returncode == -signal.SIGKILL
    assert state_of(postgres_url, flow_id) == "SIGNED"
    last = stored_events(postgres_url)["comune-a"][-1][0]
    assert last not in receiver.got(), "delivered before the kill: the test shows nothing"
    again = start_worker(sandbox, postgres_url, tenants)

    def stored() -> set[str]:
        return {e for e, _f, _s in stored_events(postgres_url)["comune-a"]}

    try:
        wait_for(lambda: last in receiver.got("/a"), 60, "the event after the restart")
        # the new worker goes on after SIGNED (it collects the signed file: one more record and
        # its event), so wait for every event the store holds, then stop it
        wait_for(lambda: stored() <= set(receiver.got("/a")), 60, "every stored event")
    finally:
        stop(again)
    assert set(receiver.got("/a")) == stored()


def test_serve_a_receiver_failing_forever_then_redeliver(
    issuers: Sandbox,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    """``firmaio serve`` with a webhook: the receiver answers 500, every event is dead after
    three attempts, each logged, listed by ``firmaio events --dead``; fixed,
    ``firmaio events redeliver`` sends them."""
    sandbox = issuers
    db = str(tmp_path / "flows.sqlite")
    code = fiscal_code()
    sandbox.issuer.add_citizen(code)
    rid = sandbox.issuer.create_ready_request(KEYS["comune-a"], code)
    receiver.answer(500)
    argv, env = command(sandbox.url, None)
    env["HOOK_A"] = SECRETS["comune-a"]
    serve = subprocess.Popen(
        [*argv, "serve", "--db", db, "--tick", "0.2", rid, "--webhook-url",
         f"{receiver.url}/a", "--webhook-secret-env", "HOOK_A", "--webhook-retries", "0.2,0.2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:

        def dead() -> list[str]:
            store = open_store(db, read_only=True)
            try:
                return [e.id for e in store.events(status="dead")]
            finally:
                store.close()

        wait_for(lambda: state_of(db, rid) == "NOTIFIED" and len(dead()) >= 2, 60, "dead events")
        assert receiver.got() == []
        listed = io.StringIO()
        assert main(["events", "--db", db, "--dead", "--json"], out=listed) == 0
        shown = json.loads(listed.getvalue())["events"]
        ids = [e["id"] for e in shown]
        assert set(ids) == set(dead())
        store = open_store(db)
        try:
            log = store.deliveries(ids[0])
        finally:
            store.close()
        assert [(a, code) for a, _at, code, _ms, _e in log] == [(1, 500), (2, 500), (3, 500)]
        assert log[-1][4] == "HTTP 500; attempt 3 of 3: given up"
        receiver.answer(None)  # fixed
        assert main(["events", "redeliver", "--db", db, *ids], out=io.StringIO()) == 0
        wait_for(lambda: set(ids) <= set(receiver.got("/a")), 30, "the redelivered events")
    finally:
        serve.send_signal(signal.SIGTERM)
        _out, err = serve.communicate(timeout=60)
    assert serve.returncode == 0, err


def test_the_manuals_receiver_verifies_what_firmaio_sends(tmp_path: Path) -> None:
    """The receiver printed in the manual, run as printed: it takes a signed event once (a
    repeat of its id is dropped) and refuses one signed with another secret."""
    import asyncio

    from firmaio.adapters.webhooks import Deliverer, WebhookTarget
    from firmaio.fsm.testing import ManualClock
    from tests.webhook_helpers import TYPE, MemoryOutbox, event

    page = (ROOT / "docs" / "events.md").read_text()
    code = page.split("### A receiver", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    script = tmp_path / "receiver.py"
    script.write_text(code)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "FIRMAIO_WEBHOOK_SECRET": SECRETS["comune-a"], "PORT": str(port)}
    env["OTHER_SECRET"] = SECRETS["comune-b"]
    child = subprocess.Popen(
        [sys.executable, str(script)], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        outbox = MemoryOutbox()
        outbox.add(event("f1", 1), event("f1", 2), event("f2", 1, tenant="other"))
        url = f"http://127.0.0.1:{port}/"
        targets = [
            WebhookTarget("default", url, secret_env="FIRMAIO_WEBHOOK_SECRET"),
            WebhookTarget("other", url, secret_env="OTHER_SECRET"),
        ]

        async def deliver() -> None:
            with pytest.MonkeyPatch.context() as patch:
                for name in ("FIRMAIO_WEBHOOK_SECRET", "OTHER_SECRET"):
                    patch.setenv(name, env[name])
                sender = Deliverer(outbox, targets, clock=ManualClock())
            async with sender:
                while not await _listening(port):
                    await asyncio.sleep(0.05)
                await sender.drain()
                outbox.redeliver(["f1/1"])  # as after a lost answer: the same id again
                await sender.drain()

        asyncio.run(asyncio.wait_for(deliver(), 30))
    finally:
        child.terminate()
        printed, _ = child.communicate(timeout=10)
    assert printed.splitlines() == [f"{TYPE} f1 1", f"{TYPE} f1 2"]
    assert [row["outcome"] for row in outbox.log if row["event_id"] == "f1/1"] == ["delivered"] * 2
    refused = [row for row in outbox.log if row["event_id"] == "f2/1"]
    assert refused[0]["error"] == "HTTP 401"


async def _listening(port: int) -> bool:
    import asyncio

    try:
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    return True
