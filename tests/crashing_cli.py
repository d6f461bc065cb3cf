"""``firmaio`` with a crash switch, for the crash tests only (never shipped).

``FIRMAIO_CRASH_AT=POINT:TRIGGER[:N]`` makes the command kill itself with SIGKILL the N-th time a
durable flow reaches ``POINT`` (``before_call``, ``after_call``, ``after_write``) on ``TRIGGER``:
a real process stopped exactly at a step boundary. Run as ``python -m tests.crashing_cli ARGS``.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from firmaio.adapters.cli import Wiring, main
from firmaio.fsm.driving.durable import Boundary
from firmaio.fsm.driving.engine import Flow


def crash_hook(spec: str) -> Boundary:
    """The SIGKILL hook that ``spec`` (``POINT:TRIGGER[:N]``) describes."""
    point, _, rest = spec.partition(":")
    trigger, _, nth = rest.partition(":")
    wanted, seen = int(nth or 1), 0

    def hook(at: str, _flow: Flow, fired: str) -> None:
        nonlocal seen
        if at == point and str(fired) == trigger:
            seen += 1
            if seen == wanted:
                os.kill(os.getpid(), signal.SIGKILL)

    return hook


ROOT = Path(__file__).resolve().parents[1]


def command(base_url: str, crash: str | None) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of a ``firmaio`` child process against ``base_url``:
    the shipped command, or with ``crash`` this test entry point that kills itself there."""
    env = {**os.environ, "FIRMAIO_API_KEY": "sandbox-key", "FIRMAIO_BASE_URL": base_url}
    env.pop("FIRMAIO_CRASH_AT", None)
    if not crash:
        return [sys.executable, "-m", "firmaio.adapters.cli"], env
    env["FIRMAIO_CRASH_AT"] = crash
    env["PYTHONPATH"] = str(ROOT)  # the crash switch lives in the tests, not in the product
    return [sys.executable, "-m", "tests.crashing_cli"], env


if __name__ == "__main__":
    spec = os.environ.get("FIRMAIO_CRASH_AT", "")
    raise SystemExit(main(wiring=Wiring(on_boundary=crash_hook(spec) if spec else None)))
