"""A manifest through the set-up to rest (issue #25): ``python -m bench.manifest_bench [ROWS]
[RATE]``; ``make bench``'s target 14 (100 rows at the real limit, 150 calls per 5 s).
``--kills [ROWS] [RATE]``: line 14b, 2,000 rows with 20 bad ones through the real command,
SIGKILLed twice and rerun (:mod:`bench.manifest_kills`).

ROWS rows (default 300; a one-page PDF each, every 100th row bad) are checked, then the good
ones sent on this process through the set-up to NOTIFIED against the sandbox in its own process,
whose gateway allows RATE calls per 5 s (default 1,500: the real limit's rule, scaled so the run
is not what bounds it), the client's window set to the same rule. Printed: the check's seconds,
the API calls per flow against the floor (9 for a one-document flow: find_signer,
validate-document, dossier, request, upload URL, the validation's read, READY, the activation's
read, the notification; the blob store's PUT is not an API call), the 429s, the run's seconds
against the rate's floor.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.http_bench import KEY, _stats, calls_made, sandbox_process
from firmaio.adapters.batch_send import BatchSent, send_batch
from firmaio.adapters.client import IssuerClient, IssuerSetup
from firmaio.adapters.clock import SystemClock
from firmaio.adapters.manifest import Defaults, Manifest, check_character, read_manifest
from firmaio.adapters.ratelimit import SlidingWindow
from firmaio.adapters.sandbox.samples import SAMPLE_PDF
from firmaio.adapters.store import open_async_store
from firmaio.fsm.driving import DurableDriver

FLOOR_PER_FLOW = 9
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWYZ"  # no X: the sandbox's citizens with messages off


def code(n: int) -> str:
    """The ``n``-th made-up fiscal code, distinct for n < 500,000: the letters and digits repeat
    every 5,000 rows (625 and 1,000), the year (80 for the first 5,000) says which 5,000."""
    year = (80 + n // 5000) % 100
    first15 = f"R{_LETTERS[n % 25]}{_LETTERS[(n // 25) % 25]}MRA{year:02d}A01H{n % 1000:03d}"
    return first15 + check_character(first15)


def manifest(folder: Path, rows: int) -> Path:
    (folder / "modulo.pdf").write_bytes(SAMPLE_PDF)
    lines = ["fiscal_code,pdf,reference"]
    for n in range(rows):
        fiscal = code(n) if n % 100 != 99 else code(n)[:15] + "0"  # a wrong check character
        lines.append(f"{fiscal},modulo.pdf,r{n}")
    path = folder / "batch.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


async def send(
    root: str, db: str, checked: Manifest, rate: int
) -> tuple[BatchSent, dict[int, str]]:
    """Send the manifest; if rows raised, run it again: the last run, and the first's errors."""
    store = open_async_store(db)
    try:
        window = SlidingWindow(rate, 5.0)
        async with IssuerClient(KEY, base_url=f"{root}/api/v1/sign", rate_limit=window) as client:
            setup = IssuerSetup(client, str(Path(db).parent / "signed"))
            driver = DurableDriver(client, SystemClock(), store, setup=setup)
            sent = await send_batch(checked, store, driver, concurrency=200)
            if not sent.errors:
                return sent, {}
            # what an operator does with rows that could not go on: run the manifest again,
            # which resumes them (and creates nothing for the rows already at rest)
            return await send_batch(checked, store, driver, concurrency=200), sent.errors
    finally:
        await store.close()


@dataclass(frozen=True, slots=True)
class Measured:
    rows: int
    refused: int
    check_seconds: float
    states: dict[str, int]
    errors: int
    calls: int
    floor_calls: int
    throttled: int
    seconds: float
    first_errors: tuple[str, ...] = ()
    """The first run's errors (up to 3 of them, by line), resumed by running the manifest again."""
    resumed: int = 0
    """Rows the first run could not take on, taken on by the second."""


def measure(rows: int = 300, rate: int = 1500) -> Measured:
    """Check a manifest of ``rows`` rows, then send it at ``rate`` calls per 5 s."""
    with tempfile.TemporaryDirectory() as folder:
        path = manifest(Path(folder), rows)
        started = time.perf_counter()
        checked = read_manifest(path, Defaults(fields=("firma_richiedente",)))
        check_seconds = time.perf_counter() - started
        with sandbox_process(activation_delay=0.0, rate_calls=rate) as root:
            before, throttled = calls_made(root), _stats(root)["throttled"]
            started = time.perf_counter()
            sent, first = asyncio.run(send(root, str(Path(folder) / "flows.sqlite"), checked, rate))
            seconds = time.perf_counter() - started
            calls = calls_made(root) - before
            throttled_now = _stats(root)["throttled"]
            assert isinstance(throttled, int)
            assert isinstance(throttled_now, int)
    return Measured(
        rows, len(checked.bad), check_seconds, dict(sent.states), len(sent.errors), calls,
        len(checked.good) * FLOOR_PER_FLOW, throttled_now - throttled, seconds,
        tuple(f"line {line}: {text}" for line, text in sorted(first.items())[:3]), len(first),
    )  # fmt: skip


def main(rows: int = 300, rate: int = 1500) -> None:
    got = measure(rows, rate)
    print(f"manifest: {got.rows} rows checked in {got.check_seconds:.2f} s, {got.refused} refused")
    print(f"sent: {got.states}, errors {got.errors}")
    if got.resumed:
        print(f"resumed by a second run: {got.resumed} rows; {'; '.join(got.first_errors)}")
    print(
        f"API calls: {got.calls}, {got.calls / got.floor_calls:.3f}x the floor "
        f"({got.floor_calls}: {FLOOR_PER_FLOW} a flow; target 1.15x)"
    )
    print(f"429s: {got.throttled} (target 0)")
    floor_time = ((got.calls - 1) // rate) * 5.0
    print(f"run: {got.seconds:.1f} s; the rate's floor for these calls {floor_time:.0f} s")


def kills(rows: int = 2000, rate: int = 1500) -> None:
    from bench.manifest_kills import measure as killed
    from bench.manifest_kills import report

    for line in report(killed(rows, rate)):
        print(line)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--kills"]:
        kills(*(int(a) for a in sys.argv[2:4]))
    else:
        main(*(int(a) for a in sys.argv[1:3]))
