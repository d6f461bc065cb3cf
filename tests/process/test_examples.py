"""The examples under examples/ run, as a user would run them, against the sandbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from firmaio.adapters.sandbox import Sandbox
from tests.sandbox_helpers import ready_request

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def run_example(sandbox: Sandbox, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FIRMAIO_API_KEY": "sandbox-key", "FIRMAIO_BASE_URL": sandbox.url}
    return subprocess.run(
        [sys.executable, *argv], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_the_asyncio_service(sandbox: Sandbox) -> None:
    on, off = ready_request(sandbox), ready_request(sandbox, messages_on=False)
    done = run_example(sandbox, str(EXAMPLES / "asyncio_service.py"), on, off)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    states = {line["id"]: line["state"] for line in lines if "id" in line}
    assert states == {on: "NOTIFIED", off: "FALLBACK_SUGGESTED"}
    [fallback] = [line for line in lines if "fallback_for" in line]
    assert fallback["fallback_for"] == off
    assert sandbox.issuer.messages_sent(on) == 1


def test_the_thread_pool_worker(sandbox: Sandbox, tmp_path: Path) -> None:
    ids = [ready_request(sandbox) for _ in range(4)]
    db = str(tmp_path / "flows.sqlite")
    done = run_example(sandbox, str(EXAMPLES / "thread_worker.py"), db, *ids)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary == {"states": ["NOTIFIED"] * 4, "counts": {"NOTIFIED": 4}, "rerun_driven": 0}
    assert all(sandbox.issuer.messages_sent(request_id) == 1 for request_id in ids)


def test_a_suite_using_the_pytest_plugin(sandbox: Sandbox) -> None:
    done = run_example(sandbox, "-m", "pytest", "-q", str(EXAMPLES / "test_with_plugin.py"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout
