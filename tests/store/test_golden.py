"""The golden stores of every release (tests/golden/<release>/) are driven on by this code: on
SQLite and on PostgreSQL (mandatory under FIRMAIO_REQUIRE_POSTGRES=1), each chain verifies, and
every open flow reaches its true outcome against the in-process sandbox, seeded with the
requests the release left. Each release adds its own golden store (docs/upgrades.md)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from tests.golden.expect import check_replay
from tests.golden.replay import replay

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
RELEASES = sorted(path for path in GOLDEN.iterdir() if (path / "make_golden.py").is_file())


def test_there_is_a_golden_store_of_this_release() -> None:
    import tomllib

    project = tomllib.loads((GOLDEN.parents[1] / "pyproject.toml").read_text())["project"]
    assert project["version"] in {path.name for path in RELEASES}


@pytest.mark.parametrize("release", RELEASES, ids=lambda path: path.name)
def test_a_golden_sqlite_store_is_driven_on(release: Path, tmp_path: Path) -> None:
    db = tmp_path / "flows.sqlite"
    shutil.copy(release / "flows.sqlite", db)
    with capture_logs():
        results = replay(release, "sqlite", str(db))
    check_replay(json.loads((release / "sqlite.json").read_text()), results)


@pytest.mark.parametrize("release", RELEASES, ids=lambda path: path.name)
def test_a_golden_postgres_dump_is_driven_on(release: Path, postgres_url: str) -> None:
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute((release / "flows.sql").read_text())  # type: ignore[call-overload]
    with capture_logs():
        results = replay(release, "postgres", postgres_url)
    check_replay(json.loads((release / "postgres.json").read_text()), results)
