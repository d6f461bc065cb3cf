"""``notify``, ``run`` and the sync facade against the hostile stand-in: a problem's detail full of
escape sequences reaches the terminal escaped, a ``javascript:`` or foreign QR code URL is
refused before it reaches a record, an answer that trickles is cut at the call's time limit, and
an oversized answer stops at its limit."""

from __future__ import annotations

import io
import json
import sqlite3
import tracemalloc
from pathlib import Path

import pytest

from firmaio.adapters import Firmaio
from firmaio.adapters.cli import Wiring, main
from firmaio.adapters.client import AnswerLimits, RetryPolicy, limits
from firmaio.adapters.settings import Settings
from firmaio.fsm import ApiConfigurationError, ApiProtocolError, ApiUnavailable, State
from tests.conftest import FAST_RETRY
from tests.hostile import ESCAPES, Hostile

TWICE = RetryPolicy(attempts=2, wait_initial=0.01, wait_max=0.01, wait_jitter=0)


def run(*argv: str, retry: RetryPolicy = FAST_RETRY) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out, wiring=Wiring(retry=retry)), out.getvalue()


def unprintable(text: str) -> list[str]:
    """The characters of ``text`` a terminal would act on (all but line breaks)."""
    return [c for c in text if not c.isprintable() and c != "\n"]


def test_escape_sequences_in_a_detail_reach_the_terminal_escaped(
    attacker: Hostile, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The 400's detail clears the screen, retitles the window, rewinds the line and reverses
    the text: printed (trail, reason, failure; stderr too), every one of those is escaped, while
    the store keeps the detail as the service sent it."""
    db = str(tmp_path / "flows.sqlite")
    code, out = run("notify", "escape-detail", "--db", db)
    err = capsys.readouterr().err
    assert code == 14, out
    assert unprintable(out) == []
    assert unprintable(err) == []
    assert "\\x1b[2J\\x1b]0;owned\\x07" in out
    assert "signed by the mayor\\u202e" in out
    stored = sqlite3.connect(db).execute("SELECT payload FROM audit_records").fetchall()
    assert ESCAPES in [json.loads(p)["detail"] for (p,) in stored]

    code, out = run("run", "--db", db, "escape-detail", "javascript-qr", "--concurrency", "2")
    assert code == 4, out  # the QR code URL's flow has an error: rerun to resume
    assert "error, rerun to resume: javascript-qr: " in out
    assert "javascript:" not in out
    assert unprintable(out + capsys.readouterr().err) == []


@pytest.mark.parametrize("scenario", ["javascript-qr", "foreign-qr"])
def test_a_qr_code_url_off_the_io_link_service_is_refused(
    attacker: Hostile, tmp_path: Path, scenario: str
) -> None:
    """Not in ``--json`` output, not in the printed fallback, not in the stored trail: the read
    is refused with its scheme and host as evidence, and nothing is sent to the citizen."""
    db = str(tmp_path / "flows.sqlite")
    code, out = run("notify", scenario, "--db", db, "--json")
    assert code == 4, out
    shown = json.loads(out)
    assert shown["flow"]["fallback"] is None
    assert "qr_code_url is refused" in shown["flow"]["records"][-1]["detail"]
    code, text = run("notify", scenario)
    assert code == 4
    stored = sqlite3.connect(db).execute("SELECT payload FROM audit_records").fetchall()
    for shown_somewhere in [out, text, *(p for (p,) in stored)]:  # the evidence, not the URL
        assert "javascript:" not in shown_somewhere
        assert "evil.example/qrcode.png" not in shown_somewhere
    assert not [hit for hit in attacker.hits if hit[1].endswith("/notification")]


def test_an_answer_that_trickles_is_cut_at_the_call_s_time_limit(
    attacker: Hostile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A byte every 50 ms never trips httpx's per-read timeout; the call's total limit does."""
    monkeypatch.setattr(limits, "DEFAULT_LIMITS", AnswerLimits(call_seconds=0.3))
    code, out = run("notify", "trickle", "--json", retry=TWICE)
    assert code == 4, out
    assert "TooSlow after 2 attempt(s)" in json.loads(out)["flow"]["records"][-1]["detail"]


def test_the_sync_facade_refuses_what_the_command_refuses(
    attacker: Hostile, tmp_path: Path
) -> None:
    """From a plain thread: another request's answer, a foreign QR code URL, a 300 MiB body and a
    redirect raise the library's errors; the body never takes 100 MB (traced in this process)."""
    db = str(tmp_path / "flows.sqlite")
    settings = Settings(base_url=attacker.url, retry=TWICE)
    with Firmaio("hostile-key", settings=settings, db=db) as firmaio:
        with pytest.raises(ApiProtocolError, match="about the request"):
            firmaio.notify("mismatched")
        with pytest.raises(ApiProtocolError, match="qr_code_url is refused"):
            firmaio.notify("foreign-qr")
        tracemalloc.start()
        try:
            with pytest.raises(ApiProtocolError, match="body over 2097152 bytes"):
                firmaio.notify("big-200")
            with pytest.raises(ApiUnavailable, match="body over 65536 bytes"):
                firmaio.notify("big-500")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 100 * 1024 * 1024
        with pytest.raises(ApiConfigurationError, match=r"HTTP 307.* a redirect, which is never"):
            firmaio.notify("redirect-api")  # a setting: the run of every flow would stop on it
        report = firmaio.run(["gzip-bomb", "plain"])
    assert set(report.errors) == {"gzip-bomb"}
    assert report.counts.get(str(State.NOTIFIED)) == 1
    assert attacker.stolen() == []
