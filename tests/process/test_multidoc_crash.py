"""``firmaio send a.pdf b.pdf c.pdf`` killed with SIGKILL at every boundary of each of its three
uploads, then run again with the same ``--id``: one request, three uploads, one message, and an
intact trail (issue #25).

Each upload is the set-up's ``get_upload_url`` then ``upload_document`` (the step that opens an
intent), so its boundaries are: before its intent (``after_write`` of its ``get_upload_url``:
nothing of the upload written), after the intent before the call (``before_call``), after the
call before its record (``after_call``: the PDF at the blob store, the answer never written) and
after the record (``after_write``). The upload URL is a SAS secret held in memory only: a process
killed between getting it and using it leaves none, so the rerun's upload reads it as expired
(``upload_url_expired``, no call) and asks a new one. The N-th upload is the N-th time the
process reaches that point on that trigger. The killed process is a real ``firmaio send`` (through
:mod:`tests.crashing_cli`, which SIGKILLs itself there); the sandbox serves on loopback from
this process, one for the module, validating and activating at once; what it counts is the
sandbox's own record of what arrived. The rerun runs in this process: what it reads is what the
killed process left in the store. Every boundary of the one-PDF set-up, stopped in-process, is
``tests/store/test_setup_crashes.py``'s.
"""

from __future__ import annotations

import io
import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from ulid import ULID

from firmaio.adapters.cli import main
from firmaio.adapters.sandbox import Sandbox
from tests.crashing_cli import command
from tests.multidoc_helpers import pdf_copies
from tests.sandbox_helpers import fiscal_code

PDFS = ("contratto.pdf", "allegato.pdf", "informativa.pdf")

BOUNDARIES = [
    ("after_write", "get_upload_url", 0, None),
    ("before_call", "upload_document", 0, ("recover_upload", "upload_did_not_arrive")),
    ("after_call", "upload_document", 1, ("recover_upload", "upload_arrived")),
    ("after_write", "upload_document", 1, None),
]
"""Each boundary of an upload: where the process kills itself, how many of this upload's PDF
the blob store holds when it dies, and the recovery the rerun then fires (its guard)."""

CASES = [(n, *boundary) for n in (1, 2, 3) for boundary in BOUNDARIES]


@pytest.fixture(scope="module")
def quick_sandbox() -> Iterator[Sandbox]:
    """One sandbox for the module, on loopback: it validates and activates at once, unthrottled."""
    with Sandbox(activation_delay=0, validation_delay=0, rate_calls=100_000) as served:
        yield served


def send_argv(code: str, flow_id: str, db: str) -> list[str]:
    return [
        "send", *PDFS, "--fiscal-code", code, "--id", flow_id, "--db", db,
        "--field", "contratto.pdf:firma_richiedente:Firma del contratto",
        "--field", "allegato.pdf:firma_richiedente:Firma dell'allegato",
        "--field", "informativa.pdf:firma_richiedente:Presa visione",
        # a killed process has no call under way: an open intent is read back at once
        "--recovery-grace", "0",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("upload", "point", "step", "arrived", "recovered"),
    CASES,
    ids=[f"upload{n}-{point}-{step}" for n, point, step, _, _ in CASES],
)
def test_three_pdfs_killed_at_an_upload_boundary_then_run_again(
    quick_sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    upload: int,
    point: str,
    step: str,
    arrived: int,
    recovered: tuple[str, str] | None,
) -> None:
    sandbox = quick_sandbox
    pdfs = pdf_copies(tmp_path, *PDFS)
    code, flow_id, db = fiscal_code(), str(ULID()), str(tmp_path / "flows.sqlite")
    argv = send_argv(code, flow_id, db)

    run, env = command(sandbox.url, f"{point}:{step}:{upload}")
    killed = subprocess.run(
        [*run, *argv], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    signer = sandbox.issuer.get_signer(sandbox.issuer.keys["sandbox-key"], {"fiscal_code": code})
    [request] = [r for r in sandbox.issuer.requests.values() if r.signer_id == signer["id"]]
    # it died where it was told: the uploads before this one and, past the call, this one
    assert sandbox.issuer.uploads_received(request.id) == upload - 1 + arrived
    assert sandbox.issuer.messages_sent(request.id) == 0

    monkeypatch.setenv("FIRMAIO_API_KEY", "sandbox-key")
    monkeypatch.setenv("FIRMAIO_BASE_URL", sandbox.url)
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()  # the rerun, in this process: it resumes the killed one's flow
    assert main([*argv, "--json"], out=out) == 0, out.getvalue()
    shown = json.loads(out.getvalue())["flow"]
    assert (shown["flow_id"], shown["state"]) == (flow_id, "NOTIFIED")
    requests = [r for r in sandbox.issuer.requests.values() if r.signer_id == signer["id"]]
    assert [r.id for r in requests] == [request.id] == [shown["request_id"]]  # one request
    assert sandbox.issuer.uploads_received(request.id) == 3  # three uploads, none twice
    assert [d.content for d in request.documents] == [p.read_bytes() for p in pdfs]
    assert sandbox.issuer.messages_sent(request.id) == 1  # one message
    fired = [(r["trigger"], r["guard"]) for r in shown["records"]]
    assert [f for f in fired if f[0] == "recover_upload"] == ([recovered] if recovered else [])
    lost_url = [("upload_document", "upload_url_expired")] if step == "get_upload_url" else []
    assert [f for f in fired if f == ("upload_document", "upload_url_expired")] == lost_url
    assert code not in out.getvalue()
    verify = io.StringIO()
    assert main(["audit", "verify", "--db", db], out=verify) == 0, verify.getvalue()
