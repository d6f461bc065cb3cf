"""``firmaio send`` killed with SIGKILL at each boundary of each set-up step, then run again with
the same ``--id``: one request, one upload, one message, and an intact trail.

The crash switch is the one of :mod:`tests.crashing_cli`; the sandbox runs in this process and
counts requests, uploads and messages.
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from firmaio.adapters.cli.demo import sample_pdf
from firmaio.adapters.sandbox import Sandbox
from tests.crashing_cli import command
from tests.sandbox_helpers import SET_UP_TRIGGERS, fiscal_code

STEPS = SET_UP_TRIGGERS
POINTS = ["before_call", "after_call", "after_write"]
CASES = [(point, step) for step in STEPS for point in POINTS]


def firmaio(
    sandbox: Sandbox, *args: str, crash: str | None = None, cwd: Path
) -> subprocess.CompletedProcess[str]:
    argv, env = command(sandbox.url, crash)
    return subprocess.run(
        [*argv, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=180, check=False
    )


@pytest.mark.parametrize(("point", "step"), CASES, ids=[f"{p}-{s}" for p, s in CASES])
def test_send_killed_at_a_boundary_then_run_again(
    sandbox: Sandbox, tmp_path: Path, point: str, step: str
) -> None:
    code = fiscal_code()
    flow_id = f"01JCRASH{abs(hash((point, step))) % 10**18:018d}"
    db = str(tmp_path / "flows.sqlite")
    send = (
        "send", str(sample_pdf()), "--fiscal-code", code,
        "--field", "firma_richiedente:Firma del richiedente",
        "--title", "Modulo di adesione", "--id", flow_id, "--db", db,
        "--notification-grace", "0",
    )  # fmt: skip
    killed = firmaio(sandbox, *send, crash=f"{point}:{step}", cwd=tmp_path)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    resumed = firmaio(sandbox, *send, "--json", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    shown = json.loads(resumed.stdout)
    assert shown["state"] == "NOTIFIED"
    assert shown["flow_id"] == flow_id
    signer = sandbox.issuer.get_signer(sandbox.issuer.keys["sandbox-key"], {"fiscal_code": code})
    requests = [r for r in sandbox.issuer.requests.values() if r.signer_id == signer["id"]]
    assert [r.id for r in requests] == [shown["signature_request_id"]]  # one request
    assert sandbox.issuer.uploads_received(requests[0].id) == 1  # one upload
    assert sandbox.issuer.messages_sent(requests[0].id) == 1  # one message
    assert code not in resumed.stdout + resumed.stderr
    verify = firmaio(sandbox, "audit", "verify", "--db", db, cwd=tmp_path)
    assert verify.returncode == 0, verify.stdout + verify.stderr
