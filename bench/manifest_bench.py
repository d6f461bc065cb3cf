"""A manifest through the set-up to rest (issue #25): ``python -m bench.manifest_bench [ROWS]
[RATE]``.

ROWS rows (default 300; a one-page PDF each, every 100th row bad) are checked, then the good
ones sent on this process through the set-up to NOTIFIED against the sandbox in its own process,
whose gateway allows RATE calls per 5 s (default 1,500: the real limit's rule, scaled so the run
is not what bounds it), the client's window set to the same rule. Printed: the check's seconds,
the API calls per flow against the floor (9 for a one-document flow: find_signer,
validate-document, dossier, request, upload URL, the validation's read, READY, the activation's
read, the notification; the blob store's PUT is not an API call), the 429s, the run's seconds
against the rate's floor. Not a ``make bench`` target (it is printed, not compared).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
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
    first15 = f"R{_LETTERS[n % 25]}{_LETTERS[(n // 25) % 25]}MRA80A01H{n % 1000:03d}"
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


async def send(root: str, db: str, checked: Manifest, rate: int) -> BatchSent:
    store = open_async_store(db)
    try:
        window = SlidingWindow(rate, 5.0)
        async with IssuerClient(KEY, base_url=f"{root}/api/v1/sign", rate_limit=window) as client:
            setup = IssuerSetup(client, str(Path(db).parent / "signed"))
            driver = DurableDriver(client, SystemClock(), store, setup=setup)
            return await send_batch(checked, store, driver, concurrency=200)
    finally:
        await store.close()


def main(rows: int = 300, rate: int = 1500) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = manifest(Path(folder), rows)
        started = time.perf_counter()
        checked = read_manifest(path, Defaults(fields=("firma_richiedente",)))
        check_time = time.perf_counter() - started
        good = len(checked.good)
        print(f"manifest: {rows} rows checked in {check_time:.2f} s, {len(checked.bad)} refused")
        with sandbox_process(activation_delay=0.0, rate_calls=rate) as root:
            before, throttled = calls_made(root), _stats(root)["throttled"]
            started = time.perf_counter()
            sent = asyncio.run(send(root, str(Path(folder) / "flows.sqlite"), checked, rate))
            elapsed = time.perf_counter() - started
            calls = calls_made(root) - before
            assert isinstance(throttled, int)
            throttled_now = _stats(root)["throttled"]
            assert isinstance(throttled_now, int)
        floor_calls = good * FLOOR_PER_FLOW
        floor_time = ((calls - 1) // rate) * 5.0
        print(f"sent: {dict(sent.states)}, errors {len(sent.errors)}")
        for line, error in list(sent.errors.items())[:3]:
            print(f"  line {line}: {error}")
        print(
            f"API calls: {calls} for {good} flows, {calls / good:.2f} a flow, "
            f"{calls / floor_calls:.3f}x the floor ({FLOOR_PER_FLOW} a flow; target 1.15x)"
        )
        print(f"429s: {throttled_now - throttled} (target 0)")
        print(f"run: {elapsed:.1f} s; the rate's floor for these calls {floor_time:.0f} s")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
