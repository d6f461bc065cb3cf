"""Oversized and endless bodies from the hostile stand-in, read by a real ``firmaio`` process:
each is refused once past its limit, and the process never holds more than 100 MB.

One child process runs the commands one after another and reports, after each, its own peak
resident size (``VmHWM`` of ``/proc/self/status``, a high-water mark: the figure after a command
covers it and every command before; ``ru_maxrss`` would not do, Linux carries it over from the
forked test process). The server streams from the test process, so its memory is not counted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from firmaio.adapters.cli.demo import sample_pdf
from tests.hostile import Hostile

CHILD = """
import io, json, sys
from firmaio.adapters.cli import Wiring, main
from firmaio.adapters.client import RetryPolicy

def peak():
    status = open("/proc/self/status").read()
    return int(status.split("VmHWM:")[1].split()[0]) * 1024

retry = RetryPolicy(attempts=2, wait_initial=0.01, wait_max=0.01, wait_jitter=0)
for argv in json.loads(sys.argv[1]):
    out = io.StringIO()
    code = main(argv, out=out, wiring=Wiring(retry=retry))
    history = json.loads(out.getvalue()).get("flow", {}).get("records") or [{}]
    print(json.dumps([argv[0], argv[1], code, peak(), history[-1].get("detail")]), flush=True)
"""
LIMIT = 100 * 1024 * 1024

FETCHES = {
    "big-500": "HTTP 500 with a body over 65536 bytes",
    "big-200": "HTTP 200 with a body over 2097152 bytes",
    "gzip-bomb": "HTTP 200 with a body over 2097152 bytes",
    "download-endless": "HTTP 200 with a body over 52428800 bytes",
    "download-big-error": "download: HTTP 500",
}


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux's /proc")
def test_no_oversized_body_takes_a_process_over_100_mb(attacker: Hostile, tmp_path: Path) -> None:
    """A 500 whose chunked body runs to 400 MiB, a 200 of 300 MiB, a gzip bomb of 256 MiB, an
    endless signed document, an endless error page of the blob store, an endless answer to an
    upload: each refused (exit 4) with the limit it passed, under 100 MB of peak memory."""
    attacker.mode = "big-upload-answer"  # the set-up calls of `send` below
    commands = [["fetch", s, "--to", str(tmp_path / "signed"), "--json"] for s in FETCHES]
    send = ["send", str(sample_pdf()), "--field", "firma_richiedente", "--json"]
    env = {**os.environ, "FIRMAIO_FISCAL_CODE": "RSSMRA80A01H501U"}
    child = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps([*commands, send])],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    seen = [json.loads(line) for line in child.stdout.splitlines()]
    assert [(command, what) for command, what, *_ in seen] == [
        *(("fetch", s) for s in FETCHES),
        ("send", str(sample_pdf())),
    ]
    for (command, what, code, peak, detail), expected in zip(
        seen, [*FETCHES.values(), "with a body over 65536 bytes"], strict=True
    ):
        assert code == 4, (command, what, detail)
        assert expected in detail, (command, what, detail)
        assert peak < LIMIT, (command, what, f"{peak / 2**20:.0f} MiB")
    assert not list((tmp_path / "signed").rglob("*.pdf*"))
