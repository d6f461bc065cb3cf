"""The blob store's calls: the PDF's upload to its upload URL, a signed document's download.

They go to the blob store, not the API host: the API key is never sent there. An upload or
download URL's signature (``sig=``) is a bearer credential: it is masked in httpx's log and the
sandbox's access log (:class:`MaskedSignatures`), and never recorded.
"""

from __future__ import annotations

import logging
import re

import httpx

from firmaio.fsm.errors import ApiRefused, ApiUnavailable

from .answers import Refusal, raised
from .models import UploadUrl
from .transport import Transport

_SIGNATURE = re.compile(r"(?i)\b(sig=)[^&\s\"']+")


def mask_signatures(text: str) -> str:
    """``text`` with the signature of any shared-access URL masked (``sig=...``)."""
    return _SIGNATURE.sub(r"\1[masked]", text)


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
"""Bytes a signed document may have at most (the service takes bundles of up to 10 MB)."""


class IncompleteDownload(ApiUnavailable):
    """A download whose body ended short of its declared ``Content-Length``."""


class BlobCalls(Transport):
    """The calls of one client to the blob store (its own pooled ``httpx.AsyncClient``)."""

    def _blob_client(self) -> httpx.AsyncClient:
        if self._blob is None:
            self._blob = httpx.AsyncClient(timeout=self._timeout, transport=self._transport)
        return self._blob

    async def upload_document(self, upload_url: str | UploadUrl, pdf: bytes) -> None:
        """``PUT`` the PDF to the upload URL (the blob store), once; a refusal (403 for an
        expired or wrong signature) raises ApiRefused."""
        raised(await self.try_upload_document(upload_url, pdf))

    async def try_upload_document(self, upload_url: str | UploadUrl, pdf: bytes) -> Refusal | None:
        """``PUT`` the PDF to the upload URL (the blob store), once: the blob store's refusal,
        or None. A failure after sending raises ApiUnavailable (the document's status tells
        whether it arrived)."""
        url = upload_url.url if isinstance(upload_url, UploadUrl) else upload_url
        try:
            response = await self._blob_client().put(
                url,
                content=pdf,
                headers={"x-ms-blob-type": "BlockBlob", "Content-Type": "application/pdf"},
            )
        except httpx.TransportError as exc:
            raise ApiUnavailable(
                f"upload: {type(exc).__name__}; the document's status tells if it arrived"
            ) from exc
        self._log.info("blob.upload", status=response.status_code, size=len(pdf))
        if response.status_code not in (200, 201):
            status = response.status_code
            return Refusal(f"upload: HTTP {status}", status, _blob_error(response))
        return None

    async def download_document(self, url: str, *, max_bytes: int = MAX_DOWNLOAD) -> httpx.Response:
        """``GET`` a document from the blob store (a signed document's 5-minute URL); the body
        is read up to ``max_bytes``. Raises ApiRefused for an answer other than 200."""
        try:
            async with self._blob_client().stream("GET", url) as response:
                if response.status_code != 200:
                    await response.aread()
                    raise ApiRefused(
                        f"download: HTTP {response.status_code}",
                        status=response.status_code,
                        detail=_blob_error(response),
                    )
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > max_bytes:
                        raise ApiRefused(
                            f"download: larger than {max_bytes} bytes", status=200, detail=None
                        )
        except httpx.RemoteProtocolError as exc:  # the body ended before its declared length
            raise IncompleteDownload(f"download: {exc}") from exc
        except httpx.TransportError as exc:
            raise ApiUnavailable(f"download: {type(exc).__name__}") from exc
        self._log.info("blob.download", status=200, size=len(body))
        return httpx.Response(200, headers=response.headers, content=bytes(body))


def _blob_error(response: httpx.Response) -> str | None:
    """The blob store's error code (``AuthenticationFailed``, ``BlobNotFound``...), if any."""
    text = response.text
    start, end = text.find("<Code>"), text.find("</Code>")
    if 0 <= start < end:
        return text[start + len("<Code>") : end]
    return text[:80] or None
