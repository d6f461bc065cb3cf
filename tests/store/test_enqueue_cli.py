"""``firmaio enqueue`` on PostgreSQL, in-process: the line it prints is the one docs/workers.md
shows, and its ``--json`` is the envelope every command prints (its schema, validated)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from firmaio.adapters.cli import main
from tests.envelope_helpers import enveloped

pytestmark = pytest.mark.store

ROOT = Path(__file__).resolve().parents[2]
IDS = ["01ARZ3NDEKTSV4RRFFQ69G5FAV", "01ARZ3NDEKTSV4RRFFQ69G5FAW"]


def the_manual_s_line() -> str:
    text = (ROOT / "docs" / "workers.md").read_text(encoding="utf-8")
    found = re.search(r'ID\.\.\.   # the flows\' ids; prints "(firmaio enqueue: [^"]+)"', text)
    assert found, "docs/workers.md no longer says what enqueue prints"
    return found.group(1)


def test_enqueue_prints_the_manual_s_line_and_the_envelope(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIRMAIO_KEY_ROMA", "sandbox-key")
    tenants = tmp_path / "tenants.toml"
    tenants.write_text('[comune-di-roma]\nkey_env = "FIRMAIO_KEY_ROMA"\n', encoding="utf-8")
    argv = ["enqueue", "--db", postgres_url, "--tenants", str(tenants), "--tenant"]
    out = io.StringIO()
    assert main([*argv, "comune-di-roma", *IDS], out=out) == 0
    assert out.getvalue() == the_manual_s_line() + "\n"
    out = io.StringIO()
    assert main([*argv, "comune-di-roma", *IDS, "--json"], out=out) == 0
    document = enveloped(out.getvalue())
    assert (document["command"], document["queued"], document["flow_count"]) == ("enqueue", 0, 2)
    out = io.StringIO()
    assert main([*argv, "comune-di-milano", *IDS, "--json"], out=out) == 2  # not in the file
    assert enveloped(out.getvalue())["failure"]["kind"] == "usage"
