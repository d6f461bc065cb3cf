"""Several documents in one request, as a user sends them: ``firmaio send a.pdf b.pdf c.pdf``
with fields per document, each uploaded and validated on its own audited steps, then the signed
copies fetched; a refused document names itself."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest

from firmaio.adapters.cli import main
from firmaio.adapters.sandbox import Sandbox
from tests.multidoc_helpers import pdf_copies
from tests.sandbox_helpers import fiscal_code


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_three_pdfs_go_to_signed_and_fetch_writes_the_three_signed_copies(
    api_env: Sandbox, tmp_path: Path
) -> None:
    a, b, c = pdf_copies(tmp_path, "contratto.pdf", "allegato.pdf", "informativa.pdf")
    code, db = fiscal_code(), str(tmp_path / "flows.sqlite")
    status, out = run(
        "send", str(a), str(b), str(c), "--fiscal-code", code, "--db", db, "--json",
        "--field", "contratto.pdf:firma_richiedente:Firma del contratto",
        "--field", f"{b}:firma_richiedente:Firma dell'allegato",
        "--field", "informativa.pdf:firma_richiedente:Presa visione:OPTIONAL",
        "--field", "informativa.pdf:firma_richiedente:Consenso al trattamento",
    )  # fmt: skip
    assert status == 0, out
    shown = json.loads(out)["flow"]  # the envelope's flow
    assert shown["state"] == "NOTIFIED"
    request = api_env.issuer.requests[shown["request_id"]]
    assert [d.metadata["title"] for d in request.documents] == [
        "contratto", "allegato", "informativa",
    ]  # fmt: skip
    assert api_env.issuer.uploads_received(request.id) == 3
    assert api_env.issuer.messages_sent(request.id) == 1
    fired = [r["trigger"] for r in shown["records"]]
    assert fired.count("upload_document") == 3
    assert fired.count("check_validation") >= 3
    for document, pdf in zip(request.documents, (a, b, c), strict=True):
        assert document.content == pdf.read_bytes()  # each document got its own PDF
    assert code not in out

    api_env.issuer.close(request.id, "SIGNED")
    status, out = run("fetch", shown["flow_id"], "--db", db, "--to", str(tmp_path / "out"))
    assert status == 0, out
    for document in request.documents:
        signed = api_env.issuer.signed_document(request.id, document.id)
        assert signed is not None
        kept = tmp_path / "out" / request.id / f"{document.id}.pdf"
        assert kept.read_bytes() == signed
        assert f"sha256 {hashlib.sha256(signed).hexdigest()}" in out

    report = tmp_path / "report.html"
    status, said = run("report", shown["flow_id"], "--db", db, "--out", str(report))
    assert status == 0, said
    page = report.read_text()
    for document, pdf in zip(request.documents, (a, b, c), strict=True):
        signed = api_env.issuer.signed_document(request.id, document.id)
        assert signed is not None
        assert hashlib.sha256(pdf.read_bytes()).hexdigest() in page  # each document listed
        assert hashlib.sha256(signed).hexdigest() in page


def test_a_field_missing_from_the_second_pdf_is_named_and_nothing_is_made(
    api_env: Sandbox, tmp_path: Path
) -> None:
    """Each PDF is checked before anything is sent (the service's own refusal of a document,
    DOCUMENT_REFUSED naming it, is tests/unit/test_order_documents.py's)."""
    a, b = pdf_copies(tmp_path, "contratto.pdf", "allegato.pdf")
    made = len(api_env.issuer.dossiers), len(api_env.issuer.requests)
    status, out = run(
        "send", str(a), str(b), "--fiscal-code", fiscal_code(), "--json",
        "--field", "contratto.pdf:firma_richiedente:Firma del contratto",
        "--field", "allegato.pdf:firma_assente:Firma dell'allegato",
    )  # fmt: skip
    assert status == 2, out
    failure = json.loads(out)["failure"]
    assert "allegato.pdf has no signature field named 'firma_assente'" in failure["message"]
    assert (len(api_env.issuer.dossiers), len(api_env.issuer.requests)) == made


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--field", "firma_richiedente"], "with several PDFs, name the PDF first"),
        (["--field", "contratto.pdf:firma_richiedente"], "name allegato.pdf's signature fields"),
        (["--field", "altro.pdf:firma_richiedente"], "with several PDFs, name the PDF first"),
    ],
    ids=["no-pdf-named", "a-pdf-without-fields", "a-pdf-not-given"],
)
def test_fields_that_do_not_say_their_pdf_are_refused_before_any_call(
    api_env: Sandbox, tmp_path: Path, argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    pdf_copies(tmp_path, "contratto.pdf", "allegato.pdf")
    made = len(api_env.issuer.dossiers), len(api_env.issuer.requests)
    status, out = run(
        "send", "contratto.pdf", "allegato.pdf", "--fiscal-code", fiscal_code(), *argv
    )
    assert status == 2, out
    assert said in capsys.readouterr().err
    assert (len(api_env.issuer.dossiers), len(api_env.issuer.requests)) == made


def test_the_fields_file_keyed_by_document(api_env: Sandbox, tmp_path: Path) -> None:
    pdf_copies(tmp_path, "contratto.pdf", "allegato.pdf")
    field = {"attrs": {"unique_name": "firma_richiedente"},
             "clause": {"title": "Firma qui", "type": "REQUIRED"}}  # fmt: skip
    (tmp_path / "fields.json").write_text(
        json.dumps({"contratto.pdf": [field], "allegato.pdf": [field]})
    )
    status, out = run(
        "send", "contratto.pdf", "allegato.pdf", "--fiscal-code", fiscal_code(),
        "--fields", "fields.json", "--json",
    )  # fmt: skip
    assert status == 0, out
    request = api_env.issuer.requests[json.loads(out)["flow"]["request_id"]]
    assert len(request.documents) == 2
    assert api_env.issuer.uploads_received(request.id) == 2
