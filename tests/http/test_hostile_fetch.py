"""``firmaio fetch`` against the hostile stand-in: whatever ids and URLs the answers hold, no file
is written outside ``--to``, nothing is fetched from a host the service does not use, and the
refusal is recorded with its evidence."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from firmaio.adapters.cli import Wiring, main
from tests.conftest import FAST_RETRY
from tests.hostile import PDF, Hostile


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out, wiring=Wiring(retry=FAST_RETRY)), out.getvalue()


def tree(root: Path) -> set[str]:
    """Every file and folder under ``root``, relative to it."""
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def last(out: str) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(out)["flow"]["records"][-1]
    return record


@pytest.mark.parametrize(
    ("scenario", "evidence"),
    [
        pytest.param("traversal-docs", "'../../../escaped-rel' contains '..'", id="document-ids"),
        pytest.param("traversal-request", "about the request '../../../x'", id="request-id"),
        pytest.param("mismatched", "about the request '01BX5ZZKBKACTAV9WEVGEMMVRZ'", id="other"),
    ],
)
def test_ids_that_leave_the_destination_or_name_another_request_write_nothing(
    attacker: Hostile, tmp_path: Path, scenario: str, evidence: str
) -> None:
    """Document ids ``../../../escaped-rel`` and an absolute path, an answer whose own id is
    ``../../../x`` or another request's: refused, the whole temporary tree is as it was, and the
    record says why."""
    attacker.escaped_to = str(tmp_path / "escaped-abs")
    before = tree(tmp_path)
    code, out = run("fetch", scenario, "--to", str(tmp_path / "out" / "signed"), "--json")
    assert code == 4, out
    assert tree(tmp_path) == before
    record = last(out)
    assert record["outcome"] == "error"
    assert evidence in record["detail"]
    assert "ApiProtocolError" in record["reason"]


def test_a_folder_that_links_elsewhere_is_not_written_through(
    attacker: Hostile, tmp_path: Path
) -> None:
    dest, elsewhere = tmp_path / "signed", tmp_path / "elsewhere"
    dest.mkdir()
    elsewhere.mkdir()
    (dest / "dotted").symlink_to(elsewhere)
    code, out = run("fetch", "dotted", "--to", str(dest), "--json")
    assert code == 4, out
    assert "outside" in last(out)["detail"]
    assert list(elsewhere.iterdir()) == []


def test_a_document_id_with_dots_is_fetched_and_printed(attacker: Hostile, tmp_path: Path) -> None:
    dest = tmp_path / "signed"
    code, out = run("fetch", "dotted", "--to", str(dest))
    assert code == 0, out
    written = dest / "dotted" / "modulo.firmato.v2.pdf"
    assert written.read_bytes() == PDF
    assert f"signed document modulo.firmato.v2: {written}\n" in out
    assert tree(dest) == {"dotted", "dotted/modulo.firmato.v2.pdf"}


@pytest.mark.parametrize(
    ("scenario", "evidence"),
    [
        pytest.param("download-foreign", "http://localhost:", id="foreign-host"),
        pytest.param("download-javascript", "the scheme 'javascript' is not https", id="js"),
        pytest.param("download-redirect", "download: HTTP 302", id="redirect"),
    ],
)
def test_a_document_url_off_the_service_s_hosts_is_never_followed(
    attacker: Hostile, tmp_path: Path, scenario: str, evidence: str
) -> None:
    code, out = run("fetch", scenario, "--to", str(tmp_path / "signed"), "--json")
    assert code == 4, out
    assert evidence in last(out)["detail"]
    assert attacker.stolen() == []
    assert not list((tmp_path / "signed").rglob("*.pdf*"))


def test_a_redirect_of_the_api_is_not_followed(attacker: Hostile, tmp_path: Path) -> None:
    code, out = run("fetch", "redirect-api", "--to", str(tmp_path / "signed"), "--json")
    assert code != 0, out
    assert last(out)["http_status"] == 307
    assert attacker.stolen() == []
