"""``firmaio send`` killed with SIGKILL at a step boundary, then run again with the same ``--id``:
one request, one upload, one message, and an intact trail.

One real process per kind of boundary: before the request's creation (its intent written, no
call made), after the upload (the PDF at the blob store, its answer never written) and after the
notification's record. Every set-up step at every boundary is stopped in-process, by the same
hook raising, in ``tests/store/test_setup_crashes.py``. The crash switch is the one of
:mod:`tests.crashing_cli`; the sandbox runs in this process and counts requests, uploads and
messages, and the rerun runs in this process too.
"""

from __future__ import annotations

import io
import json
import signal
import subprocess
from pathlib import Path

import pytest
from ulid import ULID

from firmaio.adapters.cli import main
from firmaio.adapters.cli.demo import sample_pdf
from firmaio.adapters.sandbox import Sandbox
from tests.crashing_cli import command
from tests.sandbox_helpers import fiscal_code

CASES = [
    ("before_call", "create_request", ("recover_request", "request_was_not_created")),
    ("after_call", "upload_document", ("recover_upload", "upload_arrived")),
    ("after_write", "notify", None),
]


def firmaio(
    sandbox: Sandbox, *args: str, crash: str | None = None, cwd: Path
) -> subprocess.CompletedProcess[str]:
    argv, env = command(sandbox.url, crash)
    return subprocess.run(
        [*argv, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=180, check=False
    )


@pytest.mark.parametrize(
    ("point", "step", "recovered"), CASES, ids=[f"{p}-{s}" for p, s, _ in CASES]
)
def test_send_killed_at_a_boundary_then_run_again(
    sandbox: Sandbox, tmp_path: Path, point: str, step: str, recovered: tuple[str, str] | None
) -> None:
    code = fiscal_code()
    flow_id = str(ULID())
    db = str(tmp_path / "flows.sqlite")
    # a killed process has no call under way and the sandbox acts at once: an open intent is
    # read back at once
    send = (
        "send", str(sample_pdf()), "--fiscal-code", code,
        "--field", "firma_richiedente:Firma del richiedente",
        "--title", "Modulo di adesione", "--id", flow_id, "--db", db,
        "--recovery-grace", "0",
    )  # fmt: skip
    killed = firmaio(sandbox, *send, crash=f"{point}:{step}", cwd=tmp_path)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    out = io.StringIO()  # the rerun in this process: what it reads is what the killed one left
    with pytest.MonkeyPatch.context() as env:
        env.setenv("FIRMAIO_API_KEY", "sandbox-key")
        env.setenv("FIRMAIO_BASE_URL", sandbox.url)
        assert main([*send, "--json"], out=out) == 0, out.getvalue()
    shown = json.loads(out.getvalue())
    assert shown["flow"]["state"] == "NOTIFIED"
    assert shown["flow"]["flow_id"] == flow_id
    signer = sandbox.issuer.get_signer(sandbox.issuer.keys["sandbox-key"], {"fiscal_code": code})
    requests = [r for r in sandbox.issuer.requests.values() if r.signer_id == signer["id"]]
    assert [r.id for r in requests] == [shown["flow"]["request_id"]]  # one request
    assert sandbox.issuer.uploads_received(requests[0].id) == 1  # one upload
    assert sandbox.issuer.messages_sent(requests[0].id) == 1  # one message
    assert code not in out.getvalue()
    recoveries = [
        (r["trigger"], r["guard"])
        for r in shown["flow"]["records"]
        if r["trigger"].startswith("recover_")
    ]
    assert recoveries == ([recovered] if recovered else [])
    verify = io.StringIO()
    assert main(["audit", "verify", "--db", db], out=verify) == 0, verify.getvalue()
