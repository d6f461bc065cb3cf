"""Uploads to and downloads from the blob store (Azure Blob Storage, API-NOTES §1.2 and §1.3.6).

The blob store is not the API host: the API key is never sent there, and a URL is followed only
on the service's documented hosts (:mod:`.urls`). The upload's answer is read within its limit;
a download goes to a file a piece at a time, never whole into memory (:mod:`.limits`). Upload
and download URLs carry a shared-access signature, a bearer credential: it is masked in httpx's
own log lines and never recorded.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from contextlib import aclosing
from dataclasses import dataclass
from typing import Protocol

import httpx

from firmaio.fsm.errors import ApiProtocolError, ApiRefused, ApiUnavailable

from .answers import Refusal, Transient, raised
from .evidence import mask_signatures
from .limits import chunks, read_body, with_body
from .models import UploadUrl
from .problems import not_the_service
from .transport import KEEPALIVE_EXPIRY, Transport, tls_context


class MaskedSignatures(logging.Filter):
    """A logging filter masking shared-access signatures in a record's arguments: on httpx's own
    logger (``HTTP Request: PUT <url> ...``, at INFO) and the sandbox's access log, an upload or
    download URL's signature is a bearer credential."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                mask_signatures(str(a)) if isinstance(a, str | httpx.URL) else a
                for a in record.args
            )
        return True


logging.getLogger("httpx").addFilter(MaskedSignatures())

MAX_DOWNLOAD = 50 * 1024 * 1024
"""Bytes a signed document may have at most by default (``AnswerLimits.download``)."""


class IncompleteDownload(ApiUnavailable):
    """A download whose body ended short of its declared ``Content-Length``."""


class DownloadRefused(ApiProtocolError):
    """A signed document whose URL, type or size is not what it should be: nothing was
    written, and the flow stays SIGNED."""


@dataclass(frozen=True, slots=True)
class Downloaded:
    """A document written to its file: what the blob store said, and what arrived."""

    content_type: str
    """The ``Content-Type``'s media type, lower case ("" when none was sent)."""
    declared: str | None
    """The ``Content-Length`` header as sent, if any."""
    size: int
    sha256: str
    head: bytes
    """The first four bytes (``%PDF`` for a PDF)."""


class Writable(Protocol):
    """Where a download goes, a piece at a time (a file, a document sink's draft)."""

    def write(self, data: bytes, /) -> object: ...


class BlobCalls(Transport):
    """The calls of one client to the blob store: the upload of a PDF, the download of a
    signed document."""

    def _blob_client(self) -> httpx.AsyncClient:
        if self._blob is None:
            self._blob = httpx.AsyncClient(
                timeout=self._timeout,
                transport=self._transport,
                verify=tls_context() if self._transport is None else True,
                follow_redirects=False,  # a redirect of the blob store is refused, not followed
                limits=httpx.Limits(keepalive_expiry=KEEPALIVE_EXPIRY),  # as the issuer's calls
                headers={"Accept-Encoding": "identity"},  # a PDF's size is its declared length
            )
        return self._blob

    async def upload_document(self, upload_url: str | UploadUrl, pdf: bytes) -> None:
        """``PUT`` the PDF to the upload URL (the blob store), once; a refusal (403 for an
        expired or wrong signature) raises ApiRefused."""
        raised(await self.try_upload_document(upload_url, pdf))

    async def try_upload_document(self, upload_url: str | UploadUrl, pdf: bytes) -> Refusal | None:
        """``PUT`` the PDF to the upload URL (the blob store), once: the blob store's refusal,
        or None. A failure after sending raises ApiUnavailable (the document's status tells
        whether it arrived); a URL off the service's hosts raises ApiProtocolError, and nothing
        is sent."""
        url = upload_url.url if isinstance(upload_url, UploadUrl) else upload_url
        refused = self.urls.refusal(url, "blob")
        if refused is not None:
            raise ApiProtocolError(f"upload: the upload URL is refused: {refused}; nothing sent")
        blob = self._blob_client()
        request = blob.build_request(
            "PUT",
            url,
            content=pdf,
            headers={"x-ms-blob-type": "BlockBlob", "Content-Type": "application/pdf"},
        )
        try:
            response = await self.exchange(
                blob, request, self.limits.upload_answer, self.limits.transfer_seconds
            )
        except (httpx.TransportError, Transient) as exc:
            lost = ApiUnavailable(
                f"upload: {exc if isinstance(exc, Transient) else type(exc).__name__}; the "
                "document's status tells if it arrived"
            )
            lost.retried = False  # sent once: a second PUT is never made blindly
            raise lost from exc
        self._log.info("blob.upload", status=response.status_code, size=len(pdf))
        status = response.status_code
        if status in (200, 201):
            return None
        code = _blob_error(response)
        if _passing(status) or (400 <= status < 500 and _blob_code(response) is not None):
            return Refusal(f"upload: HTTP {status}", status, code)
        raise not_the_service("upload", response, self._secrets)  # a redirect, a proxy's page

    async def download_document(
        self, url: str, sink: Writable, *, max_bytes: int | None = None
    ) -> Downloaded:
        """``GET`` a document from the blob store (a signed document's 5-minute URL) into
        ``sink``, a piece at a time: at most ``max_bytes`` (``AnswerLimits.download``), within
        ``AnswerLimits.transfer_seconds``. A URL off the service's hosts, a body over the limit
        or in an encoding not asked for raises :class:`DownloadRefused`; an answer other than
        200 raises ApiRefused (a redirect is not followed); a body that ends before its declared
        length, :class:`IncompleteDownload`. ``sink`` may hold part of a body after an error."""
        refused = self.urls.refusal(url, "blob")
        if refused is not None:
            raise DownloadRefused(f"download: the document's URL is refused: {refused}")
        limit = max_bytes if max_bytes is not None else self.limits.download
        digest, size, head = hashlib.sha256(), 0, b""
        deadline = asyncio.timeout(self.limits.transfer_seconds)
        try:
            async with deadline, self._blob_client().stream("GET", url) as response:
                if response.status_code != 200:
                    body = await read_body(response, self.limits.problem)
                    raise ApiRefused(
                        f"download: HTTP {response.status_code}",
                        status=response.status_code,
                        detail=_blob_error(with_body(response, body)),
                    )
                async with aclosing(chunks(response, limit)) as pieces:
                    async for piece in pieces:
                        digest.update(piece)
                        sink.write(piece)
                        head = head if len(head) >= 4 else (head + piece)[:4]
                        size += len(piece)
        except Transient as exc:  # over the limit, or an encoding not asked for
            raise DownloadRefused(f"download: {exc}") from None
        except httpx.RemoteProtocolError as exc:  # the body ended before its declared length
            raise IncompleteDownload(f"download: {exc}") from exc
        except httpx.TransportError as exc:
            raise ApiUnavailable(f"download: {type(exc).__name__}") from exc
        except TimeoutError:
            if not deadline.expired():
                raise
            seconds = self.limits.transfer_seconds
            raise ApiUnavailable(f"download: not done within {seconds:g} s") from None
        self._log.info("blob.download", status=200, size=size)
        kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
        declared = response.headers.get("content-length")
        return Downloaded(kind, declared, size, digest.hexdigest(), head)


def _passing(status: int) -> bool:
    """Whether the blob store's answer to an upload closes nothing, whatever its body: an expired
    or unknown signature (403, 404: a new URL is asked for), its passing trouble (408, 429, 5xx:
    the document's status tells whether the upload arrived). Another refusal is the blob
    store's only with its error code."""
    return status in (403, 404, 408, 429) or status >= 500


def _blob_code(response: httpx.Response) -> str | None:
    """The blob store's error code (``AuthenticationFailed``, ``BlobNotFound``...), if its
    answer is Azure's error XML (``<Error><Code>...``)."""
    text = response.text
    start, end = text.find("<Code>"), text.find("</Code>")
    if "<Error" in text and 0 <= start < end:
        return text[start + len("<Code>") : end][:80]
    return None


def _blob_error(response: httpx.Response) -> str | None:
    """The blob store's error code, or the first characters of its answer."""
    return _blob_code(response) or response.text[:80] or None
