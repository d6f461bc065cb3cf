"""``--recovery-grace``: how old an open intent must be before a command reads the request back.

A command stops right after its notification call went out (the boundary hook raises, as a
process killed there would stop: the answer is never written and the intent stays open). The
next run waits on its clock until the intent is as old as the grace, then reads the request and
keeps the message it finds. The clock's sleeps are recorded and return at once.
"""

from __future__ import annotations

import io
import json

import pytest

from firmaio.adapters.cli import Wiring, main
from firmaio.adapters.client import DEFAULT_TIMEOUT, RetryPolicy
from firmaio.adapters.clock import SystemClock
from firmaio.adapters.sandbox import Sandbox
from firmaio.fsm.driving import RECOVERY_GRACE
from firmaio.fsm.driving.engine import Flow
from tests.sandbox_helpers import ready_request


class Crash(BaseException):
    """Stands for SIGKILL: nothing after it runs in this 'process'."""


def crash_after_notify(point: str, _flow: Flow, trigger: str) -> None:
    if (point, trigger) == ("after_call", "notify"):
        raise Crash(point)


DEFAULT = (DEFAULT_TIMEOUT.read or 0.0) + RetryPolicy().notification_grace
GRACES = [
    pytest.param(["--recovery-grace", "7"], [7.0], id="given"),
    pytest.param(["--recovery-grace", "0"], [], id="zero"),
    pytest.param(["--notification-grace", "3"], [(DEFAULT_TIMEOUT.read or 0.0) + 3], id="derived"),
    pytest.param([], [DEFAULT], id="default"),
]


def command(name: str, request_id: str) -> list[str]:
    if name == "notify":
        return ["notify", request_id, "--db", "flows.sqlite"]
    return ["run", request_id, "--db", "flows.sqlite", "--worker", "w1"]


def test_the_default_is_the_drivers_own() -> None:
    """Without the option, the command waits as long as a driver does by default."""
    assert pytest.approx(RECOVERY_GRACE) == DEFAULT


@pytest.mark.parametrize("name", ["notify", "run"])
@pytest.mark.parametrize(("options", "waited"), GRACES)
def test_the_recovery_grace_reaches_the_driver(
    api_env: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    options: list[str],
    waited: list[float],
) -> None:
    request_id = ready_request(api_env)
    argv = [*command(name, request_id), *options]
    with pytest.raises(Crash):
        main(argv, out=io.StringIO(), wiring=Wiring(on_boundary=crash_after_notify))
    assert api_env.issuer.messages_sent(request_id) == 1  # sent; its answer never written
    slept: list[float] = []

    async def sleep(_clock: SystemClock, seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(SystemClock, "sleep", sleep)
    out = io.StringIO()
    assert main([*argv, "--json"], out=out) == 0, out.getvalue()
    assert slept == pytest.approx(waited, abs=1.0)  # counted from the intent's opening
    assert api_env.issuer.messages_sent(request_id) == 1
    shown = json.loads(out.getvalue())
    if name == "notify":
        assert shown["flow"]["state"] == "NOTIFIED"
        assert [r["trigger"] for r in shown["flow"]["records"]][-1] == "recover_notification"
    else:
        assert [f["state"] for f in shown["flows"]] == ["NOTIFIED"]
