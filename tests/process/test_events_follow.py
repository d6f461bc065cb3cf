"""``firmaio events --follow``, a real process: the events after the cursor as JSON lines, then
each one committed while it runs, until SIGINT, which ends it with exit 0."""

from __future__ import annotations

import json
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from firmaio.adapters.store import open_store
from firmaio.fsm import State
from tests.store.test_outbox import OTHER, RID, records_to, stored


def next_line(process: subprocess.Popen[str], within: float = 30.0) -> dict[str, Any]:
    """The next JSON line the process prints (failing after ``within`` seconds)."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if selector.select(timeout=deadline - time.monotonic()):
                line = process.stdout.readline()
                assert line, f"the feed ended: {process.stderr.read() if process.stderr else ''}"
                found: dict[str, Any] = json.loads(line)
                return found
    raise AssertionError("no line within the time")


def test_the_feed_follows_new_events_until_sigint(tmp_path: Path) -> None:
    db = str(tmp_path / "flows.sqlite")
    store = open_store(db)
    stored(store, records_to(State.NOTIFIED), tenant="comune-a")
    first = store.events()[0].position
    feed = subprocess.Popen(
        [sys.executable, "-m", "firmaio.adapters.cli", "events", "--follow", "--db", db,
         "--after", str(first), "--interval", "0.05"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = next_line(feed)
        assert (line["event"]["id"], line["position"]) == (f"{RID}/2", first + 1)
        assert line["event"]["specversion"] == "1.0"
        stored(store, records_to(State.WAIT_FOR_SIGNATURE, OTHER))  # committed while it runs
        line = next_line(feed)
        assert (line["event"]["id"], line["event"]["data"]["tenant"]) == (f"{OTHER}/1", None)
        feed.send_signal(signal.SIGINT)
        _out, err = feed.communicate(timeout=30)
        assert feed.returncode == 0, err
        assert "Traceback" not in err
    finally:
        if feed.poll() is None:
            feed.kill()
            feed.wait()
        store.close()
