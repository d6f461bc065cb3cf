"""``firmaio`` with a crash switch, for the crash tests only (never shipped).

``FIRMAIO_CRASH_AT=POINT:TRIGGER[:N]`` makes the command kill itself with SIGKILL the N-th time a
durable flow reaches ``POINT`` (``before_call``, ``after_call``, ``after_write``) on ``TRIGGER``:
a real process stopped exactly at a step boundary. Run as ``python -m tests.crashing_cli ARGS``.
"""

from __future__ import annotations

import os
import signal

from firmaio.adapters.cli import Wiring, main
from firmaio.fsm.durable import Boundary
from firmaio.fsm.engine import Flow


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


if __name__ == "__main__":
    spec = os.environ.get("FIRMAIO_CRASH_AT", "")
    raise SystemExit(main(wiring=Wiring(on_boundary=crash_hook(spec) if spec else None)))
