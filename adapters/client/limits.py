"""How much of an answer is read, and for how long: every body is read through :func:`read_body`,
which stops at the limit of its kind, whatever the status code, while it streams.

An answer is never trusted to be small. The limits are far above what the service sends (its
largest JSON answer, a page of 100 listed requests, is about 30 kB; a signed bundle is at most
10 MB) and far below what would hurt a server: a body over its limit is refused once the limit
is passed, and what was read is dropped. A call also has a total time limit besides httpx's
per-read timeout, so a body that trickles in a byte at a time cannot hold a flow forever.
Compressed bodies (``gzip``, ``deflate``) are decompressed a bounded piece at a time, so a small
body that would inflate to gigabytes stops at the same limit; other encodings are refused.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass
from typing import cast

import httpx

from .answers import Transient

KIB, MIB = 1024, 1024 * 1024
ACCEPT_ENCODING = "gzip, deflate"
"""What the client says it reads: the two encodings :func:`read_body` decompresses bounded."""


@dataclass(frozen=True, slots=True)
class AnswerLimits:
    """The most bytes each kind of answer may have, and how long a call may take in all."""

    api_json: int = 2 * MIB
    """A 2xx answer of the issuer API (JSON)."""
    problem: int = 64 * KIB
    """Any other answer of the API or the blob store: a problem, an APIM error, a 5xx page."""
    upload_answer: int = 64 * KIB
    """The blob store's answer to an upload (empty when it succeeds)."""
    download: int = 50 * MIB
    """A signed document (the service takes bundles of up to 10 MB)."""
    call_seconds: float = 30.0
    """An API call, from sending to the last byte of its answer (httpx's timeouts bound each
    connect and each read; this bounds them all together)."""
    transfer_seconds: float = 300.0
    """An upload or a download, from sending to the last byte."""

    def __post_init__(self) -> None:
        for name in ("api_json", "problem", "upload_answer", "download"):
            if getattr(self, name) < 1:
                raise ValueError(f"AnswerLimits.{name} must be at least 1 byte")
        if not (self.call_seconds > 0 and self.transfer_seconds > 0):
            raise ValueError("AnswerLimits' time limits must be positive")


DEFAULT_LIMITS = AnswerLimits()
"""The limits a client uses unless given its own."""


class TooLarge(Transient):
    """An answer over its limit, with its status: a 2xx is a malformed answer (an
    :class:`~firmaio.fsm.errors.ApiProtocolError` once retries are spent), an error answer a
    failing service (:class:`~firmaio.fsm.errors.ApiUnavailable`)."""

    def __init__(self, status: int, limit: int) -> None:
        message = f"HTTP {status} with a body over {limit} bytes"
        super().__init__(message, malformed=200 <= status < 300, status=status)


class TooSlow(httpx.ReadTimeout):
    """A call past its total time limit: an answer still arriving counts as no answer (it may
    have reached the service, as for any timeout after sending)."""


class Refused(Transient):
    """A body in an encoding this client did not ask for, or that does not decompress."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(f"HTTP {status} with a body {why}", malformed=True)


def limit_for(status: int, success_limit: int, limits: AnswerLimits) -> int:
    """The limit of an answer with ``status``: the call's own for 2xx, a problem's otherwise."""
    return success_limit if 200 <= status < 300 else limits.problem


async def chunks(response: httpx.Response, limit: int) -> AsyncGenerator[bytes, None]:
    """The body of a streamed ``response``, decoded, a piece at a time; raises :class:`TooLarge`
    once more than ``limit`` bytes came (or a ``Content-Length`` says more will), and
    :class:`Refused` for an encoding other than identity, gzip or deflate."""
    status = response.status_code
    if response.is_stream_consumed:  # built with its content (a test's MockTransport): decoded
        if len(response.content) > limit:
            raise TooLarge(status, limit)
        if response.content:
            yield response.content
        return
    inflate = _decoder(response, limit)
    total = 0
    raw_body = cast(AsyncGenerator[bytes, None], response.aiter_raw())  # one, at run time
    async with aclosing(raw_body) as raws:  # closed when the limit cuts it short
        async for raw in raws:
            piece = raw if inflate is None else _inflate(inflate, raw, limit - total + 1, status)
            total += len(piece)
            if total > limit:
                raise TooLarge(status, limit)
            if piece:
                yield piece
    if inflate is not None and not inflate.eof and total:
        raise Refused(status, "whose compressed data ends early")


def _decoder(response: httpx.Response, limit: int) -> zlib._Decompress | None:
    """The decompressor of ``response``'s encoding (None for identity); refuses an identity
    body whose ``Content-Length`` is over ``limit``, and an encoding not asked for."""
    status = response.status_code
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise TooLarge(status, limit)
        return None
    if encoding in ("gzip", "x-gzip", "deflate"):
        return zlib.decompressobj(wbits=47)  # a gzip or zlib header, told apart by zlib
    raise Refused(status, f"in the encoding {encoding[:20]!r}, not asked for")


def _inflate(inflate: zlib._Decompress, raw: bytes, room: int, status: int) -> bytes:
    """At most ``room`` bytes of ``raw`` decompressed: past that, the body is over its limit."""
    try:
        return inflate.decompress(raw, room)
    except zlib.error:
        raise Refused(status, "that does not decompress") from None


async def read_body(response: httpx.Response, limit: int) -> bytes:
    """The whole decoded body of a streamed ``response``, at most ``limit`` bytes (see
    :func:`chunks`)."""
    body = bytearray()
    async with aclosing(chunks(response, limit)) as pieces:
        async for piece in pieces:
            body += piece
    return bytes(body)


async def read_whole(response: httpx.Response, limit: int) -> httpx.Response:
    """``response`` with its whole body read, at most ``limit`` bytes: a body of identity
    encoding whose declared length is within the limit is read as httpx reads it (h11 reads no
    byte past a declared length); any other through :func:`read_body`, in a response rebuilt
    around it."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    declared = response.headers.get("content-length", "")
    if encoding in ("", "identity") and declared.isdigit() and int(declared) <= limit:
        await response.aread()  # the common answer: no piece-by-piece copy
        return response
    return with_body(response, await read_body(response, limit))


async def closed(response: httpx.Response) -> None:
    """Close ``response`` and let go of the stream httpx bound to it. httpx's stream holds its
    response (to time it when closed), a reference cycle: every answer, its whole body with it,
    outlived its call until the cyclic garbage collector's next full pass, which a long-running
    process with many objects makes rarely (``firmaio serve`` held every listing page of its
    watch passes meanwhile, its memory rising with the pages a pass read). What was read stays
    readable (``response.content``); the stream, closed, is read no more."""
    await response.aclose()
    response.stream = httpx.ByteStream(b"")


def with_body(response: httpx.Response, body: bytes) -> httpx.Response:
    """A response like ``response`` holding ``body``, already decoded (so without its
    ``Content-Encoding``): what the calls read after :func:`read_body`."""
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() != "content-encoding"]
    return httpx.Response(
        response.status_code, headers=headers, content=body, request=response.request
    )
