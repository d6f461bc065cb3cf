"""``firmaio send`` of three PDFs stopped at each boundary of each document's upload, in this
process, then run again with the same ``--id``: one request, three uploads, one message, and an
intact trail (as :mod:`tests.store.test_setup_crashes` does for one PDF).

The hook counts the uploads it has seen, so a crash lands on the first, second or third
document's ``upload_document`` (or its ``recover_upload``, after a first crash that left the
intent open), at ``before_call``, ``after_call`` or ``after_write``."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from ulid import ULID

from firmaio.adapters.cli import Wiring, main
from firmaio.adapters.sandbox import Sandbox
from firmaio.fsm.driving.engine import Flow
from tests.multidoc_helpers import pdf_copies
from tests.sandbox_helpers import fiscal_code
from tests.store.test_setup_crashes import POINTS, Crash, quick_sandbox, sandbox_env

__all__ = ["quick_sandbox", "sandbox_env"]  # the fixtures, used by name

NAMES = ("contratto.pdf", "allegato.pdf", "informativa.pdf")
CASES = [(point, nth) for nth in (1, 2, 3) for point in POINTS]


def argv(folder: Path, code: str, flow_id: str, db: str) -> list[str]:
    fields = [a for name in NAMES for a in ("--field", f"{name}:firma_richiedente:Firma qui")]
    pdfs = [str(p) for p in pdf_copies(folder, *NAMES)]
    return ["send", *pdfs, "--fiscal-code", code, *fields, "--id", flow_id, "--db", db,
            "--recovery-grace", "0", "--json"]  # fmt: skip


def crash_at_nth(point: str, trigger: str, nth: int) -> object:
    """A hook raising :class:`Crash` at ``point`` of the ``nth`` ``trigger`` it sees."""
    seen = {"n": 0}

    def hook(at: str, _flow: Flow, fired: str) -> None:
        if str(fired) != trigger:
            return
        if at == "before_call":
            seen["n"] += 1
        if seen["n"] == nth and at == point:
            raise Crash(at, fired)

    return hook


def crashed(args: list[str], hook: object) -> None:
    with pytest.raises(Crash):
        main(args, out=io.StringIO(), wiring=Wiring(on_boundary=hook))  # type: ignore[arg-type]


def resumed(sandbox: Sandbox, args: list[str], code: str, db: str) -> dict[str, object]:
    out = io.StringIO()
    assert main(args, out=out) == 0, out.getvalue()
    shown: dict[str, object] = json.loads(out.getvalue())["flow"]  # the envelope's flow
    assert shown["state"] == "NOTIFIED"
    signer = sandbox.issuer.get_signer(sandbox.issuer.keys["sandbox-key"], {"fiscal_code": code})
    requests = [r for r in sandbox.issuer.requests.values() if r.signer_id == signer["id"]]
    assert [r.id for r in requests] == [shown["request_id"]]  # one request
    [request] = requests
    assert sandbox.issuer.uploads_received(request.id) == 3  # three uploads, one per document
    assert all(d.status != "WAIT_FOR_UPLOAD" for d in request.documents)
    assert sandbox.issuer.messages_sent(request.id) == 1  # one message
    assert code not in out.getvalue()
    verify = io.StringIO()
    assert main(["audit", "verify", "--db", db], out=verify) == 0, verify.getvalue()
    return shown


@pytest.mark.parametrize(("point", "nth"), CASES, ids=[f"{p}-upload{n}" for p, n in CASES])
def test_three_pdfs_stopped_at_an_upload_then_run_again(
    sandbox_env: Sandbox, tmp_path: Path, point: str, nth: int
) -> None:
    code, flow_id, db = fiscal_code(), str(ULID()), str(tmp_path / "flows.sqlite")
    args = argv(tmp_path, code, flow_id, db)
    crashed(args, crash_at_nth(point, "upload_document", nth))
    resumed(sandbox_env, args, code, db)


@pytest.mark.parametrize("point", POINTS)
def test_three_pdfs_stopped_while_the_second_upload_recovers_then_run_again(
    sandbox_env: Sandbox, tmp_path: Path, point: str
) -> None:
    code, flow_id, db = fiscal_code(), str(ULID()), str(tmp_path / "flows.sqlite")
    args = argv(tmp_path, code, flow_id, db)
    crashed(args, crash_at_nth("after_call", "upload_document", 2))
    crashed(args, crash_at_nth(point, "recover_upload", 1))
    shown = resumed(sandbox_env, args, code, db)
    recovered = [r["guard"] for r in shown["records"] if r["trigger"] == "recover_upload"]  # type: ignore[attr-defined, index]
    assert recovered == ["upload_arrived"]
