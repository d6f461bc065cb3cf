"""The fiscal code goes to ``POST /signers`` and nowhere else, whatever the file names, titles or
fields say: every request the sandbox received is read back (URLs and bodies); the document
itself (the PDF's bytes, sent as they are to the blob store and to the document check) is the
administration's, and is taken out before the check. The trail records the title that was sent."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from firmaio.adapters.cli import Wiring, main
from firmaio.adapters.sandbox import Received, Sandbox
from firmaio.adapters.sandbox.samples import A4, SAMPLE_PDF_FIELDS, write_pdf
from tests.conftest import FAST_RETRY
from tests.sandbox_helpers import fiscal_code

SIGNERS = ("POST", "/api/v1/sign/signers")
FIELD = SAMPLE_PDF_FIELDS[0]["attrs"]["unique_name"]


def filled_form(code: str) -> bytes:
    """A one-page form whose text field ``codice_fiscale`` holds ``code`` (a filled domanda),
    beside the empty signature field the sample has."""
    return write_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [4 0 R 5 0 R] /SigFlags 1 >> >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Annots [4 0 R 5 0 R] >>" % A4,
            b"<< /Type /Annot /Subtype /Widget /FT /Sig /T (%s) /Rect [90 60 330 120] /P 3 0 R >>"
            % FIELD.encode(),
            b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (codice_fiscale) /V (%s) "
            b"/Rect [90 600 330 620] /P 3 0 R >>" % code.encode(),
        ]
    )


def firmaio(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out, wiring=Wiring(retry=FAST_RETRY))
    return code, out.getvalue()


@pytest.fixture
def received(api_env: Sandbox) -> Iterator[list[Received]]:
    """What the sandbox receives during the test (it keeps nothing otherwise)."""
    api_env.state.received = kept = []
    yield kept
    api_env.state.received = None


def leaks(received: list[Received], code: str, documents: list[bytes]) -> list[str]:
    """Each request but ``POST /signers`` whose URL or body holds ``code`` (in any case), once
    the documents' own bytes are taken out of the body."""
    pattern = re.compile(re.escape(code).encode(), re.IGNORECASE)
    found = []
    for request in received:
        body = request.body
        for document in documents:
            body = body.replace(document, b"")
        if (request.method, request.target) == SIGNERS:
            assert pattern.search(request.body), "POST /signers must carry the fiscal code"
            continue
        if pattern.search(request.target.encode()) or pattern.search(body):
            found.append(f"{request.method} {request.target}")
    return found


def sent_titles(received: list[Received]) -> list[str]:
    titles = []
    for request in received:
        if request.method == "POST" and request.target.endswith(
            ("/dossiers", "/signature-requests")
        ):
            sent: dict[str, Any] = json.loads(request.body)
            titles += [document["title"] for document in sent["documents_metadata"]]
    return titles


@pytest.mark.parametrize(
    ("name", "title"),
    [
        pytest.param("domanda-{code}.pdf", "domanda", id="code-after-a-word"),
        pytest.param("{code}.pdf", "Documento", id="only-the-code"),
        pytest.param("Modulo_{lower}_firmato.pdf", "Modulo firmato", id="lower-case-inside"),
        pytest.param("t.pdf", "Documento t", id="too-short"),
        pytest.param("x" * 80 + ".pdf", "x" * 60, id="too-long"),
    ],
)
def test_the_fiscal_code_reaches_post_signers_only(
    api_env: Sandbox,
    received: list[Received],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    name: str,
    title: str,
) -> None:
    code = fiscal_code()
    monkeypatch.setenv("FIRMAIO_FISCAL_CODE", code)
    document = filled_form(code)
    pdf = tmp_path / name.format(code=code, lower=code.lower())
    pdf.write_bytes(document)

    status, out = firmaio(
        "send", str(pdf), "--field", f"{FIELD}:Firma del richiedente", "--db", "flows.sqlite",
        "--json",
    )  # fmt: skip
    shown = json.loads(out)
    assert (status, shown["flow"]["state"]) == (0, "NOTIFIED"), out
    assert leaks(received, code, [document]) == []
    assert sent_titles(received) == [title, title]  # the dossier's document, the request's
    recorded = dict(shown["flow"]["records"][0]["facts"])
    assert recorded["order.document_title"] == title  # exactly what was sent
    assert code.lower() not in out.lower()
    assert any(r.method == "PUT" and document == r.body for r in received)  # the document, as is


@pytest.mark.parametrize(
    "option",
    [
        pytest.param(("--title", "Domanda di {code}"), id="title"),
        pytest.param(("--field", f"{FIELD}:Firma di {{code}}"), id="clause-title"),
        pytest.param(("--field", "firma_{code}:Firma del richiedente"), id="field-name"),
        pytest.param(("--dossier-title", "Pratica {lower}"), id="dossier-title"),
        pytest.param(("--support-email", "{lower}@example.it"), id="support-email"),
    ],
)
def test_a_fiscal_code_in_what_the_service_would_keep_is_refused_before_any_call(
    api_env: Sandbox,
    received: list[Received],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    option: tuple[str, str],
) -> None:
    """A title, a field or an e-mail given with a fiscal code: exit 2, the field named (never
    the code), nothing sent."""
    code = fiscal_code()
    monkeypatch.setenv("FIRMAIO_FISCAL_CODE", code)
    pdf = tmp_path / "domanda.pdf"
    pdf.write_bytes(filled_form("-"))
    flag, value = option
    argv = ["send", str(pdf), "--field", f"{FIELD}:Firma del richiedente"]
    status, out = firmaio(*argv, flag, value.format(code=code, lower=code.lower()))
    err = capsys.readouterr().err
    assert status == 2, out + err
    assert "holds a fiscal code" in err
    assert code.lower() not in (err + out).lower()
    assert received == []
