"""The next release renames a state and removes a row: the golden store this release wrote is
driven on by it, through the migration it declares; without the migration it refuses the flows,
naming both versions, and leaves the store byte for byte as it was.

State is one enum per process, so the next release runs in a process of its own: a copy of
fsm/ and adapters/ in which FALLBACK_SUGGESTED is FALLBACK_OFFERED everywhere (its table, its
code, the report's drawing), the row READY --check_activation [request_not_found]--> FAILED is
gone (a request missing while it activates fails the flow as one fallen back to DRAFT), and the
table is the running table's version plus one, its migration declared after this release's own
(``*MIGRATIONS``): the golden store's records, stamped table version 1, read through both.
tests/golden/replay.py drives the store there, as tests/store/test_golden.py does here; the
replay's report, diagram and ``audit show`` of two flows are read back.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from firmaio.adapters.store import open_store
from firmaio.fsm.machine import VERSIONS
from tests.golden.expect import check_replay

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden" / "0.1.0"
RENAMED = {"FALLBACK_SUGGESTED": "FALLBACK_OFFERED"}
REMOVED = ("READY", "check_activation", "request_not_found")
NEXT = VERSIONS.version + 1
GOLDEN_VERSION: int = json.loads((GOLDEN / "sqlite.json").read_text())["table_version"]
"""The table version that wrote the golden store (1: older than this release's)."""
MIGRATION = """(
    *MIGRATIONS,
    TableMigration(
        NEXT,
        "FALLBACK_SUGGESTED is FALLBACK_OFFERED; a request missing while it activates reads as "
        "one fallen back to DRAFT",
        states={"FALLBACK_SUGGESTED": "FALLBACK_OFFERED"},
        rows={
            ("READY", "check_activation", "request_not_found"): (
                "check_activation", "fell_back_to_draft",
            ),
        },
    ),
)""".replace("NEXT", str(NEXT))


def edited(path: Path, old: str, new: str) -> None:
    """Replace ``old`` (there exactly once) by ``new`` in ``path``."""
    text = path.read_text()
    assert text.count(old) == 1, f"{path.name} no longer holds {old!r}: update this test"
    path.write_text(text.replace(old, new))


def next_release(tmp: Path, *, migration: bool, bump: bool = True) -> Path:
    """A copy of this release's package as the next release: the state renamed, the row
    removed, table version NEXT (unless ``bump`` is false: a release that forgot to raise it)
    and, if ``migration``, the migration declared after this release's."""
    root = tmp / f"release-{migration}-{bump}"
    for part in ("fsm", "adapters"):
        shutil.copytree(
            REPO / part, root / "firmaio" / part, ignore=shutil.ignore_patterns("__pycache__")
        )
    for path in (root / "firmaio").rglob("*"):
        if path.suffix in {".py", ".svg", ".j2"}:
            text = path.read_text()
            for old, new in RENAMED.items():
                text = re.sub(rf"\b{old}\b", new, text)
            path.write_text(text)
    machine = root / "firmaio" / "fsm" / "machine"
    if bump:
        edited(
            machine / "table.py",
            f"\nTABLE_VERSION = {VERSIONS.version}\n",
            f"\nTABLE_VERSION = {NEXT}\n",
        )
    with (machine / "table.py").open("a") as table:
        table.write(
            "\nTABLE = tuple(r for r in TABLE if (r.source, r.trigger, r.guard_name) != "
            f"{REMOVED!r})\n"
        )
    if migration:
        edited(
            machine / "versions.py",
            "VERSIONS = TableVersions(TABLE_VERSION, MIGRATIONS)",
            f"MIGRATIONS = {MIGRATION}\nVERSIONS = TableVersions(TABLE_VERSION, MIGRATIONS)",
        )
    elif bump:  # a release that declared no migration at all reads its own version only
        edited(
            machine / "versions.py",
            "VERSIONS = TableVersions(TABLE_VERSION, MIGRATIONS)",
            "VERSIONS = TableVersions(TABLE_VERSION, ())",
        )
    return root


def run_in(release: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(release)}
    return subprocess.run(
        [sys.executable, *argv], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def manifest() -> dict[str, object]:
    loaded: dict[str, object] = json.loads((GOLDEN / "sqlite.json").read_text())
    return loaded


def flow_of(manifest: dict[str, object], why: str) -> str:
    return next(f["id"] for f in manifest["flows"] if f["why"] == why)  # type: ignore[attr-defined]


def test_the_next_release_drives_this_release_s_store_on_through_its_migration(
    tmp_path: Path, manifest: dict[str, object]
) -> None:
    release = next_release(tmp_path, migration=True)
    db = tmp_path / "flows.sqlite"
    shutil.copy(GOLDEN / "flows.sqlite", db)
    fallback = flow_of(manifest, "fallback given; the QTSP then rejected it")
    missing = flow_of(manifest, "a request the service does not have")
    replay = str(REPO / "tests" / "golden" / "replay.py")
    ran = run_in(release, replay, str(GOLDEN), "sqlite", str(db), "--show", fallback, missing)
    assert ran.returncode == 0, ran.stderr[-3000:]
    results = json.loads(ran.stdout)
    check_replay(manifest, results, RENAMED)  # type: ignore[arg-type]

    with sqlite3.connect(db) as conn:  # stored as written: the old names, then the new ones
        stored = [
            json.loads(p)
            for (p,) in conn.execute(
                "SELECT payload FROM audit_records WHERE flow_id = ? ORDER BY seq", (fallback,)
            )
        ]
    assert stored[3]["target"] == "FALLBACK_SUGGESTED"
    assert stored[3]["table_version"] == GOLDEN_VERSION < VERSIONS.version
    assert (stored[-1]["source"], stored[-1]["table_version"]) == ("FALLBACK_OFFERED", NEXT)

    shown = results["flows"][fallback]
    assert "FALLBACK_SUGGESTED" not in shown["diagram"]
    visited = re.search(r"class (\S+) visited", shown["diagram"])
    assert visited is not None
    assert "FALLBACK_OFFERED" in visited.group(1).split(",")
    code, said = shown["audit_show"]
    assert code == 0
    assert "NOTIFY_REFUSED -> FALLBACK_OFFERED" in said
    old, new = GOLDEN_VERSION, NEXT
    assert f"records #1 to #4 written by table version {old}, shown as table version {new}" in said

    report = results["report"]
    assert f'data-flow="{fallback}"' in report
    assert "<code>FALLBACK_OFFERED</code>" in report
    assert "FALLBACK_SUGGESTED" not in report
    assert f"records #1 to #4 written by table version {GOLDEN_VERSION}" in report
    missing_said = results["flows"][missing]["audit_show"][1]
    assert "READY -> FAILED  accepted [fell_back_to_draft]" in missing_said


@pytest.mark.parametrize(
    ("bump", "refusal"),
    [
        (True, f"runs table version {NEXT}: no migration reads table version "
         f"{GOLDEN_VERSION} (this firmaio-fsm reads versions {NEXT} to {NEXT})"),
        (False, f"runs table version {VERSIONS.version}: record #4 names state "
         "FALLBACK_SUGGESTED, which this table does not have and no migration renames"),
    ],
    ids=["version raised, no migration", "version not raised"],
)  # fmt: skip
def test_without_the_migration_the_next_release_refuses_and_changes_nothing(
    tmp_path: Path, manifest: dict[str, object], bump: bool, refusal: str
) -> None:
    """The flow is refused before anything is called or written, naming both versions (the
    same number when the release forgot to raise it: the names it does not know say why)."""
    release = next_release(tmp_path, migration=False, bump=bump)
    db = tmp_path / "flows.sqlite"
    shutil.copy(GOLDEN / "flows.sqlite", db)
    open_store(str(db)).close()  # at this code's schema first: the refusal must change nothing
    fallback = flow_of(manifest, "fallback given; the QTSP then rejected it")
    open_store(str(db)).close()  # the schema migrated first (V5, the outbox): the flow's the point
    before = digest(db)
    opened = run_in(release, "-c", OPEN, str(db), fallback)
    assert opened.returncode == 0, opened.stderr[-3000:]
    assert f"flow {fallback} was written by table version {GOLDEN_VERSION}" in opened.stdout
    assert refusal in opened.stdout
    shown = run_in(
        release, "-m", "firmaio.adapters.cli", "audit", "show", fallback, "--db", str(db)
    )
    assert shown.returncode == 6
    [line] = shown.stderr.strip().splitlines()
    assert f"written by table version {GOLDEN_VERSION}" in line
    assert refusal in line
    assert digest(db) == before


OPEN = """
import asyncio, sys
from firmaio.adapters.store import open_async_store
from firmaio.fsm import DurableDriver
from firmaio.fsm.errors import UnreadableTrail
from firmaio.fsm.testing import ManualClock, ScriptedApi

async def main(db, flow_id):
    store = open_async_store(db)
    api = ScriptedApi()
    try:
        await DurableDriver(api, ManualClock(), store).open(flow_id, create=False)
    except UnreadableTrail as refused:
        print(refused)
        return 0 if not api.calls else 2
    finally:
        await store.close()
    return 1

sys.exit(asyncio.run(main(*sys.argv[1:])))
"""
