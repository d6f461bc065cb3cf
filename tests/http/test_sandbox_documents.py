"""The sandbox checks documents as the real service does, over HTTP: ``POST /validate-document``
and the validation after an upload, with the service's texts (validate-upload.ts)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from firmaio.adapters.sandbox import (
    DEMO_DOSSIER,
    MINIMAL_PDF,
    NOT_A_PDF,
    SAMPLE_PDF,
    SAMPLE_PDF_FIELDS,
    Sandbox,
)
from firmaio.adapters.sandbox.samples import write_pdf
from tests.sandbox_helpers import fiscal_code

MODULO = Path(__file__).resolve().parents[2] / "examples/documents/modulo.pdf"
MISSING_PARTS = (
    "missing files: the pdf document to be validated and a json document containing the "
    "signature fields"
)
BAD_FIELDS = "unable to get the signature fields: the given file is not a valid json file"


@pytest.fixture
def http(sandbox: Sandbox) -> Iterator[httpx.Client]:
    headers = {"Ocp-Apim-Subscription-Key": "sandbox-key"}
    with httpx.Client(base_url=sandbox.url, headers=headers) as client:
        yield client


def named(name: str, title: str = "Firma del richiedente") -> dict[str, Any]:
    return {"attrs": {"unique_name": name}, "clause": {"title": title, "type": "REQUIRED"}}


def placed(
    x: float, y: float, w: object, h: float, page: float = 0, title: str = "Firma in calce"
) -> dict[str, Any]:
    return {
        "attrs": {"coordinates": {"x": x, "y": y}, "page": page, "size": {"w": w, "h": h}},
        "clause": {"title": title, "type": "REQUIRED"},
    }


def validate(http: httpx.Client, pdf: bytes | None, fields: bytes | None) -> httpx.Response:
    files = []
    if pdf is not None:
        files.append(("document", ("d.pdf", pdf, "application/pdf")))
    if fields is not None:
        files.append(("signature_fields", ("f.json", fields, "application/json")))
    return http.post("/validate-document", files=files)


def violations(http: httpx.Client, pdf: bytes, fields: list[dict[str, Any]]) -> list[str]:
    answer = validate(http, pdf, httpx.Request("POST", "/", json=fields).content)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["is_valid"] is (not body.get("violations"))
    return body.get("violations", [])  # type: ignore[no-any-return]


def test_the_sample_pdf_and_its_fields_are_valid(http: httpx.Client) -> None:
    """modulo.pdf has the named field; MINIMAL_PDF fits DEMO_DOSSIER's coordinates."""
    assert validate(http, SAMPLE_PDF, None).json() == {"is_valid": True}
    assert violations(http, SAMPLE_PDF, SAMPLE_PDF_FIELDS) == []
    demo_fields = DEMO_DOSSIER["documents_metadata"][0]["signature_fields"]
    assert violations(http, MINIMAL_PDF, demo_fields) == []
    assert violations(http, SAMPLE_PDF, demo_fields) == []


def test_a_missing_field_is_named_with_the_service_text(http: httpx.Client) -> None:
    """ "was not found is the uploaded document", sic; a PDF with no form has no field at all."""
    expected = (
        '(Firma del coniuge) the field "firma_coniuge" was not found is the uploaded document'
    )
    assert violations(http, SAMPLE_PDF, [named("firma_coniuge", "Firma del coniuge")]) == [expected]
    assert violations(http, MINIMAL_PDF, SAMPLE_PDF_FIELDS) == [
        '(Firma del richiedente) the field "firma_richiedente" was not found is the uploaded '
        "document"
    ]


def form_pdf() -> bytes:
    """A page with a signature field ``firme.richiedente`` (the type set on the parent ``firme``)
    and a text field ``nome``."""
    return write_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [4 0 R 6 0 R] >> >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots [5 0 R 6 0 R] >>",
            b"<< /FT /Sig /T (firme) /Kids [5 0 R] >>",
            b"<< /Type /Annot /Subtype /Widget /T (richiedente) /Parent 4 0 R /Rect [1 1 9 9] >>",
            b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (nome) /Rect [1 20 9 29] >>",
        ]
    )


def test_signature_fields_are_named_in_full_and_only_signature_fields_count(
    http: httpx.Client,
) -> None:
    """pdf-lib's names: partial names joined with dots; a text field is not a signature field."""
    pdf = form_pdf()
    assert violations(http, pdf, [named("firme.richiedente")]) == []
    assert [
        v.split(") ")[1] for v in violations(http, pdf, [named("richiedente"), named("nome")])
    ] == [
        'the field "richiedente" was not found is the uploaded document',
        'the field "nome" was not found is the uploaded document',
    ]


def test_coordinates_must_fit_the_page_strictly(http: httpx.Client) -> None:
    """x + w < width and y + h < height on the 595 x 842 page: touching the edge is off it."""
    off = "(Firma in calce) incompatible coordinates: they can't fit in the uploaded document"
    assert violations(http, MINIMAL_PDF, [placed(494, 741, 100.5, 100.5)]) == []
    assert violations(http, MINIMAL_PDF, [placed(495, 100, 100, 40)]) == [off]
    assert violations(http, MINIMAL_PDF, [placed(100, 800, 100, 42)]) == [off]
    assert violations(http, MINIMAL_PDF, [placed(500, 100, 120, 40)]) == [off]


def test_a_page_out_of_range_is_named(http: httpx.Client) -> None:
    """Pages count from 0: the one-page PDF has no page 1."""
    assert violations(http, SAMPLE_PDF, [placed(10, 10, 10, 10, page=1)]) == [
        "(Firma in calce) incompatible coordinates: unable to find page 1 in the uploaded document"
    ]


def test_every_violation_is_listed_in_the_order_of_the_fields(http: httpx.Client) -> None:
    fields = [
        placed(10, 10, 10, 10, page=3, title="Prima firma"),
        named("firma_richiedente"),
        named("timbro", "Timbro del comune"),
        placed(590, 10, 10, 10, title="Ultima firma"),
    ]
    assert violations(http, SAMPLE_PDF, fields) == [
        "(Prima firma) incompatible coordinates: unable to find page 3 in the uploaded document",
        '(Timbro del comune) the field "timbro" was not found is the uploaded document',
        "(Ultima firma) incompatible coordinates: they can't fit in the uploaded document",
    ]


@pytest.mark.parametrize(
    "content",
    [
        b"hello, not a pdf",
        b"",
        b"\n%PDF-1.4 a header not at the start",
        b"\xef\xbb\xbf" + SAMPLE_PDF,  # readable, but a byte-order mark before %PDF
        b"%PDF-1.7 and no more",
    ],
    ids=["text", "empty", "late-header", "bom-before-a-readable-pdf", "unreadable"],
)
def test_not_a_pdf_is_the_only_violation(http: httpx.Client, content: bytes) -> None:
    """The file signature first (the fields are not looked at); a file pypdf cannot read gets
    the same violation (the real service's pdf-lib error text differs per file)."""
    assert violations(http, content, [named("nowhere"), placed(9999, 0, 1, 1)]) == [NOT_A_PDF]


@pytest.mark.parametrize(
    ("pdf", "fields"),
    [(None, b"[]"), (None, None)],
    ids=["json-only", "nothing"],
)
def test_missing_parts_are_400(http: httpx.Client, pdf: bytes | None, fields: bytes | None) -> None:
    answer = validate(http, pdf, fields)
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["detail"] == MISSING_PARTS


def test_two_pdfs_are_400(http: httpx.Client) -> None:
    files = [
        ("a", ("a.pdf", MINIMAL_PDF, "application/pdf")),
        ("b", ("b.pdf", MINIMAL_PDF, "application/pdf")),
    ]
    answer = http.post("/validate-document", files=files)
    assert (answer.status_code, answer.json()["detail"]) == (400, MISSING_PARTS)


def test_fields_that_are_not_json_are_400(http: httpx.Client) -> None:
    answer = validate(http, SAMPLE_PDF, b"[{not json")
    assert (answer.status_code, answer.json()["detail"]) == (400, BAD_FIELDS)


@pytest.mark.parametrize(
    "fields",
    [
        {"attrs": {"unique_name": "x"}},
        [{"attrs": {"unique_name": "firma"}}],
        [{"attrs": {"unique_name": ""}, "clause": {"title": "Firma qui", "type": "REQUIRED"}}],
        [{"attrs": {"page": 0}, "clause": {"title": "Firma qui", "type": "REQUIRED"}}],
        [placed(10, 10, -1, 10)],
        [placed(10, 10, 10, 10, page=-1)],
        [{**named("firma_richiedente"), "clause": {"title": "Firm", "type": "REQUIRED"}}],
        [{**named("firma_richiedente"), "clause": {"title": "Firma qui", "type": "MAYBE"}}],
        [{**named("firma_richiedente"), "clause": {"title": "Firma qui", "type": "OPTIONAL"}}],
    ],
    ids=[
        "not-an-array",
        "no-clause",
        "empty-name",
        "no-coordinates",
        "negative-width",
        "negative-page",
        "short-title",
        "unknown-type",
        "only-optional",
    ],
)
def test_malformed_signature_fields_are_422(http: httpx.Client, fields: object) -> None:
    """The service decodes the JSON part with io-ts: a shape it refuses is a validation problem."""
    answer = validate(http, SAMPLE_PDF, httpx.Request("POST", "/", json=fields).content)
    assert answer.status_code == 422
    body = answer.json()
    assert body["type"] == "/problem/validation-error"
    assert body["violations"]


# -- the validation after an upload -------------------------------------------------------------


def uploaded(http: httpx.Client, pdf: bytes, fields: list[dict[str, Any]]) -> dict[str, Any]:
    """A request of a new dossier whose one document has ``fields``, ``pdf`` uploaded, read back
    (the session's sandbox validates at once)."""
    dossier = {
        "title": "dossier di prova",
        "documents_metadata": [{"title": "Modulo", "signature_fields": fields}],
    }
    created = http.post("/dossiers", json=dossier)
    assert created.status_code == 201, created.text
    signer = http.post("/signers", json={"fiscal_code": fiscal_code()}).json()["id"]
    request = http.post(
        "/signature-requests", json={"dossier_id": created.json()["id"], "signer_id": signer}
    ).json()
    [document] = request["documents"]
    url = http.get(
        f"/signature-requests/{request['id']}/documents/{document['id']}/upload_url"
    ).json()
    put = httpx.put(url, content=pdf, headers={"x-ms-blob-type": "BlockBlob"})
    assert put.status_code == 201
    view = http.get(f"/signature-requests/{request['id']}").json()
    return view["documents"][0]  # type: ignore[no-any-return]


def test_an_upload_that_fits_its_fields_is_ready(http: httpx.Client) -> None:
    document = uploaded(http, SAMPLE_PDF, SAMPLE_PDF_FIELDS)
    assert document["status"] == "READY"
    assert "reject_reason" not in document
    assert "/__blob/validated-documents/" in document["url"]


def test_an_upload_that_does_not_fit_is_rejected_with_every_reason(http: httpx.Client) -> None:
    """``reject_reason`` is the violations joined with a new line, as validate-upload.ts joins."""
    fields = [*SAMPLE_PDF_FIELDS, placed(10, 10, 10, 10, page=1)]
    document = uploaded(http, MINIMAL_PDF, fields)
    assert document["status"] == "REJECTED"
    assert document["reject_reason"] == (
        '(Firma del richiedente) the field "firma_richiedente" was not found is the uploaded '
        "document\n"
        "(Firma in calce) incompatible coordinates: unable to find page 1 in the uploaded document"
    )
    assert "url" not in document


def test_an_upload_that_is_not_a_pdf_is_rejected_for_that_alone(http: httpx.Client) -> None:
    document = uploaded(http, b"GIF89a", SAMPLE_PDF_FIELDS)
    assert (document["status"], document["reject_reason"]) == ("REJECTED", NOT_A_PDF)


def test_a_dossier_with_malformed_field_attrs_is_422(http: httpx.Client) -> None:
    """The same decoder guards the dossier's metadata, so an upload's checks meet no surprise."""
    dossier = {
        "title": "dossier di prova",
        "documents_metadata": [{"title": "Modulo", "signature_fields": [placed(1, 1, 1, "w")]}],
    }
    answer = http.post("/dossiers", json=dossier)
    assert answer.status_code == 422
    assert "signature_fields/0/attrs/size" in answer.json()["violations"][0]


# -- the sample document -------------------------------------------------------------------------


def test_modulo_pdf_is_the_sample_and_has_its_signature_field() -> None:
    """The committed files are what make_modulo.py writes; pypdf finds the field where it was
    put."""
    assert MODULO.read_bytes() == SAMPLE_PDF
    packaged = resources.files("firmaio.adapters.sandbox").joinpath("modulo.pdf")
    assert packaged.read_bytes() == SAMPLE_PDF
    reader = PdfReader(io.BytesIO(SAMPLE_PDF), strict=True)
    [page] = reader.pages
    assert (page.mediabox.width, page.mediabox.height) == (595, 842)
    assert "Modulo di adesione" in page.extract_text()
    [widget] = [annotation.get_object() for annotation in page["/Annots"]]
    assert (widget["/FT"], widget["/T"]) == ("/Sig", "firma_richiedente")
    assert [float(v) for v in widget["/Rect"]] == [100, 100, 300, 150]
    assert b"/CreationDate" not in SAMPLE_PDF
    assert b"/ID" not in SAMPLE_PDF
