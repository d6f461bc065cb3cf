"""Messages that say what happened and what to do next, each case of issue #28 (under ``--json``
too: the envelope, with the failure's message)."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest

from firmaio.adapters.cli import Wiring, main
from firmaio.adapters.cli.demo import sample_pdf
from firmaio.adapters.sandbox import Sandbox
from tests.conftest import FAST_RETRY
from tests.envelope_helpers import enveloped
from tests.sandbox_helpers import fault, fiscal_code

SEND = ("--field", "firma_richiedente:Firma del richiedente", "--title", "Modulo di adesione")


def firmaio(*argv: str) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    code = main([*argv, "--json"], out=out, wiring=Wiring(retry=FAST_RETRY))
    return code, enveloped(out.getvalue())


def send(*more: str) -> tuple[int, dict[str, Any]]:
    return firmaio("send", str(sample_pdf()), "--fiscal-code", fiscal_code(), *SEND, *more)


@pytest.fixture
def calls(api_env: Sandbox) -> dict[str, int]:
    """The sandbox's call counts, to show that nothing was sent."""
    return api_env.state.calls


def _sent(calls: dict[str, int], before: dict[str, int]) -> int:
    return sum(calls.values()) - sum(before.values())


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"Gentile cittadino, ...", "is not a PDF"),
        (b"%PDF-1.7\nnot really\n%%EOF", "starts with %PDF but does not open as a PDF"),
    ],
)
def test_a_file_that_is_no_usable_pdf_is_refused_here(
    content: bytes, said: str, calls: dict[str, int], tmp_path: Path
) -> None:
    pdf = tmp_path / "modulo.pdf"
    pdf.write_bytes(content)
    before = dict(calls)
    code, shown = firmaio("send", str(pdf), "--fiscal-code", fiscal_code(), *SEND)
    assert (code, shown["failure"]["kind"]) == (2, "usage")
    assert said in shown["failure"]["message"]
    assert "nothing was sent" in shown["failure"]["message"] or "not a PDF" in said
    assert _sent(calls, before) == 0


def test_a_field_the_pdf_does_not_have_is_refused_here(calls: dict[str, int]) -> None:
    before = dict(calls)
    code, shown = firmaio(
        "send", str(sample_pdf()), "--fiscal-code", fiscal_code(), "--field", "nessuna:Firma",
        "--title", "Modulo",
    )  # fmt: skip
    assert code == 2
    message = shown["failure"]["message"]
    assert "no signature field named 'nessuna'" in message
    assert "firma_richiedente" in message  # the fields it has
    assert _sent(calls, before) == 0


@pytest.mark.parametrize(
    ("more", "said"),
    [
        (("--title", "ab"), "title"),
        (("--title", "RSSMRA85T10A562S modulo"), "fiscal code"),
    ],
)
def test_a_bad_title_is_answered_in_the_envelope(
    more: tuple[str, ...], said: str, calls: dict[str, int]
) -> None:
    code, shown = send(*more)
    assert code == 2
    assert said in shown["failure"]["message"]
    assert "RSSMRA85T10A562S" not in str(shown)


def test_a_missing_fiscal_code_is_answered_in_the_envelope(
    calls: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FIRMAIO_FISCAL_CODE", raising=False)
    code, shown = firmaio("send", str(sample_pdf()), *SEND)
    assert code == 2
    assert "FIRMAIO_FISCAL_CODE" in shown["failure"]["message"]


def test_a_lost_answer_to_create_request_says_it_was_not_retried(
    api_env: Sandbox, tmp_path: Path
) -> None:
    fault(api_env, "createSignatureRequest", "drop_after")
    code, shown = send("--db", str(tmp_path / "flows.sqlite"))
    message = shown["failure"]["message"]
    assert (code, shown["failure"]["kind"]) == (4, "unavailable")
    assert "never retried" in message
    assert "retried with backoff" not in message
    assert "--recovery-grace" in message  # what the rerun does first
    assert shown["flow"]["flow_id"]  # the id to rerun with, named as such


def test_a_lost_answer_to_a_read_says_it_was_retried(api_env: Sandbox) -> None:
    fault(api_env, "getSignerByFiscalCode", "status", status=503, times=20)
    code, shown = send()
    assert code == 4
    assert "retried with backoff" in shown["failure"]["message"]


def test_upload_urls_given_up_here_claim_no_403(api_env: Sandbox) -> None:
    """Every upload URL the service gives expires within the safety margin: the flow gives up
    after three, uploading nothing, and its reason quotes no HTTP status it never received."""
    ttl = api_env.issuer.upload_url_ttl
    api_env.issuer.upload_url_ttl = 1.0
    try:
        code, shown = send()
    finally:
        api_env.issuer.upload_url_ttl = ttl
    assert (code, shown["flow"]["state"]) == (14, "FAILED")
    reason = shown["flow"]["reason"]
    assert "upload URLs in a row could not be used" in reason
    assert "403" not in reason
    assert shown["failure"]["message"] == reason


def test_fetch_before_signing_says_nothing_was_downloaded(
    api_env: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "flows.sqlite")
    code, shown = send("--db", db)
    assert code == 0
    out = io.StringIO()
    assert (
        main(["fetch", shown["flow"]["flow_id"], "--db", db, "--to", str(tmp_path)], out=out) == 15
    )
    said = out.getvalue() + capsys.readouterr().err
    assert "nothing was downloaded" in said
    assert "NOTIFIED" in said
    flow_id = shown["flow"]["flow_id"]
    rerun = re.search(r"rerun `firmaio (fetch [^`]+)`", said)
    assert rerun, said
    assert rerun[1] == f"fetch {flow_id} --db {db}"  # the command to paste, its store included
    assert not list(tmp_path.glob("*/*.pdf"))
    api_env.issuer.close(shown["flow"]["request_id"], "SIGNED")
    words = rerun[1].split()
    assert main([*words, "--to", str(tmp_path)], out=io.StringIO()) == 0
    assert list(tmp_path.glob("*/*.pdf"))
