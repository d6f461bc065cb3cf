"""A long-running process gives malloc's free memory back after each pass (adapters/memory.py).

Memory freed in the middle of glibc's arenas stays the process's own: here 60 MB of 1 kB
chunks, every tenth kept, so no arena's top is free. After :func:`give_back` the resident size
is at least 20 MB lower; without it, it stays.
"""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

from firmaio.adapters.memory import give_back


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(
    platform.libc_ver()[0] != "glibc" or not Path("/proc/self/status").exists(),
    reason="glibc's malloc on Linux",
)
def test_the_free_memory_in_mallocs_arenas_is_given_back() -> None:
    chunks = [bytes(1024) + bytes([n % 256]) for n in range(60_000)]  # malloc'd, not pymalloc'd
    kept = chunks[::10]
    del chunks
    held = _rss_mb()
    assert give_back()
    assert _rss_mb() < held - 20, "the freed chunks' pages were not given back"
    assert len(kept) == 6_000
