"""``firmaio serve`` as a real process against the sandbox: flows kept moving for days, in
seconds; a refused citizen re-notified once they turn messages on; a signature recorded by the
status watch; SIGTERM stops it cleanly, and nothing is lost."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

from firmaio.adapters.sandbox import Sandbox
from firmaio.adapters.store import open_store
from firmaio.fsm.errors import StoreError
from tests.crashing_cli import command
from tests.envelope_helpers import enveloped
from tests.sandbox_helpers import fiscal_code


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def states(db: str, ids: list[str]) -> dict[str, str]:
    store = open_store(db)
    try:
        return {row.flow_id: row.state for row in store.rows(ids)}
    finally:
        store.close()


def wait_for(db: str, ids: list[str], wanted: dict[str, str], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if all(states(db, ids).get(i) == s for i, s in wanted.items()):
            return
        time.sleep(0.1)
    raise AssertionError(f"not reached in {seconds} s: {states(db, ids)} != {wanted}")


def checked(db: str, ids: list[str], seconds: float = 30) -> None:
    """Wait until every flow is stored and one has a record: the service is running."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:  # read only: the service creates the store; until it has, there is none to read
            store = open_store(db, read_only=True)
        except StoreError:  # not created yet, or being created
            rows = []
        else:
            try:
                rows = store.rows(ids)
            finally:
                store.close()
        if len(rows) == len(ids) and any(row.seq > 0 for row in rows):
            return
        time.sleep(0.05)
    raise AssertionError(f"serve stored no check in {seconds} s")


def test_serve_keeps_flows_moving_and_stops_cleanly(sandbox: Sandbox, tmp_path: Path) -> None:
    codes = [fiscal_code() for _ in range(3)]
    sandbox.issuer.add_citizen(codes[0])
    sandbox.issuer.add_citizen(codes[1])
    sandbox.issuer.add_citizen(codes[2], messages_on=False)
    ids = [sandbox.issuer.create_ready_request("sandbox-key", code) for code in codes]
    db = str(tmp_path / "flows.sqlite")
    argv, env = command(sandbox.url, None)
    port = free_port()
    options = ["--tick", "0.2", "--watch-every", "0.5", "--renotify-after", "0.5", "--json"]
    options += ["--metrics-port", str(port)]
    serving = subprocess.Popen(
        [*argv, "serve", "--db", db, *options, *ids],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(db, ids, {ids[0]: "NOTIFIED", ids[1]: "NOTIFIED", ids[2]: "FALLBACK_SUGGESTED"})
        scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert 'firmaio_flows{state="NOTIFIED"} 2.0' in scraped
        assert 'firmaio_flows{state="FALLBACK_SUGGESTED"} 1.0' in scraped
        assert "firmaio_api_calls_total" in scraped
        sandbox.issuer.citizen(codes[2]).messages_on = True  # as the page advises
        wait_for(db, ids, {ids[2]: "NOTIFIED"})
        sandbox.issuer.close(ids[0], "SIGNED")
        sandbox.issuer.close(ids[1], "REJECTED")
        wait_for(db, ids, {ids[0]: "SIGNED", ids[1]: "REJECTED"})
    finally:
        serving.send_signal(signal.SIGTERM)
        out, err = serving.communicate(timeout=60)
    assert serving.returncode == 0, err
    assert "Traceback" not in err
    summary = enveloped(out)
    assert (summary["command"], summary["stopped"]) == ("serve", True)
    assert summary["later_attempts"] >= 1
    assert summary["checks"] >= 2
    assert [sandbox.issuer.messages_sent(i) for i in ids] == [1, 1, 1]
    store = open_store(db)
    try:
        assert all(row.intent is None for row in store.rows(ids))
        actors = {json.loads(link.payload).get("actor") for i in ids for link in store.links(i)}
    finally:
        store.close()
    assert len(actors) == 1, actors  # the service's worker stamped every record, checks included
    assert None not in actors
    verify = subprocess.run(
        [*argv, "audit", "verify", "--db", db], env=env, capture_output=True, text=True, check=False
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_sigterm_mid_batch_stops_at_a_step_boundary_and_a_restart_finishes(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    codes = [fiscal_code() for _ in range(6)]
    for code in codes:
        sandbox.issuer.add_citizen(code)
    ids = [sandbox.issuer.create_ready_request("sandbox-key", code) for code in codes]
    db = str(tmp_path / "flows.sqlite")
    argv, env = command(sandbox.url, None)
    serve = [*argv, "serve", "--db", db, "--tick", "0.2", "--activation-timeout", "60"]
    # READY until the test lets them turn (not for a fixed 2 s: a slow start on a loaded machine
    # saw them activated before the signal)
    saved, sandbox.issuer.activation_delay = sandbox.issuer.activation_delay, 3600.0
    try:
        first = subprocess.Popen(
            [*serve, *ids], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        checked(db, ids)  # polling for activation: every flow READY, some checks done
        first.send_signal(signal.SIGTERM)
        _, err = first.communicate(timeout=30)
        assert first.returncode == 0, err
        assert set(states(db, ids).values()) == {"READY"}
        sandbox.issuer.activation_delay = 0.0  # activated now: the restart finds them so
        again = subprocess.Popen(
            serve, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        try:
            wait_for(db, ids, dict.fromkeys(ids, "NOTIFIED"))
        finally:
            again.send_signal(signal.SIGTERM)
            again.communicate(timeout=30)
    finally:
        sandbox.issuer.activation_delay = saved
    assert [sandbox.issuer.messages_sent(i) for i in ids] == [1] * 6
