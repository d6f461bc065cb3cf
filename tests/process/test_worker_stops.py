"""A stopping worker never waits out a grace: SIGTERM to three busy workers whose flows are
inside the notification grace (answers lost, the client waiting before it reads back). Each
exits within 10 s, cleanly and with no traceback; no citizen gets a second message; every flow
is finished after a restart."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from firmaio.adapters.sandbox import Sandbox
from tests.process.test_queue_workers import (
    at_rest,
    enqueue,
    limited,
    queue_and_flows,
    request,
    rows,
    start_worker,
    stop,
    tenants,
    wait_for,
)
from tests.sandbox_helpers import fault

__all__ = ["limited", "tenants"]  # the fixtures, shared

FLOWS = 12


def test_sigterm_stops_busy_workers_within_10_s_inside_the_notification_grace(
    limited: Sandbox, postgres_url: str, tenants: Path
) -> None:
    ids = [request(limited, "comune-a") for _ in range(FLOWS)]
    fault(limited, "sendNotification", "drop_after", times=FLOWS)  # each first answer is lost
    enqueue(postgres_url, tenants, "comune-a", ids)
    options = ("--notification-grace", "30", "--recovery-grace", "0")
    workers = [start_worker(limited, postgres_url, tenants, *options) for _ in range(3)]
    in_grace = lambda: all(r.intent == "notify" for r in rows(postgres_url, ids).values())  # noqa: E731
    wait_for(
        in_grace, 60, "every notification's answer lost", lambda: queue_and_flows(postgres_url)
    )
    time.sleep(0.5)  # each client is now waiting out its 30 s grace
    stopped_at = time.monotonic()
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        out, err = worker.communicate(timeout=30)
        took = time.monotonic() - stopped_at
        assert worker.returncode == 0, err
        assert took < 10, f"a worker took {took:.1f} s to stop"
        assert "Traceback" not in err, err
        assert "stopped" in out
    assert [limited.issuer.messages_sent(i) for i in ids] == [1] * FLOWS
    again = start_worker(limited, postgres_url, tenants, "--recovery-grace", "0")
    wait_for(
        at_rest(postgres_url, ids, {"NOTIFIED"}),
        60,
        "every flow",
        lambda: queue_and_flows(postgres_url),
    )
    summary = stop(again)
    assert summary["stopped"] is True
    assert [limited.issuer.messages_sent(i) for i in ids] == [1] * FLOWS
