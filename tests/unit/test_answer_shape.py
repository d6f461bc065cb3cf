"""What an answer may hold: ids by the rule for typed ids, the request asked for, statuses, URLs on
the documented hosts; and every body within its limit, however it is encoded. No network:
httpx.MockTransport, and streams built here."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from firmaio.adapters.client import AnswerLimits, IssuerClient, RetryPolicy, SignatureRequestView
from firmaio.adapters.client.limits import Refused, TooLarge, read_body
from firmaio.adapters.client.urls import UrlPolicy
from firmaio.fsm import ApiProtocolError, InvalidInput, InvalidRequestId
from firmaio.fsm.ids import check_request_id
from tests.hostile import gzip_bomb

RID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
ONCE = RetryPolicy(attempts=1, wait_initial=0.0, wait_max=0.0, wait_jitter=0.0)
QR = f"https://continua.io.pagopa.it/qrcode.png?feat=firma&srid={RID}"


def read(view: dict[str, Any]) -> object:
    async def run() -> object:
        transport = httpx.MockTransport(lambda _r: httpx.Response(200, json=view))
        async with IssuerClient(
            "k", base_url="https://api.test/api/v1/sign", transport=transport, retry=ONCE
        ) as client:
            return await client.get_request(RID)

    return asyncio.run(run())


@pytest.mark.parametrize(
    ("view", "said"),
    [
        ({"id": "01BX5ZZKBKACTAV9WEVGEMMVRZ", "status": "READY"}, "about the request '01BX5Z"),
        ({"id": "../../../x", "status": "READY"}, "about the request '../../../x'"),
        ({"id": RID, "status": "ready\x1b[2J"}, "status 'ready\\x1b[2J' is not a status"),
        ({"id": RID, "status": "X" * 500}, "is not a status"),
        (
            {"id": RID, "status": "NOTIFIED", "notification": {"io_message_id": "a/b"}},
            "io_message_id 'a/b' contains the forbidden character '/'",
        ),
        ({"id": RID, "status": "READY", "qr_code_url": "javascript:x"}, "scheme 'javascript'"),
        ({"id": RID, "status": "READY", "qr_code_url": "https://qr.evil.test/q.png"}, "evil"),
    ],
)
def test_a_read_out_of_shape_is_a_protocol_error_naming_its_evidence(
    view: dict[str, Any], said: str
) -> None:
    with pytest.raises(ApiProtocolError, match="getSignatureRequest") as refused:
        read(view)
    assert said in str(refused.value)


def test_a_read_in_its_documented_shape_is_taken() -> None:
    answer = read({"id": RID, "status": "WAIT_FOR_SIGNATURE", "qr_code_url": QR})
    assert getattr(answer, "qr_code_url", None) == QR


@pytest.mark.parametrize(
    ("documents", "said"),
    [
        ([{"id": "..", "status": "READY"}], "the answer's id '..' contains '..'"),
        ([{"id": ".", "status": "READY"}], "the answer's id '.' names nothing"),
        ([{"id": "/etc/x", "status": "READY"}], "forbidden character '/'"),
        ([{"id": "d", "status": "READY"}, {"id": "d", "status": "READY"}], "have one id"),
    ],
)
def test_a_request_view_with_unusable_document_ids_is_refused(
    documents: list[dict[str, str]], said: str
) -> None:
    body = {"id": RID, "status": "SIGNED", "documents": documents}
    with pytest.raises(ApiProtocolError) as refused:
        SignatureRequestView.from_json(body)
    assert said in str(refused.value)


def test_the_dot_alone_is_no_id_anywhere() -> None:
    with pytest.raises(InvalidRequestId, match="names nothing"):
        check_request_id(".")
    assert check_request_id("a.b") == "a.b"


# -- URLs -----------------------------------------------------------------------------------------

POLICY = UrlPolicy.of("http://127.0.0.1:7071/api/v1/sign")


@pytest.mark.parametrize(
    ("url", "kind", "accepted"),
    [
        ("https://fcistorage.blob.core.windows.net/signed/x.pdf?sig=s", "blob", True),
        ("http://fcistorage.blob.core.windows.net/signed/x.pdf", "blob", False),
        ("https://fcistorage.blob.core.windows.net:8443/x.pdf", "blob", False),
        ("https://blob.core.windows.net.evil.test/x.pdf", "blob", False),
        ("http://127.0.0.1:7071/__blob/x?sig=s", "blob", True),
        ("http://127.0.0.1:7072/__blob/x", "blob", False),
        ("http://localhost:7071/__blob/x", "blob", False),
        ("https://user:pw@fcistorage.blob.core.windows.net/x", "blob", False),
        ("javascript:alert(1)", "blob", False),
        ("file:///etc/passwd", "blob", False),
        (QR, "qr", True),
        ("https://continua.io.pagopa.it.evil.test/qrcode.png", "qr", False),
        ("http://127.0.0.1:7071/qrcode.png", "qr", False),
        ("https://continua.io.pagopa.it/q\u202e.png", "qr", False),
        ("https://continua.io.pagopa.it/q .png", "qr", False),
        ("https://continua.io.pagopa.it/" + "q" * 5000, "qr", False),
    ],
)
def test_urls_are_accepted_only_on_the_documented_hosts(
    url: str, kind: Any, accepted: bool
) -> None:
    assert (POLICY.refusal(url, kind) is None) is accepted


def test_trusted_hosts_add_origins_and_a_bad_entry_is_named() -> None:
    policy = UrlPolicy.from_env(
        "https://api.io.pagopa.it/api/v1/sign",
        {"FIRMAIO_TRUSTED_HOSTS": "files.test, http://127.0.0.1:10000"},
    )
    assert policy.refusal("https://files.test/x.pdf", "blob") is None
    assert policy.refusal("http://127.0.0.1:10000/devstoreaccount1/x", "blob") is None
    assert policy.refusal("https://files.test/qr.png", "qr") is None
    assert policy.refusal("http://files.test/x.pdf", "blob") is not None
    with pytest.raises(InvalidInput, match="FIRMAIO_TRUSTED_HOSTS: 'ftp://x' is not a host"):
        UrlPolicy.from_env("https://api.test", {"FIRMAIO_TRUSTED_HOSTS": "ftp://x"})


# -- limits ---------------------------------------------------------------------------------------


class Pieces(httpx.AsyncByteStream):
    """A body streamed piece by piece, counting what was read of it."""

    def __init__(self, pieces: Callable[[], AsyncIterator[bytes]]) -> None:
        self.pieces, self.read = pieces, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for piece in self.pieces():
            self.read += len(piece)
            yield piece


def body_of(headers: dict[str, str], stream: Pieces, limit: int) -> bytes:
    response = httpx.Response(200, headers=headers, stream=stream)
    return asyncio.run(read_body(response, limit))


def test_an_endless_body_is_cut_just_past_its_limit() -> None:
    async def endless() -> AsyncIterator[bytes]:
        while True:
            yield b"x" * 1000

    stream = Pieces(endless)
    with pytest.raises(TooLarge, match="HTTP 200 with a body over 5000 bytes"):
        body_of({}, stream, 5000)
    assert stream.read <= 6000


def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    async def some() -> AsyncIterator[bytes]:
        yield b"x" * 10

    stream = Pieces(some)
    with pytest.raises(TooLarge):
        body_of({"content-length": "999999"}, stream, 100)
    assert stream.read == 0


def test_a_gzip_bomb_inflates_no_further_than_the_limit() -> None:
    packed = gzip_bomb(32)  # 32 MiB in ~32 kB

    async def once() -> AsyncIterator[bytes]:
        yield packed

    with pytest.raises(TooLarge, match="over 65536 bytes"):
        body_of({"content-encoding": "gzip"}, Pieces(once), 64 * 1024)
    small = zlib.compressobj(wbits=31)
    gz = small.compress(b'{"ok": true}') + small.flush()

    async def fine() -> AsyncIterator[bytes]:
        yield gz

    assert body_of({"content-encoding": "gzip"}, Pieces(fine), 100) == b'{"ok": true}'

    async def cut() -> AsyncIterator[bytes]:
        yield gz[:-6]

    with pytest.raises(Refused, match="ends early"):
        body_of({"content-encoding": "gzip"}, Pieces(cut), 100)


def test_an_encoding_not_asked_for_is_refused() -> None:
    async def some() -> AsyncIterator[bytes]:
        yield b"x"

    with pytest.raises(Refused, match="encoding 'br', not asked for"):
        body_of({"content-encoding": "br"}, Pieces(some), 100)


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="download must be at least 1 byte"):
        AnswerLimits(download=0)
    with pytest.raises(ValueError, match="time limits must be positive"):
        AnswerLimits(call_seconds=0)


def test_a_listing_out_of_shape_is_not_taken_and_each_request_is_read_instead() -> None:
    """A dossier listing whose items are no objects, or carry no usable status: the requests it
    cannot answer for are read on their own, with every check of a read."""
    from firmaio.adapters.batching import DossierStatusReader

    served: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        served.append(request.url.path)
        if request.url.path.endswith("/signature-requests"):
            items = ["junk", {"id": RID, "status": "READY\x1b[2J"}, {"id": "B"}]
            return httpx.Response(200, json={"items": items})
        return httpx.Response(
            200, json={"id": request.url.path.rsplit("/", 1)[1], "status": "READY"}
        )

    async def run() -> list[object]:
        async with IssuerClient(
            "k", base_url="https://api.test/v1", transport=httpx.MockTransport(handler), retry=ONCE
        ) as client:
            reader = DossierStatusReader(client, "01DOSSIER0000000000000000A")
            return list(await asyncio.gather(reader.read_status(RID), reader.read_status("B")))

    answers = asyncio.run(run())
    assert [getattr(a, "status", None) for a in answers] == ["READY", "READY"]
    assert sorted(served)[-2:] == [
        "/v1/signature-requests/01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "/v1/signature-requests/B",
    ]


def test_json_nested_past_the_parser_is_a_malformed_answer_not_a_crash() -> None:
    async def run() -> object:
        deep = "[" * 200_000 + "]" * 200_000
        transport = httpx.MockTransport(lambda _r: httpx.Response(200, text=deep))
        async with IssuerClient(
            "k", base_url="https://api.test/api/v1/sign", transport=transport, retry=ONCE
        ) as client:
            return await client.get_request(RID)

    with pytest.raises(ApiProtocolError, match="a body that is not JSON"):
        asyncio.run(run())


def test_the_service_s_words_are_kept_cut_to_a_record_s_measure() -> None:
    async def run() -> object:
        problem = {"title": "Bad Request", "status": 400, "detail": "x" * 50_000}
        transport = httpx.MockTransport(lambda _r: httpx.Response(400, json=problem))
        async with IssuerClient(
            "k", base_url="https://api.test/api/v1/sign", transport=transport, retry=ONCE
        ) as client:
            return await client.send_notification(RID)

    detail = getattr(asyncio.run(run()), "detail", "")
    assert detail.startswith("x" * 2000)
    assert detail.endswith("... [cut: 50000 characters]")
