"""Free memory given back to the system after each pass of a long-running process.

glibc's malloc keeps what a process frees, to serve its next allocations, and gives back only
the free memory at the top of each arena. ``firmaio serve``'s store threads each read a page of
due flows, with their trails, into an arena of their own; as its passes grow longer (more
listing pages to read, more flows due by the end), those pages grow, and each arena kept its
largest: the process's resident memory rose with them while the bytes in use stayed flat
(bench/README.md, target 10). :func:`give_back` returns every whole free page of every arena
(glibc's ``malloc_trim(0)``) at the end of a pass, so the memory a pass used and freed is not
held until the next. Where the C library has no ``malloc_trim`` (musl, macOS), it does nothing.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        trim = ctypes.CDLL(None).malloc_trim  # the process's own C library
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def give_back() -> bool:
    """Give malloc's free pages back to the system; whether the C library could."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
