"""Faults of the blob store and of the validation, over HTTP: ``uploadDocument``,
``downloadDocument`` and ``validateUpload``, queued like the API's and set by the same control."""

from __future__ import annotations

import time

import httpx
import pytest

from firmaio.adapters.sandbox import MINIMAL_PDF, SAMPLE_PDF
from tests.http.blob_helpers import BLOCK, Box

# -- uploads ------------------------------------------------------------------------------------


def test_an_upload_status_fault_answers_azure_xml_and_stores_nothing(box: Box) -> None:
    request_id, document_id = box.draft()
    url = box.upload_url(request_id, document_id)
    box.fault("uploadDocument", "status", status=503)
    answer = httpx.put(url, content=SAMPLE_PDF, headers=BLOCK)
    assert (answer.status_code, answer.headers["content-type"]) == (503, "application/xml")
    assert b"<Code>ServerBusy</Code>" in answer.content
    assert box.sandbox.issuer.uploads_received(request_id) == 0
    assert box.document(request_id)["status"] == "WAIT_FOR_UPLOAD"
    assert httpx.put(url, content=SAMPLE_PDF, headers=BLOCK).status_code == 201  # used once


def test_an_upload_latency_fault_delays_the_answer(box: Box) -> None:
    request_id, document_id = box.draft()
    box.fault("uploadDocument", "latency", seconds=0.4)
    started = time.monotonic()
    answer = httpx.put(box.upload_url(request_id, document_id), content=SAMPLE_PDF, headers=BLOCK)
    assert answer.status_code == 201
    assert time.monotonic() - started >= 0.4


def test_a_dropped_upload_is_not_stored(box: Box) -> None:
    request_id, document_id = box.draft()
    box.fault("uploadDocument", "drop")
    with pytest.raises(httpx.TransportError):
        httpx.put(box.upload_url(request_id, document_id), content=SAMPLE_PDF, headers=BLOCK)
    assert box.sandbox.issuer.uploads_received(request_id) == 0
    assert box.document(request_id)["status"] == "WAIT_FOR_UPLOAD"


def test_an_upload_whose_answer_is_lost_was_stored(box: Box) -> None:
    """``drop_after``: the client sees an error, yet the document was uploaded (and validated)."""
    request_id, document_id = box.draft()
    box.fault("uploadDocument", "drop_after")
    with pytest.raises(httpx.TransportError):
        httpx.put(box.upload_url(request_id, document_id), content=SAMPLE_PDF, headers=BLOCK)
    assert box.sandbox.issuer.uploads_received(request_id) == 1
    assert box.document(request_id)["status"] == "READY"


def test_a_fault_for_any_operation_never_reaches_the_blob_store(box: Box) -> None:
    """``*`` is the issuer API's operations: the upload goes through, the fault waits."""
    request_id, document_id = box.draft()
    url = box.upload_url(request_id, document_id)
    box.fault("*", "status", status=500)
    assert httpx.put(url, content=SAMPLE_PDF, headers=BLOCK).status_code == 201
    assert box.api.get(f"/signature-requests/{request_id}").status_code == 500


# -- downloads ----------------------------------------------------------------------------------


def test_a_download_status_fault(box: Box) -> None:
    url = box.download_url(box.signed())
    box.fault("downloadDocument", "status", status=500, detail="disk on fire")
    answer = httpx.get(url)
    assert (answer.status_code, answer.headers["x-ms-error-code"]) == (500, "InternalError")
    assert b"<Message>disk on fire</Message>" in answer.content
    assert httpx.get(url).status_code == 200


def test_a_download_latency_fault(box: Box) -> None:
    url = box.download_url(box.signed())
    box.fault("downloadDocument", "latency", seconds=0.4)
    started = time.monotonic()
    assert httpx.get(url).status_code == 200
    assert time.monotonic() - started >= 0.4
    box.fault("downloadDocument", "latency", seconds=1.0)
    with pytest.raises(httpx.ReadTimeout):  # a client's own deadline meets it
        httpx.get(url, timeout=0.2)


def test_a_dropped_download(box: Box) -> None:
    url = box.download_url(box.signed())
    box.fault("downloadDocument", "drop")
    with pytest.raises(httpx.TransportError):
        httpx.get(url)


def test_a_malformed_download_is_the_pdf_served_as_html(box: Box) -> None:
    """A client that trusts the bytes gets a PDF; one that checks the content type does not."""
    request_id = box.signed()
    url = box.download_url(request_id)
    box.fault("downloadDocument", "malformed")
    answer = httpx.get(url)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.content == box.sandbox.issuer.signed_document(
        request_id, box.document(request_id)["id"]
    )


def test_a_truncated_download_is_an_error_not_a_short_body(box: Box) -> None:
    """The whole length is declared, half is sent, the connection closes: httpx says so."""
    url = box.download_url(box.signed())
    box.fault("downloadDocument", "truncated")
    with httpx.stream("GET", url) as answer:  # the headers are whole
        assert int(answer.headers["content-length"]) > len(SAMPLE_PDF)
        with pytest.raises(httpx.RemoteProtocolError):
            answer.read()
    box.fault("downloadDocument", "truncated")
    with pytest.raises(httpx.RemoteProtocolError, match=r"received \d+ bytes, expected \d+"):
        httpx.get(url)
    assert httpx.get(url).content.startswith(SAMPLE_PDF)


def test_a_download_fault_for_one_request_leaves_the_others(box: Box) -> None:
    hit, spared = box.signed(), box.signed()
    box.fault("downloadDocument", "status", status=503, request_id=hit)
    assert httpx.get(box.download_url(spared)).status_code == 200
    assert httpx.get(box.download_url(hit)).status_code == 503


# -- the validation after an upload -------------------------------------------------------------


def test_a_hanging_validation_never_ends(box: Box) -> None:
    """``hang``: the document is never validated (it reads WAIT_FOR_UPLOAD, as the service shows
    a document under validation) however long one waits; the fault is
    used by that one upload."""
    request_id, document_id = box.draft()
    box.fault("validateUpload", "hang")
    assert httpx.put(box.upload_url(request_id, document_id), content=SAMPLE_PDF, headers=BLOCK)
    box.clock.advance(24 * 3600)
    assert box.document(request_id)["status"] == "WAIT_FOR_UPLOAD"
    other, other_document = box.draft()
    httpx.put(box.upload_url(other, other_document), content=SAMPLE_PDF, headers=BLOCK)
    assert box.document(other)["status"] == "READY"


def test_a_hanging_validation_for_one_request(box: Box) -> None:
    (first, first_doc), (second, second_doc) = box.draft(), box.draft()
    box.fault("validateUpload", "hang", request_id=second, times=1_000)
    for request_id, document_id in ((first, first_doc), (second, second_doc)):
        url = box.upload_url(request_id, document_id)
        assert httpx.put(url, content=MINIMAL_PDF, headers=BLOCK).status_code == 201
    assert box.document(first)["status"] == "REJECTED"  # MINIMAL_PDF has no named field
    assert box.document(second)["status"] == "WAIT_FOR_UPLOAD"


def test_validation_hangs_holds_every_upload_made_while_it_is_set(box: Box) -> None:
    """The service's switch, for a whole test: uploads made while it is on never finish."""
    (held, held_doc), (later, later_doc) = box.draft(), box.draft()
    box.sandbox.issuer.validation_hangs = True
    try:
        url = box.upload_url(held, held_doc)
        assert httpx.put(url, content=SAMPLE_PDF, headers=BLOCK).status_code == 201
    finally:
        box.sandbox.issuer.validation_hangs = False
    url = box.upload_url(later, later_doc)
    assert httpx.put(url, content=SAMPLE_PDF, headers=BLOCK).status_code == 201
    box.clock.advance(3600)
    assert box.document(held)["status"] == "WAIT_FOR_UPLOAD"
    assert box.document(later)["status"] == "READY"


# -- the control ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "accepted"),
    [
        ({"operation": "downloadDocument", "kind": "truncated"}, True),
        ({"operation": "validateUpload", "kind": "hang", "request_id": "R1"}, True),
        ({"operation": "uploadDocument", "kind": "drop_after", "times": 2}, True),
        ({"operation": "uploadDocument", "kind": "malformed"}, False),
        ({"operation": "validateUpload", "kind": "status"}, False),
        ({"operation": "getSignatureRequest", "kind": "truncated"}, False),
        ({"kind": "hang"}, False),
        ({"operation": "downloadDocument", "kind": "truncated", "request_id": ""}, False),
    ],
)
def test_the_faults_control_takes_only_faults_that_fit(
    box: Box, body: dict[str, object], accepted: bool
) -> None:
    answer = httpx.post(box.sandbox.root + "/__sandbox/faults", json=body)
    queued = list(box.sandbox.state.faults)
    if accepted:
        assert answer.status_code == 204
        assert [(f.operation, f.kind, f.request_id) for f in queued] == [
            (body.get("operation", "*"), body["kind"], body.get("request_id"))
        ]
    else:
        assert answer.status_code == 400
        assert answer.json()["problems"]
        assert queued == []
