"""A hostile stand-in of the issuer API and its blob store, for the tests only.

It answers as an attacker who impersonates the service would: ids that climb out of a folder,
answers about another request, bodies of hundreds of megabytes or with no end, a body that
trickles, a gzip bomb, control characters in a problem's detail, ``javascript:`` and foreign
URLs, redirects. It is served by uvicorn on loopback (the socket is the point: httpx reads what
a real server streams), as a raw ASGI app so that each answer is exactly what it says.

What a request is answered depends on the signature request's id in its path, a scenario's name
(:data:`SCENARIOS`); the set-up calls, which carry no request id, follow :attr:`Hostile.mode`.
Every request it gets is kept in :attr:`Hostile.hits`, so a test can show that nothing reached
``/stolen`` (where foreign URLs and redirects lead).
"""

from __future__ import annotations

import asyncio
import functools
import json
import struct
import threading
import time
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

import uvicorn

from firmaio.adapters.client.probe import DOSSIER_NOT_FOUND

PREFIX = "/api/v1/sign"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
ESCAPES = "\x1b[2J\x1b]0;owned\x07\rsigned by the mayor\u202e"
"""A detail that clears the screen, retitles the window, rewinds the line, reverses the text."""
OTHER_ID = "01BX5ZZKBKACTAV9WEVGEMMVRZ"
MIB = 1024 * 1024
CHUNK = b"A" * (64 * 1024)

Scope = dict[str, Any]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Answer = Callable[[Send, Receive], Awaitable[None]]


@functools.cache
def gzip_bomb(mib: int) -> bytes:
    """A gzip body that inflates to ``mib`` MiB of spaces, in about one kB per MiB: one
    compressed block of a MiB, made independent by a full flush, repeated; then the trailer."""
    block = b" " * MIB
    packer = zlib.compressobj(9, wbits=31)
    first = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    again = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    last = packer.flush()[:-8]  # the final block, without a trailer for two blocks only
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(block, crc)
    trailer = struct.pack("<II", crc, (mib * MIB) & 0xFFFFFFFF)
    return first + again * (mib - 1) + last + trailer


def answer(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Answer:
    """An answer of ``status`` with ``body``, its length declared (unless ``headers`` do)."""
    fields = {"content-length": str(len(body)), **(headers or {})}

    async def respond(send: Send, _receive: Receive) -> None:
        raw = [(k.encode(), v.encode()) for k, v in fields.items()]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})

    return respond


def json_answer(status: int, document: object, kind: str = "application/json") -> Answer:
    return answer(status, json.dumps(document).encode(), {"content-type": kind})


def streamed(
    status: int, first: bytes, *, total: int | None = None, pause: float = 0.0, piece: bytes = CHUNK
) -> Answer:
    """``first``, then ``piece`` again and again (chunked, no length): ``total`` bytes, or until
    the client hangs up; ``pause`` seconds between pieces (a trickle)."""

    async def respond(send: Send, receive: Receive) -> None:
        gone = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.create_task(watch())
        kind = [(b"content-type", b"application/pdf" if first.startswith(b"%PDF") else b"text")]
        await send({"type": "http.response.start", "status": status, "headers": kind})
        sent = 0
        await send({"type": "http.response.body", "body": first, "more_body": True})
        while not gone.is_set() and (total is None or sent < total):
            await send({"type": "http.response.body", "body": piece, "more_body": True})
            sent += len(piece)
            await asyncio.sleep(pause)
        if not gone.is_set():
            await send({"type": "http.response.body", "body": b""})
        watcher.cancel()

    return respond


class Hostile:
    """The stand-in, served on a free loopback port in a background thread."""

    def __init__(self) -> None:
        self.hits: list[tuple[str, str]] = []
        self.mode = "benign"
        """How the set-up calls answer (see :meth:`setup`)."""
        self.escaped_to = "/tmp/escaped-abs"
        """The absolute path the ``traversal-docs`` scenario names as a document id."""
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The base URL of its issuer API."""
        return self.root + PREFIX

    def stolen(self) -> list[tuple[str, str]]:
        """The requests that reached ``/stolen``: where only a followed foreign URL leads."""
        return [hit for hit in self.hits if hit[1].startswith("/stolen")]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        self.hits.append((method, path))
        while (await receive()).get("more_body"):  # the request's body is not read
            pass
        respond = self.route(method, path.removeprefix(PREFIX))
        await respond(send, receive)

    # -- routes -------------------------------------------------------------------------------

    def route(self, method: str, path: str) -> Answer:
        parts = path.strip("/").split("/")
        if parts[0] == "signature-requests" and len(parts) >= 2:
            scenario = parts[1]
            if len(parts) == 2 and method == "GET":
                return self.request(scenario)
            if parts[2:] == ["notification"]:
                return self.notification(scenario)
            if parts[2:] == ["status"]:
                return answer(204)
            if parts[-1] == "upload_url":
                return self.upload_url()
        if parts[0] == "blobs":
            return self.blob(method, parts[1] if len(parts) > 1 else "")
        if parts[0] == "dossiers" and len(parts) == 2 and method == "GET":  # the start's check
            problem = {"title": "Not Found", "status": 404, "detail": DOSSIER_NOT_FOUND}
            return json_answer(404, problem, "application/problem+json")
        if parts[0] == "stolen":
            return answer(200, PDF, {"content-type": "application/pdf"})
        return self.setup(method, parts[0])

    def view(self, request_id: str, status: str, **fields: Any) -> dict[str, Any]:
        return {
            "id": request_id,
            "status": status,
            "dossier_id": OTHER_ID,
            "signer_id": "929bf158-5d4a-4d63-a0b4-5c0d1a6bd1f0",
            "documents": [],
            **fields,
        }

    def document(self, document_id: str, blob: str) -> dict[str, Any]:
        url = blob if ":" in blob else f"{self.root}/blobs/{blob}"
        return {"id": document_id, "status": "READY", "url": url, "metadata": {"title": "x"}}

    def signed(self, request_id: str, *documents: tuple[str, str], **fields: Any) -> Answer:
        docs = [self.document(d, blob) for d, blob in documents]
        return json_answer(200, self.view(request_id, "SIGNED", documents=docs, **fields))

    def request(self, scenario: str) -> Answer:
        """``GET /signature-requests/{scenario}``: a request WAIT_FOR_SIGNATURE, unless the
        scenario says otherwise."""
        rid = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
        gzipped = {"content-type": "application/json", "content-encoding": "gzip"}
        qr_codes = {
            "javascript-qr": "javascript:alert(document.domain)",
            "foreign-qr": "https://evil.example/qrcode.png?feat=firma&srid=x",
        }
        downloads = {
            "download-foreign": f"http://localhost:{self.port}/stolen/doc",
            "download-javascript": "javascript:alert(document.domain)",
        }
        answers: dict[str, Callable[[], Answer]] = {
            "traversal-docs": lambda: self.signed(
                scenario, ("../../../escaped-rel", "pdf"), (self.escaped_to, "pdf")
            ),
            "traversal-request": lambda: self.signed("../../../x", (rid, "pdf")),
            "mismatched": lambda: self.signed(OTHER_ID, (rid, "pdf")),
            "dotted": lambda: self.signed(scenario, ("modulo.firmato.v2", "pdf")),
            "big-500": lambda: streamed(500, b'{"detail": "', total=400 * MIB),
            "big-200": lambda: streamed(200, b'{"id": "big-200", "pad": "', total=300 * MIB),
            "gzip-bomb": lambda: answer(200, gzip_bomb(256), gzipped),
            "trickle": lambda: streamed(200, b'{"id": "trickle", ', pause=0.05, piece=b" "),
            "redirect-api": lambda: answer(307, b"", {"location": f"{self.root}/stolen"}),
        }
        if scenario in answers:
            return answers[scenario]()
        if scenario.startswith("download-"):  # a SIGNED request whose document is <scenario>
            return self.signed(scenario, (rid, downloads.get(scenario, scenario)))
        fields = {"qr_code_url": qr_codes[scenario]} if scenario in qr_codes else {}
        return json_answer(200, self.view(scenario, "WAIT_FOR_SIGNATURE", **fields))

    def notification(self, scenario: str) -> Answer:
        if scenario == "escape-detail":
            problem = {"title": "Bad Request", "status": 400, "detail": ESCAPES}
            return json_answer(400, problem, "application/problem+json")
        return json_answer(200, {"io_message_id": "01G7VBM888NDGCMA84ZVZYJGZQ"})

    def blob(self, method: str, name: str) -> Answer:
        """The blob store: documents to download, the upload's answer."""
        if method == "PUT":
            if self.mode == "big-upload-answer":
                return streamed(201, b"<ok>", total=500 * MIB)
            return answer(201)
        return {
            "pdf": answer(200, PDF, {"content-type": "application/pdf"}),
            "download-endless": streamed(200, b"%PDF-1.4\n"),
            "download-big-error": streamed(500, b"<Error><Code>"),
            "download-redirect": answer(302, b"", {"location": f"{self.root}/stolen/doc"}),
        }.get(name, answer(404))

    def upload_url(self) -> Answer:
        where = {
            "foreign-upload": "http://localhost:{port}/stolen/upload?sig=x",
            "javascript-upload": "javascript:alert(1)",
        }.get(self.mode, "{root}/blobs/upload?sig=x")
        return json_answer(200, where.format(port=self.port, root=self.root))

    def setup(self, method: str, what: str) -> Answer:
        """The set-up calls, which carry no request id: :attr:`mode` says how they answer."""
        if what == "signers":
            signer = ESCAPES if self.mode == "escape-signer" else "929bf158-5d4a-4d63-a0b4"
            return json_answer(200, {"id": signer})
        if what == "validate-document":
            return json_answer(200, {"is_valid": True})
        if what == "dossiers":
            return json_answer(201, {"id": OTHER_ID, "title": "t", "documents_metadata": []})
        if what == "signature-requests" and method == "POST":
            made = "../../../x" if self.mode == "traversal-created" else "made-" + self.mode
            document = {"id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "status": "WAIT_FOR_UPLOAD"}
            return json_answer(201, self.view(made, "DRAFT", documents=[document]))
        return answer(404)

    # -- serving ------------------------------------------------------------------------------

    def start(self) -> Hostile:
        config = uvicorn.Config(
            self, host="127.0.0.1", port=0, log_level="critical", lifespan="off", access_log=False
        )
        self._server = server = uvicorn.Server(config)
        self._thread = threading.Thread(target=server.run, name="hostile", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the hostile stand-in could not start")
            time.sleep(0.01)
        self.port = server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)


SCENARIOS = (
    "traversal-docs", "traversal-request", "mismatched", "dotted", "big-500", "big-200",
    "gzip-bomb", "trickle", "download-endless", "download-big-error", "download-redirect",
    "download-foreign", "download-javascript", "javascript-qr", "foreign-qr", "redirect-api",
    "escape-detail",
)  # fmt: skip
"""The request ids the stand-in knows; any other is a request WAIT_FOR_SIGNATURE."""
