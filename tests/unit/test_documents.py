"""The folder sink of signed documents: each file whole under one name, never half visible, a
rerun over the same bytes a no-op, a name leaving the folder refused, an unusable folder named at
start."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

import pytest

from firmaio.adapters.documents import FolderSink, check_writable
from firmaio.fsm.errors import ApiConfigurationError, ApiProtocolError

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 64


def visible(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_a_document_appears_whole_under_its_one_name_only_once_kept(tmp_path: Path) -> None:
    sink = FolderSink(tmp_path)
    draft = sink.draft("01JREQUEST", "01JDOC.pdf")
    draft.write(PDF[:100])
    draft.write(PDF[100:])
    target = tmp_path / "01JREQUEST" / "01JDOC.pdf"
    assert not target.exists()  # half a file is never under its name
    [partial] = visible(tmp_path)
    assert Path(partial).name.startswith(".")  # a hidden temporary file beside it
    kept = asyncio.run(draft.keep())
    assert visible(tmp_path) == ["01JREQUEST/01JDOC.pdf"]
    assert target.read_bytes() == PDF
    assert (kept.where, kept.size) == (str(target), len(PDF))
    assert kept.sha256 == hashlib.sha256(PDF).hexdigest()


def test_a_rerun_over_the_same_bytes_leaves_the_file_as_it_is(tmp_path: Path) -> None:
    sink = FolderSink(tmp_path)

    def keep(body: bytes) -> os.stat_result:
        draft = sink.draft("r", "d.pdf")
        draft.write(body)
        asyncio.run(draft.keep())
        return (tmp_path / "r" / "d.pdf").stat()

    first = keep(PDF)
    again = keep(PDF)
    assert (again.st_ino, again.st_mtime_ns) == (first.st_ino, first.st_mtime_ns)
    assert visible(tmp_path) == ["r/d.pdf"]
    changed = keep(PDF + b"%%EOF")  # other bytes replace it, whole, under the same name
    assert changed.st_ino != first.st_ino
    assert (tmp_path / "r" / "d.pdf").read_bytes() == PDF + b"%%EOF"
    assert visible(tmp_path) == ["r/d.pdf"]


def test_a_discarded_draft_leaves_nothing(tmp_path: Path) -> None:
    draft = FolderSink(tmp_path).draft("r", "d.pdf")
    draft.write(PDF)
    draft.discard()
    assert visible(tmp_path) == []


@pytest.mark.parametrize(("folder", "name"), [("..", "d.pdf"), ("r", "../d.pdf"), ("/etc", "x")])
def test_a_name_leaving_the_folder_is_refused_before_anything_is_written(
    tmp_path: Path, folder: str, name: str
) -> None:
    root = tmp_path / "signed"
    root.mkdir()
    with pytest.raises(ApiProtocolError, match="nothing was written"):
        FolderSink(root).draft(folder, name)
    assert visible(tmp_path) == []


def test_a_folder_that_cannot_take_documents_is_named(tmp_path: Path) -> None:
    assert check_writable(tmp_path, "tenant 'roma'") == tmp_path
    assert visible(tmp_path) == []  # the probe is gone
    missing = tmp_path / "nowhere"
    with pytest.raises(ApiConfigurationError, match=f"tenant 'roma'.*{missing} does not exist"):
        check_writable(missing, "tenant 'roma'")
    (tmp_path / "file").write_text("")
    with pytest.raises(ApiConfigurationError, match="is not a folder"):
        check_writable(tmp_path / "file", "tenant 'roma'")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    where = Path("/proc") if os.geteuid() == 0 else locked  # root writes through modes
    with pytest.raises(ApiConfigurationError, match=f"{where} cannot be written"):
        check_writable(where, "the default tenant")
