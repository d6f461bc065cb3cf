"""Signed documents kept in a folder: the :class:`~firmaio.fsm.ports.DocumentSink` of a disk.

``FolderSink(root)`` keeps a document as ``<root>/<folder>/<name>`` (``<request id>/<document
id>.pdf``): written to a temporary file beside its place (``.<name>.<random>.part``), flushed
and fsync'ed, renamed into place, then the folder fsync'ed. A reader never sees half a file
under its name, and a crash leaves the whole file or none. Two writers of one document each
write their own temporary file; the rename is atomic, so the name holds one whole copy. A
rerun over the same bytes already in place leaves that file as it is. Every name is checked to
stay directly under ``root`` once resolved (no ``..``, no absolute name, no link leading
elsewhere) before anything is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

from firmaio.fsm.errors import ApiConfigurationError, ApiProtocolError
from firmaio.fsm.ports import KeptDocument

CHUNK = 1 << 20
"""Bytes read at a time when a file in place is compared with a new copy."""


class FolderSink:
    """Documents kept under ``root`` (see the module docstring)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def draft(self, folder: str, name: str) -> FolderDraft:
        """A draft of ``<root>/<folder>/<name>``, in a new temporary file beside it."""
        where = inside(self.root, folder, "the request's folder")
        target = inside(where, name, "a document")
        if not where.is_dir():
            where.mkdir(parents=True, exist_ok=True)
            _fsync_dir(self.root)  # the new folder's entry survives a crash too
        handle, temp = tempfile.mkstemp(dir=where, prefix=f".{name}.", suffix=".part")
        return FolderDraft(target, Path(temp), handle)

    def __repr__(self) -> str:
        return f"FolderSink({str(self.root)!r})"


class FolderDraft:
    """One document on its way into its folder (a :class:`~firmaio.fsm.ports.DocumentDraft`)."""

    def __init__(self, target: Path, temp: Path, handle: int) -> None:
        self.target, self.temp = target, temp
        self._file = os.fdopen(handle, "wb")
        self._digest = hashlib.sha256()
        self._size = 0

    def write(self, data: bytes, /) -> int:
        self._digest.update(data)
        self._size += len(data)
        return self._file.write(data)

    async def keep(self) -> KeptDocument:
        """Put the file in place, durably (off the event loop: fsync may take a while)."""
        return await asyncio.to_thread(self._keep)

    def _keep(self) -> KeptDocument:
        kept = KeptDocument(str(self.target), self._size, self._digest.hexdigest())
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            if _holds(self.target, kept):
                self.temp.unlink()  # the same bytes are in place: nothing to write
                return kept
            os.replace(self.temp, self.target)
        except BaseException:
            self.discard()
            raise
        _fsync_dir(self.target.parent)
        return kept

    def discard(self) -> None:
        self._file.close()
        self.temp.unlink(missing_ok=True)


def inside(folder: Path, name: str, what: str) -> Path:
    """``folder / name``, if it is a direct child of ``folder`` once both are resolved (no
    ``..``, no absolute name, no link leading elsewhere); else the answer that named it is
    refused (:class:`~firmaio.fsm.errors.ApiProtocolError`), nothing written."""
    path = folder / name
    resolved, parent = path.resolve(), folder.resolve()
    if resolved.parent != parent or resolved.name != name:
        from .client.answers import evidence  # the client imports this module

        raise ApiProtocolError(
            f"{what} would be {evidence(str(resolved))}, outside {evidence(str(parent))}; "
            "nothing was written"
        )
    return path


def _holds(target: Path, kept: KeptDocument) -> bool:
    """Whether ``target`` is a regular file (not a link) of exactly ``kept``'s bytes."""
    try:
        handle = os.open(target, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    with os.fdopen(handle, "rb") as file:
        if os.fstat(file.fileno()).st_size != kept.size:
            return False
        digest = hashlib.sha256()
        while piece := file.read(CHUNK):
            digest.update(piece)
    return digest.hexdigest() == kept.sha256


def _fsync_dir(folder: Path) -> None:
    """Make a rename or a new entry in ``folder`` durable (where the platform allows it)."""
    with contextlib.suppress(OSError):
        handle = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


def check_writable(root: str | Path, whose: str) -> Path:
    """``root``, once a file was made and removed in it: a folder that does not exist, is not
    a folder or cannot be written stops a worker or the service at its start
    (:class:`~firmaio.fsm.errors.ApiConfigurationError`, exit 3), naming ``whose`` folder it is
    (``tenant 'comune-di-roma'``) and the folder, before anything is sent."""
    folder = Path(root)
    said = f"{whose}: the documents folder {folder}"
    if not folder.is_dir():
        why = "is not a folder" if folder.exists() else "does not exist"
        raise ApiConfigurationError(f"{said} {why}: create it (writable) before starting")
    try:
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".firmaio-probe.", suffix=".part")
    except OSError as error:
        raise ApiConfigurationError(
            f"{said} cannot be written ({error.strerror}): give this process write access "
            "before starting"
        ) from None
    os.close(handle)
    os.unlink(probe)
    return folder
