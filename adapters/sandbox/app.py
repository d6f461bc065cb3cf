"""The sandbox's HTTP face: the issuer API's routes, the gateway in front, the controls."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..ratelimit import SlidingWindow
from .controls import Controls
from .faults import Dropped, Fault, Received, SandboxState
from .pdf import document_violations
from .records import ApiKey, ApimError, Json, Problem, check_signature_fields
from .storage import Storage

PREFIX = "/api/v1/sign"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; upgrade-insecure-requests",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
}
MISSING_KEY = (
    "Access denied due to missing subscription key. Make sure to include subscription key when "
    "making requests to an API."
)
INVALID_KEY = (
    "Access denied due to invalid subscription key. Make sure to provide a valid key for an "
    "active subscription."
)


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})})


def _problem(problem: Problem) -> Response:
    return Response(
        json.dumps(problem.body()),
        status_code=problem.status,
        media_type="application/problem+json",
        headers=SECURITY_HEADERS,
    )


def _apim(error: ApimError, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(error.body(), status_code=error.status, headers=headers)


Handler = Callable[[Request, ApiKey], Awaitable[Response]]


async def _body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw)
    except ValueError:
        raise Problem(422, violations=["Invalid value supplied to : body (not JSON)"]) from None


class SandboxApp:
    """The routes of the sandbox over one :class:`SandboxState`."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.issuer = state.issuer

    # -- the gateway and the faults around every API operation -----------------------------

    def _gateway(self, request: Request) -> tuple[str, SlidingWindow] | Response:
        """APIM's checks: a known subscription key, within its rate limit."""
        key = request.headers.get("ocp-apim-subscription-key")
        if not key:
            return _apim(ApimError(401, MISSING_KEY))
        if key not in self.issuer.keys:
            return _apim(ApimError(401, INVALID_KEY))
        window = self.state.window(key)
        if not window.try_acquire():
            self.state.throttled += 1
            wait = max(1, round(window.wait_time() + 0.5))
            return _apim(
                ApimError(429, f"Rate limit is exceeded. Try again in {wait} seconds."),
                {"x-rate-limit-retry-after": str(wait), "Retry-After": str(wait)},
            )
        return key, window

    @staticmethod
    async def _fault_before(fault: Fault | None, name: str, request: Request) -> Response | None:
        if fault is None:
            return None
        if fault.kind == "latency" and name == "sendNotification":
            request.state.pause = fault.seconds  # slow where the real service is slow
        elif fault.kind == "latency":
            await asyncio.sleep(fault.seconds)
        elif fault.kind == "drop":
            return Dropped(name)
        elif fault.kind == "status":
            default = (
                "Too many requests!" if fault.status == 429 else "The message cannot be delivered."
            )
            return _problem(Problem(fault.status, fault.detail or default))
        return None

    @staticmethod
    def _fault_after(fault: Fault | None, name: str, response: Response) -> Response:
        if fault is not None and fault.kind == "drop_after":
            return Dropped(name)
        if fault is not None and fault.kind == "malformed":
            return Response(
                "<html>Bad Gateway</html>", status_code=200, media_type="application/json"
            )
        return response

    def operation(self, name: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """Wrap ``handler`` in the gateway, the faults and the service's error mapping."""

        async def endpoint(request: Request) -> Response:
            passed = self._gateway(request)
            if isinstance(passed, Response):
                return passed
            key, window = passed
            self.state.calls[name] = self.state.calls.get(name, 0) + 1
            issuer = self.issuer.keys[key].issuer_id
            self.state.calls_by_issuer[issuer] = self.state.calls_by_issuer.get(issuer, 0) + 1
            if self.state.call_times is not None:
                self.state.call_times.setdefault(issuer, []).append(time.time())
            fault = self.state.take_fault(name, request.path_params.get("id"))
            early = await self._fault_before(fault, name, request)
            if early is not None:
                return early
            try:
                response = await handler(request, self.issuer.keys[key])
            except Problem as problem:
                response = _problem(problem)
            except ApimError as error:
                response = _apim(error)
            response.headers["x-rate-limit-remaining"] = str(window.remaining())
            return self._fault_after(fault, name, response)

        return endpoint

    # -- the issuer API -------------------------------------------------------------------

    async def create_dossier(self, request: Request, key: ApiKey) -> Response:
        return _json(self.issuer.create_dossier(key, await _body(request)), 201)

    async def get_dossier(self, request: Request, key: ApiKey) -> Response:
        return _json(self.issuer.get_dossier(key, request.path_params["dossierId"]))

    async def list_requests(self, request: Request, key: ApiKey) -> Response:
        query = request.query_params
        page = self.issuer.list_requests(
            key,
            request.path_params["dossierId"],
            query.get("continuationToken"),
            query.get("limit"),
        )
        return _json(page)

    async def get_signer(self, request: Request, key: ApiKey) -> Response:
        return _json(self.issuer.get_signer(key, await _body(request)), 200)

    async def create_request(self, request: Request, key: ApiKey) -> Response:
        return _json(self.issuer.create_request(key, await _body(request)), 201)

    async def get_request(self, request: Request, key: ApiKey) -> Response:
        return _json(self.issuer.get_request(key, request.path_params["id"]))

    async def set_status(self, request: Request, key: ApiKey) -> Response:
        self.issuer.set_status(key, request.path_params["id"], (await request.body()).decode())
        return Response(status_code=204, headers=SECURITY_HEADERS)

    async def upload_url(self, request: Request, key: ApiKey) -> Response:
        params = request.path_params
        return _json(self.issuer.upload_url(key, params["id"], params["documentId"]))

    async def notify(self, request: Request, key: ApiKey) -> Response:
        checked = self.issuer.check_notifiable(key, request.path_params["id"])
        pause = getattr(request.state, "pause", 0.0)
        if pause:  # the service's slow call to IO, between its checks and the send
            await asyncio.sleep(pause)
        return _json(self.issuer.deliver_notification(checked), 200)

    async def validate_document(self, request: Request, key: ApiKey) -> Response:
        """Parts are picked by content type, not by name, as the service does (API-NOTES §1.3.7):
        one PDF, at most one JSON array of signature fields; then the checks of :mod:`.pdf`."""
        del key
        wanted = ("application/pdf", "application/json")
        parts: dict[str, list[bytes]] = {kind: [] for kind in wanted}
        async with request.form() as form:  # closes the spooled upload files
            for _name, part in form.multi_items():
                content_type = getattr(part, "content_type", None)
                if content_type in wanted and not isinstance(part, str):
                    parts[content_type].append(await part.read())
        pdfs, jsons = parts["application/pdf"], parts["application/json"]
        if len(pdfs) != 1 or len(jsons) > 1:
            raise Problem(400, MISSING_PARTS)
        fields: list[Json] = []
        if jsons:
            try:
                raw = json.loads(jsons[0])
            except ValueError:
                raise Problem(400, BAD_FIELDS) from None
            fields = check_signature_fields(raw, "signature_fields")
        violations = document_violations(pdfs[0], fields)
        if violations:
            return _json({"is_valid": False, "violations": violations})
        return _json({"is_valid": True})

    def routes(self) -> list[Route]:
        api: list[tuple[str, str, str, Handler]] = [
            ("POST", "/dossiers", "createDossier", self.create_dossier),
            ("GET", "/dossiers/{dossierId}", "getDossier", self.get_dossier),
            (
                "GET",
                "/dossiers/{dossierId}/signature-requests",
                "getRequestsByDossier",
                self.list_requests,
            ),
            ("POST", "/signers", "getSignerByFiscalCode", self.get_signer),
            ("POST", "/signature-requests", "createSignatureRequest", self.create_request),
            ("GET", "/signature-requests/{id}", "getSignatureRequest", self.get_request),
            (
                "PUT",
                "/signature-requests/{id}/status",
                "setSignatureRequestStatus",
                self.set_status,
            ),
            (
                "GET",
                "/signature-requests/{id}/documents/{documentId}/upload_url",
                "getDocumentUploadUrl",
                self.upload_url,
            ),
            ("PUT", "/signature-requests/{id}/notification", "sendNotification", self.notify),
            ("POST", "/validate-document", "validateDocument", self.validate_document),
        ]
        routes = [
            Route(PREFIX + path, self.operation(name, handler), methods=[method], name=name)
            for method, path, name, handler in api
        ]
        return [*routes, *Storage(self.state).routes(PREFIX), *Controls(self.state).routes()]


MISSING_PARTS = (
    "missing files: the pdf document to be validated and a json document containing the "
    "signature fields"
)
BAD_FIELDS = "unable to get the signature fields: the given file is not a valid json file"


def build_app(state: SandboxState) -> Starlette:
    """The sandbox's ASGI app over ``state``; every request is kept in ``state.received`` when
    it is a list (:class:`Recorder`)."""
    return Starlette(routes=SandboxApp(state).routes(), middleware=[Middleware(Recorder, state)])


class Recorder:
    """ASGI middleware: with ``state.received`` a list, each request (method, path with query,
    the whole body) is appended to it before the app answers."""

    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kept = self.state.received
        if scope["type"] != "http" or kept is None:
            await self.app(scope, receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False) and message["type"] == "http.request"
        query = scope.get("query_string", b"").decode("latin-1")
        kept.append(Received(scope["method"], scope["path"] + (f"?{query}" if query else ""), body))
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)
