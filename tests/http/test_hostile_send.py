"""``firmaio send`` against the hostile stand-in: a signer id, a new request's id or an upload URL
that is not in the documented shape stops the flow with the evidence; the PDF goes nowhere but
the service's own blob store."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from firmaio.adapters.cli import Wiring, main
from firmaio.adapters.cli.demo import sample_pdf
from tests.conftest import FAST_RETRY
from tests.hostile import Hostile

SEND = ("--field", "firma_richiedente", "--json")


@pytest.fixture(autouse=True)
def _citizen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIRMAIO_FISCAL_CODE", "RSSMRA80A01H501U")


def send() -> tuple[int, str]:
    out = io.StringIO()
    code = main(["send", str(sample_pdf()), *SEND], out=out, wiring=Wiring(retry=FAST_RETRY))
    return code, out.getvalue()


@pytest.mark.parametrize(
    ("mode", "trigger", "evidence"),
    [
        pytest.param(
            "escape-signer", "find_signer", "contains the forbidden character '\\x1b'", id="signer"
        ),
        pytest.param(
            "traversal-created", "create_request", "'../../../x' contains '..'", id="request"
        ),
        pytest.param(
            "foreign-upload", "get_upload_url", "http://localhost:", id="foreign-upload-url"
        ),
        pytest.param(
            "javascript-upload", "get_upload_url", "the scheme 'javascript'", id="js-upload-url"
        ),
    ],
)
def test_an_answer_out_of_shape_stops_the_set_up_with_its_evidence(
    attacker: Hostile, tmp_path: Path, mode: str, trigger: str, evidence: str
) -> None:
    attacker.mode = mode
    before = {str(p) for p in tmp_path.rglob("*")}
    code, out = send()
    assert code == 4, out
    last = json.loads(out)["flow"]["records"][-1]
    assert (last["trigger"], last["outcome"]) == (trigger, "error")
    assert evidence in last["detail"]
    assert "ApiProtocolError" in last["reason"]
    assert attacker.stolen() == []
    assert not [hit for hit in attacker.hits if hit[0] == "PUT" and "/blobs/" in hit[1]]
    assert {str(p) for p in tmp_path.rglob("*")} == before
    assert "RSSMRA80A01H501U" not in out
