"""``firmaio`` under tracemalloc, for target 10's search of what grows (the bench only).

``python -m bench.traced serve ...`` runs the command line as ``python -m firmaio.adapters.cli``
would, with tracemalloc on (``FIRMAIO_BENCH_TRACE_FRAMES`` frames, default 10; 0: off, the
figures below alone, no snapshot) and a thread that, every ``FIRMAIO_BENCH_TRACE_EVERY``
seconds (default 120), dumps a snapshot to ``$FIRMAIO_BENCH_TRACE/<command>-<n>.snap`` and
appends one line to ``$FIRMAIO_BENCH_TRACE/<command>.log``: the time, the traced memory now and
its peak since the last line (a snapshot's own copy of the traces counts in that peak), the
resident memory (``VmRSS``), what glibc's malloc holds (``mallinfo2``: its arenas and their
bytes in use) and the interpreter's allocated blocks (``sys.getallocatedblocks``; not
``gc.get_objects``, whose list took a reference to a tuple another thread was still building:
``tuple(map(...))`` then failed, a SystemError, in a traced serve). :mod:`bench.memory_bench`
runs its processes so when ``FIRMAIO_BENCH_TRACE`` names a folder; ``python -m
bench.traced_diff`` compares two snapshots. With ``FIRMAIO_BENCH_TRACE_SPIKE`` (MB), a snapshot
is dumped too when the traced memory rises that much over its low since the last such dump
(``<command>-spike-<n>.snap``).
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
import time
import tracemalloc
from pathlib import Path


class _Mallinfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
            "fordblks", "keepcost",
        )
    ]  # fmt: skip


def _mallinfo() -> tuple[float, float, float]:
    """glibc's heap: bytes got from the system (arenas), mmapped blocks, bytes in use; in MB."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _Mallinfo2
        info = libc.mallinfo2()
    except (OSError, AttributeError):
        return (0.0, 0.0, 0.0)
    mb = 1024 * 1024
    return (info.arena / mb, info.hblkhd / mb, info.uordblks / mb)


def _rss() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _dump(folder: Path, name: str, every: float) -> None:
    n, began = 0, time.monotonic()
    log = folder / f"{name}.log"
    while True:
        time.sleep(every)
        if tracemalloc.is_tracing():
            tracemalloc.take_snapshot().dump(str(folder / f"{name}-{n:03d}.snap"))
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        arena, mapped, used = _mallinfo()
        line = (
            f"{time.monotonic() - began:7.0f} s traced {current / 2**20:6.1f} MB "
            f"(peak {peak / 2**20:6.1f}) rss {_rss():6.1f} MB malloc arena {arena:6.1f} "
            f"mmapped {mapped:6.1f} in use {used:6.1f} MB blocks {sys.getallocatedblocks()}\n"
        )
        with log.open("a") as out:
            out.write(line)
        n += 1


def _spikes(folder: Path, name: str, above: float) -> None:
    """Dump a snapshot when the traced memory rises ``above`` MB over the lowest seen since the
    last one (at most 6): what a transient peak is made of."""
    time.sleep(60)  # past the imports
    low, n = float("inf"), 0
    while n < 6:
        time.sleep(0.01)
        current = tracemalloc.get_traced_memory()[0] / 2**20
        low = min(low, current)
        if current > low + above:
            tracemalloc.take_snapshot().dump(str(folder / f"{name}-spike-{n}.snap"))
            with (folder / f"{name}.log").open("a") as out:
                out.write(f"spike {n}: {current:.1f} MB traced (low {low:.1f})\n")
            low, n = current, n + 1


def main() -> None:
    folder = Path(os.environ["FIRMAIO_BENCH_TRACE"])
    folder.mkdir(parents=True, exist_ok=True)
    frames = int(os.environ.get("FIRMAIO_BENCH_TRACE_FRAMES", "10"))
    if frames:  # 0: the figures alone, the process as it runs untraced
        tracemalloc.start(frames)
    every = float(os.environ.get("FIRMAIO_BENCH_TRACE_EVERY", "120"))
    name = sys.argv[1] if len(sys.argv) > 1 else "firmaio"
    threading.Thread(target=_dump, args=(folder, name, every), daemon=True).start()
    spike = float(os.environ.get("FIRMAIO_BENCH_TRACE_SPIKE", "0"))
    if spike:
        threading.Thread(target=_spikes, args=(folder, name, spike), daemon=True).start()
    from firmaio.adapters.cli import main as cli

    sys.argv[0] = "firmaio"
    sys.exit(cli())


if __name__ == "__main__":
    main()
