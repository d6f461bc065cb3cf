"""Target 1 in instructions: ``python -m bench.instructions [N]``.

Wall-clock ratios of a few microseconds move with whatever else loads the machine; instruction
counts do not. This runs one process under valgrind's callgrind (``valgrind`` must be on the
PATH; it takes a minute or more) that makes N bare ``transitions`` transitions, N staying fires
and N changing fires (target 1's two kinds, as :func:`bench.run.our_fires` makes them), with a
call to ``os.getppid`` between the phases: callgrind dumps its counters before each such call
(``--dump-before=os_getppid``), so each phase's instructions are counted apart, none of the
imports or the setup. It prints the instructions per operation and the two ratios.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.run import RID, START, bare_machine, discard_logs


def phases(n: int) -> None:
    """The measured process: setup, then the three phases between ``os.getppid`` marks."""
    from firmaio.fsm import Answer, Engine, State, Trigger

    discard_logs()
    model = bare_machine()
    engine = Engine()
    still_open = Answer.request("WAIT_FOR_SIGNATURE")
    flow = engine.new_flow(RID, now=START)
    engine.fire(flow, Trigger.CHECK_ACTIVATION, still_open, now=START)
    engine.fire(flow, Trigger.NOTIFY, Answer.sent("M1"), now=START)
    sent = Answer.sent("01J0000000000000000000MSG1")
    flows = [engine.new_flow(f"01ARZ3NDEKTSV4RRFF{i:08d}", now=START) for i in range(n)]
    for each in flows:
        engine.fire(each, Trigger.CHECK_ACTIVATION, still_open, now=START)
    for _ in range(50):  # the first calls fill caches (structlog's logger, transitions')
        model.go()  # type: ignore[attr-defined]
        model.back()  # type: ignore[attr-defined]
        engine.fire(flow, Trigger.CHECK_STATUS, still_open, now=START)
    del flow.history[2:]
    os.getppid()
    for _ in range(n // 2):
        model.go()  # type: ignore[attr-defined]
        model.back()  # type: ignore[attr-defined]
    os.getppid()
    for _ in range(n):  # NOTIFIED --check_status [is_still_open]--> NOTIFIED
        engine.fire(flow, Trigger.CHECK_STATUS, still_open, now=START)
    os.getppid()
    for each in flows:  # WAIT_FOR_SIGNATURE --notify [is_sent]--> NOTIFIED
        engine.fire(each, Trigger.NOTIFY, sent, now=START)
    os.getppid()
    assert all(each.state is State.NOTIFIED for each in flows)


def count(n: int) -> tuple[float, float, float]:
    """Instructions per bare transition, per staying fire and per changing fire."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        subprocess.run(
            [
                "valgrind", "--tool=callgrind", "--dump-before=os_getppid",
                f"--callgrind-out-file={out}", sys.executable, "-m", "bench.instructions",
                "--phases", str(n),
            ],
            check=True, capture_output=True,
        )  # fmt: skip
        totals = []
        for part in (2, 3, 4):  # dump 1 is everything before the first mark
            text = Path(f"{out}.{part}").read_text()
            found = re.search(r"^totals: (\d+)", text, re.MULTILINE)
            assert found is not None, f"no totals in callgrind's dump {part}"
            totals.append(int(found.group(1)) / n)
    return totals[0], totals[1], totals[2]


def main(argv: list[str]) -> int:
    if argv[:1] == ["--phases"]:
        phases(int(argv[1]))
        return 0
    n = int(argv[0]) if argv else 2000
    bare, staying, changing = count(n)
    print(
        f"1 engine, in instructions (callgrind, N={n}): bare transition {bare:,.0f}, staying "
        f"fire {staying:,.0f} = {staying / bare:.2f}x, changing fire {changing:,.0f} = "
        f"{changing / bare:.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
