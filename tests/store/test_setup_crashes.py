"""``firmaio send`` stopped at each boundary of each set-up step, in this process, then run again
with the same ``--id``: one request, one upload, one message, and an intact trail.

The durable driver's boundary hook (:data:`firmaio.fsm.driving.Boundary`) raises at
``before_call`` (any intent written, no call made), ``after_call`` (the answer in memory, not
written) or ``after_write``: nothing after it runs, as in a process killed there; what the store
holds is what such a process leaves. Then the command runs again with a new store connection and
a new client. A crash at a recovery step (``recover_request``, ``recover_upload``) comes after a
first crash that left its intent open. Real processes killed with SIGKILL at a few of these
boundaries are in ``tests/process/test_send_crash.py``.

The sandbox (a module's own, on loopback) activates and validates at once, and no call of a
stopped run can be under way, so the rerun reads an open intent back at once
(``--recovery-grace 0``).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ulid import ULID

from firmaio.adapters.cli import Wiring, main
from firmaio.adapters.cli.demo import sample_pdf
from firmaio.adapters.sandbox import Sandbox
from firmaio.fsm.driving import Boundary, default_engine
from firmaio.fsm.driving.engine import Flow
from tests.sandbox_helpers import SET_UP_TRIGGERS, fiscal_code

POINTS = ["before_call", "after_call", "after_write"]
RECOVERY_OF = {
    opener: recovery
    for opener, recovery in default_engine().steps.recovery_of.items()
    if opener in SET_UP_TRIGGERS
}
"""The set-up's intent openers (create_request, upload_document) and the step recovering each."""

CASES = [(point, step) for step in SET_UP_TRIGGERS for point in POINTS]
RECOVERY_CASES = [(point, step) for step in RECOVERY_OF.values() for point in POINTS]

RECOVERED_AS = {
    ("before_call", "create_request"): "request_was_not_created",
    ("after_call", "create_request"): "request_was_created",
    ("before_call", "upload_document"): "upload_did_not_arrive",
    ("after_call", "upload_document"): "upload_arrived",
}
"""How the rerun's recovery reads a crash with the intent open: the call was made or not."""


class Crash(BaseException):
    """Stands for SIGKILL: nothing after it runs in this 'process'."""


def crash_at(*stops: tuple[str, str]) -> Boundary:
    """A hook that raises :class:`Crash` at the first boundary of ``stops`` reached."""

    def hook(at: str, _flow: Flow, fired: str) -> None:
        if (at, str(fired)) in stops:
            raise Crash(at, fired)

    return hook


@pytest.fixture(scope="module")
def quick_sandbox() -> Iterator[Sandbox]:
    """A sandbox that activates and validates at once, with no throttling."""
    with Sandbox(activation_delay=0, validation_delay=0, rate_calls=100_000) as served:
        yield served


@pytest.fixture
def sandbox_env(quick_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Sandbox:
    monkeypatch.setenv("FIRMAIO_API_KEY", "sandbox-key")
    monkeypatch.setenv("FIRMAIO_BASE_URL", quick_sandbox.url)
    monkeypatch.chdir(tmp_path)
    return quick_sandbox


def send_argv(code: str, flow_id: str, db: str) -> list[str]:
    return [
        "send", str(sample_pdf()), "--fiscal-code", code,
        "--field", "firma_richiedente:Firma del richiedente",
        "--title", "Modulo di adesione", "--id", flow_id, "--db", db,
        "--recovery-grace", "0", "--json",
    ]  # fmt: skip


def crashed(argv: list[str], *stops: tuple[str, str]) -> None:
    """Run ``argv`` until the first of ``stops``; it must get there."""
    with pytest.raises(Crash):
        main(argv, out=io.StringIO(), wiring=Wiring(on_boundary=crash_at(*stops)))


def resumed(sandbox: Sandbox, argv: list[str], code: str, db: str) -> dict[str, Any]:
    """Run ``argv`` to the end: NOTIFIED, with one request, one upload and one message, no fiscal
    code printed, every chain intact; the flow's JSON."""
    out = io.StringIO()
    assert main(argv, out=out) == 0, out.getvalue()
    shown: dict[str, Any] = json.loads(out.getvalue())
    assert shown["flow"]["state"] == "NOTIFIED"
    signer = sandbox.issuer.get_signer(sandbox.issuer.keys["sandbox-key"], {"fiscal_code": code})
    requests = [r for r in sandbox.issuer.requests.values() if r.signer_id == signer["id"]]
    assert [r.id for r in requests] == [shown["flow"]["request_id"]]  # one request
    assert sandbox.issuer.uploads_received(requests[0].id) == 1  # one upload
    assert sandbox.issuer.messages_sent(requests[0].id) == 1  # one message
    assert code not in out.getvalue()
    verify = io.StringIO()
    assert main(["audit", "verify", "--db", db], out=verify) == 0, verify.getvalue()
    return shown


def recoveries(shown: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (r["trigger"], r["guard"])
        for r in shown["flow"]["records"]
        if r["trigger"] in RECOVERY_OF.values()
    ]


@pytest.mark.parametrize(("point", "step"), CASES, ids=[f"{p}-{s}" for p, s in CASES])
def test_send_stopped_at_a_boundary_then_run_again(
    sandbox_env: Sandbox, tmp_path: Path, point: str, step: str
) -> None:
    code, flow_id, db = fiscal_code(), str(ULID()), str(tmp_path / "flows.sqlite")
    argv = send_argv(code, flow_id, db)
    crashed(argv, (point, step))
    shown = resumed(sandbox_env, argv, code, db)
    assert shown["flow"]["flow_id"] == flow_id
    guard = RECOVERED_AS.get((point, step))
    assert recoveries(shown) == ([(RECOVERY_OF[step], guard)] if guard else [])


@pytest.mark.parametrize(
    ("point", "recovery"), RECOVERY_CASES, ids=[f"{p}-{s}" for p, s in RECOVERY_CASES]
)
def test_send_stopped_again_while_it_recovers_then_run_again(
    sandbox_env: Sandbox, tmp_path: Path, point: str, recovery: str
) -> None:
    """Stopped after the intent's call, then stopped at the recovery's boundary: the recovery is
    written once (by the third run, or by the second when it stopped after the write), finds the
    call was made, and the flow goes on; still one of each."""
    opener = next(o for o, r in RECOVERY_OF.items() if r == recovery)
    code, flow_id, db = fiscal_code(), str(ULID()), str(tmp_path / "flows.sqlite")
    argv = send_argv(code, flow_id, db)
    crashed(argv, ("after_call", opener))
    crashed(argv, (point, recovery))
    shown = resumed(sandbox_env, argv, code, db)
    made = RECOVERED_AS[("after_call", opener)]
    assert recoveries(shown) == [(recovery, made)]
