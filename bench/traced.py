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
(``<command>-spike-<n>.snap``). With ``FIRMAIO_BENCH_TRACE_TRIM=1`` (a diagnosis), each line
ends with the RSS after glibc's ``malloc_trim(0)``, called then: what of the RSS was free memory
malloc's arenas held. With ``FIRMAIO_BENCH_TRACE_GC=1``, each line says what a full
collection found unreachable then (objects only the cyclic collector frees: how many, their
sizes, the types holding most; a body held by a response in a cycle counts in its bytes).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import sys
import threading
import time
import tracemalloc
from collections import Counter
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


def _trim() -> float:
    """glibc's ``malloc_trim(0)``: the free pages of every arena given back; the RSS after."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    return _rss()


def _garbage() -> str:
    """A full collection now, what it found unreachable (kept in ``gc.garbage`` for the count,
    then dropped): how many objects, their own sizes, and the five types holding most."""
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        found, gc.garbage[:] = list(gc.garbage), []
    finally:
        gc.set_debug(0)
    sizes: Counter[str] = Counter()
    for thing in found:
        sizes[type(thing).__qualname__] += sys.getsizeof(thing)
    top = ", ".join(f"{kind} {size / 1024:.0f}" for kind, size in sizes.most_common(5))
    return f" garbage {len(found)} objects {sum(sizes.values()) / 1024:.0f} KiB ({top})"


def _dump(folder: Path, name: str, every: float, trim: bool = False, garbage: bool = False) -> None:
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
            f"mmapped {mapped:6.1f} in use {used:6.1f} MB blocks {sys.getallocatedblocks()}"
        )
        line += _garbage() if garbage else ""
        line += f" trimmed rss {_trim():6.1f} MB\n" if trim else "\n"
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
    trim = os.environ.get("FIRMAIO_BENCH_TRACE_TRIM", "") == "1"
    garbage = os.environ.get("FIRMAIO_BENCH_TRACE_GC", "") == "1"
    threading.Thread(target=_dump, args=(folder, name, every, trim, garbage), daemon=True).start()
    spike = float(os.environ.get("FIRMAIO_BENCH_TRACE_SPIKE", "0"))
    if spike:
        threading.Thread(target=_spikes, args=(folder, name, spike), daemon=True).start()
    from firmaio.adapters.cli import main as cli

    sys.argv[0] = "firmaio"
    sys.exit(cli())


if __name__ == "__main__":
    main()
