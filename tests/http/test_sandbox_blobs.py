"""The sandbox's blob store over HTTP, as Azure answers: SAS upload URLs that expire, signed
documents to download for five minutes, XML errors, and the faults of uploads, downloads and
validation. A sandbox of this module's own, its clock a fake one moved by hand."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from firmaio.adapters.sandbox import MINIMAL_PDF, SAMPLE_PDF
from tests.http.blob_helpers import BLOCK, Box, query, refused

# -- upload URLs ---------------------------------------------------------------------------------


def test_an_upload_url_is_an_azure_sas_url_for_15_minutes(box: Box) -> None:
    url = box.upload_url(*box.draft())
    parts = urlsplit(url)
    assert parts.path.startswith("/api/v1/sign/__blob/uploaded-documents/")
    assert [key for key, _ in parse_qsl(parts.query)] == [
        "sv", "spr", "st", "se", "sr", "sp", "sig", "rsct"
    ]  # fmt: skip
    params = query(url)
    assert params["sv"] == "2023-11-03"
    assert (params["sr"], params["sp"], params["rsct"]) == ("b", "racw", "application/pdf")
    assert params["st"] == "2026-11-29T10:00:00Z"
    assert params["se"] == "2026-11-29T10:15:00Z"
    assert "se=2026-11-29T10%3A15%3A00Z" in parts.query  # encoded as the Azure SDK encodes
    assert len(params["sig"]) == 44  # base64 of 32 bytes, as an HMAC-SHA256
    assert params["sig"] != query(box.upload_url(*box.draft()))["sig"]


def test_an_upload_url_is_honoured_until_it_expires(box: Box) -> None:
    request_id, document_id = box.draft()
    late, later = box.upload_url(request_id, document_id), box.upload_url(request_id, document_id)
    box.clock.advance(15 * 60)
    assert httpx.put(late, content=MINIMAL_PDF, headers=BLOCK).status_code == 201
    box.clock.advance(1)
    refused(httpx.put(later, content=MINIMAL_PDF, headers=BLOCK))
    assert box.sandbox.issuer.uploads_received(request_id) == 1


def test_the_upload_url_ttl_is_a_setting(box: Box) -> None:
    box.sandbox.issuer.upload_url_ttl = 60
    try:
        url = box.upload_url(*box.draft())
    finally:
        box.sandbox.issuer.upload_url_ttl = 900
    assert query(url)["se"] == "2026-11-29T10:01:00Z"
    box.clock.advance(61)
    refused(httpx.put(url, content=MINIMAL_PDF, headers=BLOCK))


@pytest.mark.parametrize(
    "tamper",
    [
        lambda q: {**q, "sig": q["sig"][:-4] + "AAA="},
        lambda q: {**q, "se": "2099-01-01T00:00:00Z"},
        lambda q: {**q, "sp": "r"},
        lambda q: {k: v for k, v in q.items() if k != "sig"},
    ],
    ids=["wrong-sig", "later-expiry", "other-permissions", "no-sig"],
)
def test_a_tampered_upload_url_is_403(box: Box, tamper: Any) -> None:
    url = box.upload_url(*box.draft())
    bad = httpx.URL(url.split("?")[0], params=tamper(query(url)))
    refused(httpx.put(bad, content=MINIMAL_PDF, headers=BLOCK))
    assert httpx.put(url, content=MINIMAL_PDF, headers=BLOCK).status_code == 201


def test_a_url_for_another_upload_is_403_and_an_unknown_upload_404(box: Box) -> None:
    one, other = box.upload_url(*box.draft()), box.upload_url(*box.draft())
    swapped = other.split("?")[0] + "?" + urlsplit(one).query
    refused(httpx.put(swapped, content=MINIMAL_PDF, headers=BLOCK))
    unknown = box.sandbox.url + "/__blob/uploaded-documents/01ARZ3NDEKTSV4RRFFQ69G5FAV?sig=x"
    missing = httpx.put(unknown, content=MINIMAL_PDF, headers=BLOCK)
    assert (missing.status_code, missing.headers["content-type"]) == (404, "application/xml")
    assert b"<Code>BlobNotFound</Code>" in missing.content


def test_an_upload_needs_the_block_blob_header(box: Box) -> None:
    request_id, document_id = box.draft()
    answer = httpx.put(box.upload_url(request_id, document_id), content=MINIMAL_PDF)
    assert answer.status_code == 400
    assert answer.headers["x-ms-error-code"] == "MissingRequiredHeader"
    assert box.sandbox.issuer.uploads_received(request_id) == 0


def test_uploads_are_counted_per_request_and_in_the_stats(box: Box) -> None:
    request_id, document_id = box.draft()
    before = httpx.get(box.sandbox.root + "/__sandbox/stats").json()["uploads"]
    for _ in range(2):  # a re-upload while DRAFT is allowed, and counted
        put = httpx.put(box.upload_url(request_id, document_id), content=SAMPLE_PDF, headers=BLOCK)
        assert put.status_code == 201
        assert put.content == b""
    assert box.sandbox.issuer.uploads_received(request_id) == 2
    assert httpx.get(box.sandbox.root + "/__sandbox/stats").json()["uploads"] == before + 2
    assert box.document(request_id)["status"] == "READY"


# -- signed documents ----------------------------------------------------------------------------


def test_a_signed_document_is_served_as_a_pdf_that_differs_from_the_upload(box: Box) -> None:
    request_id = box.signed()
    url = box.download_url(request_id)
    assert urlsplit(url).path.endswith(".pdf")
    assert "/__blob/signed-documents/" + request_id + "/" in url
    assert (query(url)["sp"], query(url)["se"]) == ("r", "2026-11-29T10:05:00Z")
    answer = httpx.get(url)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert int(answer.headers["content-length"]) == len(answer.content)
    assert answer.content.startswith(b"%PDF")
    assert answer.content.startswith(SAMPLE_PDF)
    assert answer.content != SAMPLE_PDF
    assert answer.content.endswith(f"%firmaio-sandbox: signed {request_id}\n".encode())


def test_each_read_gives_a_new_url_that_expires_after_five_minutes(box: Box) -> None:
    request_id = box.signed()
    first = box.download_url(request_id)
    box.clock.advance(60)
    second = box.download_url(request_id)
    assert query(first)["sig"] != query(second)["sig"]
    box.clock.advance(4 * 60)  # first: 5 minutes old, still good; second: 4 minutes
    assert httpx.get(first).status_code == 200
    box.clock.advance(1)
    refused(httpx.get(first))
    assert httpx.get(second).status_code == 200
    box.clock.advance(60)
    refused(httpx.get(second))


def test_a_wrong_or_unknown_download_is_refused(box: Box) -> None:
    request_id = box.signed()
    url = box.download_url(request_id)
    refused(httpx.get(url.replace("sig=", "sig=X")))
    unknown = httpx.get(url.replace(request_id, "01ARZ3NDEKTSV4RRFFQ69G5FAV"))
    assert (unknown.status_code, unknown.headers["x-ms-error-code"]) == (404, "BlobNotFound")


def test_a_ready_document_url_is_not_readable_without_a_sas(box: Box) -> None:
    """The real service gives the validated copy's plain blob URL; its container is private."""
    request_id, document_id = box.draft()
    httpx.put(box.upload_url(request_id, document_id), content=SAMPLE_PDF, headers=BLOCK)
    answer = httpx.get(box.document(request_id)["url"])
    assert (answer.status_code, answer.headers["x-ms-error-code"]) == (404, "ResourceNotFound")
