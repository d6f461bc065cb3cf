"""``firmaio flows``: an operator lists the stored flows (filters, pages) or counts them by state,
without SQL; flows driven against the loopback sandbox by the command itself."""

from __future__ import annotations

import io
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from firmaio.adapters.cli import main
from firmaio.adapters.sandbox import Sandbox
from tests.envelope_helpers import enveloped
from tests.sandbox_helpers import ready_request

pytestmark = pytest.mark.http


def firmaio(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def listed(*argv: str) -> dict[str, Any]:
    code, out = firmaio("flows", *argv, "--json")
    assert code == 0, out
    return enveloped(out)


def test_flows_are_listed_newest_first_filtered_paged_and_counted(
    api_env: Sandbox, tmp_path: Path
) -> None:
    db = str(tmp_path / "flows.sqlite")
    notified = [ready_request(api_env) for _ in range(3)]
    refused = ready_request(api_env, messages_on=False)
    for request_id in [*notified, refused]:
        firmaio("notify", request_id, "--db", db, "--qr-dir", str(tmp_path))

    every = listed("--db", db)["flows"]
    assert [f["flow_id"] for f in every] == [refused, *reversed(notified)]  # newest first
    assert every[0]["state"] == "FALLBACK_SUGGESTED"
    assert all(f["record_count"] >= 1 for f in every)

    only = listed("--db", db, "--state", "FALLBACK_SUGGESTED")["flows"]
    assert [f["flow_id"] for f in only] == [refused]
    assert listed("--db", db, "--id", notified[0])["flows"][0]["flow_id"] == notified[0]

    first = listed("--db", db, "--limit", "3")
    rest = listed("--db", db, "--limit", "3", "--after", first["next_after"])
    assert [f["flow_id"] for f in first["flows"] + rest["flows"]] == [f["flow_id"] for f in every]
    assert rest["next_after"] is None

    counts = listed("--db", db, "--counts")["counts"]
    assert {(c["state"], c["flows"]) for c in counts} == {
        ("NOTIFIED", 3),
        ("FALLBACK_SUGGESTED", 1),
    }
    code, text = firmaio("flows", "--db", db, "--counts")
    assert code == 0
    assert text.splitlines()[-1].split() == ["total", "4"]


def test_an_unknown_state_or_cursor_is_refused_naming_it(api_env: Sandbox, tmp_path: Path) -> None:
    db = str(tmp_path / "flows.sqlite")
    firmaio("notify", ready_request(api_env), "--db", db)
    code, out = firmaio("flows", "--db", db, "--state", "SIGNATO", "--json")
    assert code == 2
    assert "unknown state 'SIGNATO'" in json.loads(out)["failure"]["message"]
    code, out = firmaio("flows", "--db", db, "--after", "not-a-cursor", "--json")
    assert code == 2
    assert json.loads(out)["failure"]["kind"] == "usage"


def test_since_is_the_last_change_and_created_since_the_making(
    api_env: Sandbox, tmp_path: Path
) -> None:
    """`--since` lists the flows changed since (the most recently changed first), as an operator
    watching the day's work asks; `--created-since`, the flows made since."""
    db = str(tmp_path / "flows.sqlite")
    old, other = ready_request(api_env), ready_request(api_env)
    for request_id in (old, other):
        firmaio("notify", request_id, "--db", db, "--qr-dir", str(tmp_path))
    time.sleep(0.01)  # the two notifies are before this moment, on the system clock
    moment = datetime.fromtimestamp(time.time(), UTC).isoformat()
    code, out = firmaio("cancel", old, "--db", db)  # the older flow changes now
    assert code == 0, out

    changed = listed("--db", db, "--since", moment)
    assert [f["flow_id"] for f in changed["flows"]] == [old]
    assert changed["flows"][0]["updated_at"] >= moment.replace("+00:00", "")[:19]
    assert listed("--db", db, "--created-since", moment)["flows"] == []
    assert [f["flow_id"] for f in listed("--db", db, "--until", moment)["flows"]] == [other]
    code, text = firmaio("flows", "--db", db, "--since", "1h")
    assert code == 0
    assert [line.split()[0] for line in text.splitlines()] == [old, other]  # last changed first
