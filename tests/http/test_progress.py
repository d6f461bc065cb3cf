"""Progress on a terminal: each step of a flow on stderr as it happens, a bar for a batch run
whose last line matches the summary; nothing of it when stderr is not a terminal or with
``--json``. The terminal is a real pseudo-terminal (the pty module), read as the command runs."""

from __future__ import annotations

import io
import os
import pty
import re
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from firmaio.adapters.cli import Wiring, main
from firmaio.adapters.cli.demo import sample_pdf
from firmaio.adapters.sandbox import Sandbox
from firmaio.fsm.driving import Flow
from tests.sandbox_helpers import fiscal_code, ready_request

SEND = ("--field", "firma_richiedente:Firma del richiedente", "--title", "Modulo di adesione")


@contextmanager
def terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[list[str], list[bytes]]]:
    """stderr on a pseudo-terminal for the block; yields what it showed (complete once the block
    ends) and what it has shown so far (read by a thread while the command runs)."""
    leader, follower = pty.openpty()
    shown: list[str] = []
    chunks: list[bytes] = []

    def read() -> None:
        while True:
            try:
                data = os.read(leader, 4096)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    stream = open(follower, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    monkeypatch.setattr(sys, "stderr", stream)
    try:
        yield shown, chunks
    finally:
        stream.close()
        os.close(follower)
        reader.join(5)
        os.close(leader)
        shown.append(b"".join(chunks).decode().replace("\r\n", "\n"))


def test_each_step_of_send_is_shown_as_it_happens(
    api_env: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = io.StringIO()
    before_notify: list[str] = []

    def boundary(point: str, _flow: Flow, trigger: str) -> None:
        if point == "before_call" and trigger == "notify":
            time.sleep(0.2)  # the reader's turn
            before_notify.append(b"".join(chunks).decode())

    with terminal(monkeypatch) as (shown, chunks):
        argv = ["send", str(sample_pdf()), "--fiscal-code", fiscal_code(), *SEND, "--db", "f.db"]
        assert main(argv, out=out, wiring=Wiring(on_boundary=boundary)) == 0
    assert "-> WAIT_FOR_SIGNATURE" in before_notify[0]  # shown before the command ended
    assert "-> NOTIFIED" not in before_notify[0]
    steps = [line for line in shown[0].splitlines() if re.match(r"  #\d+ ", line)]
    assert len(steps) >= 8
    assert "-> NOTIFIED" in steps[-1]
    assert len(steps) == len(re.findall(r"^  #\d+ ", out.getvalue(), re.M))  # every step


def test_run_shows_a_bar_whose_last_line_matches_the_summary(
    api_env: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [ready_request(api_env) for _ in range(3)] + [ready_request(api_env, messages_on=False)]
    out = io.StringIO()
    with terminal(monkeypatch) as (shown, _):
        assert main(["run", *ids, "--db", "flows.sqlite"], out=out) == 0
    last = shown[0].rstrip().split("\r")[-1].strip()
    assert last == (f"firmaio run: [{'#' * 24}] 4/4 driven (FALLBACK_SUGGESTED 1, NOTIFIED 3)")
    assert re.search(r"NOTIFIED +3", out.getvalue())


@pytest.mark.parametrize("json_or_pipe", ["--json", "pipe"])
def test_nothing_of_it_off_a_terminal_or_with_json(
    json_or_pipe: str, api_env: Sandbox, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    ids = [ready_request(api_env) for _ in range(2)]
    argv = ["run", *ids, "--db", "flows.sqlite"]
    if json_or_pipe == "--json":
        with terminal(monkeypatch) as (shown, _):
            assert main([*argv, "--json"], out=io.StringIO()) == 0
        assert shown[0] == ""
    else:
        assert main(argv, out=io.StringIO()) == 0
        assert main(["notify", ready_request(api_env)], out=io.StringIO()) == 0
        assert capsys.readouterr().err == ""
