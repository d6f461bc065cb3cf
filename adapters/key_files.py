"""Reading a secret from a file: a tenant's API key, the checkpoint key.

Other local users are not trusted. A key file that the group or others may read lets them call
the issuer API as the administration, or sign a checkpoint; one they may write lets them swap
the key (and sign checkpoints the auditor then accepts). Such a file is refused with a message
naming the file, its mode and the fix (``chmod 600``), before its content is read, and nothing
else is done. A platform that mounts secrets with a mode of its own (a container's ``0444``) can
set ``FIRMAIO_LOOSE_KEY_FILES=warn``: the file is then read, with a warning on stderr each time.
The check is POSIX's; elsewhere the file is read as it is.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from firmaio.fsm.errors import FsmError, InvalidInput

LOOSE_ENV = "FIRMAIO_LOOSE_KEY_FILES"
"""Set to ``warn`` to read a key file others may read or write, with a warning."""
SHARED_BITS = 0o066
"""Read and write permissions of the group and of others."""
_MOST = 64 * 1024
"""Bytes read at most: a key is a line; a key file of megabytes is a mistake."""


def exposure(mode: int) -> str | None:
    """Who besides the owner may read or write a file of ``mode`` (None: nobody)."""
    shared = stat.S_IMODE(mode) & SHARED_BITS
    if not shared:
        return None
    who = []
    if shared & 0o060:
        who.append("its group")
    if shared & 0o006:
        who.append("every other user")
    return " and ".join(who)


def read_key_file(path: str | Path, what: str, error: type[FsmError] = InvalidInput) -> bytes:
    """The content of the key file ``path`` (``what`` names it in messages), refused with
    ``error`` if others may read or write it (see the module docstring). An unreadable file
    raises ``error`` too; no message ever holds the key."""
    try:
        with open(path, "rb") as file:
            mode = os.fstat(file.fileno()).st_mode
            exposed = exposure(mode) if os.name == "posix" else None
            if exposed is not None:
                message = (
                    f"{what} {str(path)!r} may be read or changed by {exposed} (mode "
                    f"{stat.S_IMODE(mode):04o}): make it its owner's alone, with chmod 600"
                )
                if os.environ.get(LOOSE_ENV) != "warn":
                    raise error(f"{message}; nothing was done (${LOOSE_ENV}=warn accepts it)")
                print(f"firmaio: warning: {message}", file=sys.stderr)
            return file.read(_MOST)
    except OSError as failure:
        raise error(
            f"cannot read {what} {str(path)!r}: {failure.strerror or type(failure).__name__}"
        ) from None
