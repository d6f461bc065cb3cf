"""The sandbox's own controls under ``/__sandbox/``: citizens, keys, closing, faults, counts.

Each body is validated by a pydantic model before anything changes: a malformed one (not JSON,
not an object, a field missing, of the wrong type or out of range, a field nobody asked for)
answers 400 ``{"error": ..., "problems": [{"field": ..., "problem": ...}]}`` naming every problem,
and the sandbox is left as it was.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .faults import FAULT_KINDS, Fault, SandboxState, fault_problem
from .records import FISCAL_CODE_RE, ApimError, Problem
from .samples import DEMO_DOSSIER

FISCAL_CODE = (
    r"^[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]$"
)


FaultKind = Literal["status", "latency", "drop", "drop_after", "malformed", "truncated", "hang"]
assert set(get_args(FaultKind)) == FAULT_KINDS


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class CitizenBody(_Body):
    fiscal_code: str = Field(pattern=FISCAL_CODE_RE.pattern)
    has_profile: bool = True
    messages_on: bool = True
    push_on: bool = True


class KeyBody(_Body):
    key: str = Field(min_length=1, max_length=256)
    issuer_id: str = Field("sandbox-issuer", min_length=1, max_length=256)
    environment: Literal["prod", "test"] = "prod"
    testers: list[str] = []


class CloseBody(_Body):
    status: Literal["SIGNED", "REJECTED"]
    reason: str = ""


class FaultBody(_Body):
    operation: str = Field("*", min_length=1)
    kind: FaultKind
    times: int = Field(1, ge=1, le=1_000_000)
    status: int = Field(500, ge=100, le=599)
    seconds: float = Field(0.0, ge=0, le=3600)
    detail: str | None = None
    request_id: str | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _fits_operation(self) -> FaultBody:
        """``truncated`` is a download's, ``hang`` a validation's, and so on (faults.py)."""
        problem = fault_problem(self.operation, self.kind)
        if problem is not None:
            raise ValueError(problem)
        return self


class SeedDossier(_Body):
    id: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=3, max_length=256)
    documents_metadata: list[dict[str, Any]] = Field(min_length=1)
    key: str = "sandbox-key"


class SeedDocument(_Body):
    id: str = Field(min_length=1, max_length=64)
    status: Literal["WAIT_FOR_UPLOAD", "READY", "REJECTED"] = "WAIT_FOR_UPLOAD"


class SeedRequest(_Body):
    id: str = Field(min_length=1, max_length=64)
    dossier_id: str = Field(min_length=1, max_length=64)
    fiscal_code: str = Field(pattern=FISCAL_CODE_RE.pattern)
    status: Literal["DRAFT", "READY", "WAIT_FOR_SIGNATURE", "SIGNED", "REJECTED", "CANCELLED"]
    documents: list[SeedDocument] = Field(min_length=1)
    created_at: str
    expires_at: str
    io_message_id: str | None = Field(None, min_length=1)
    key: str = "sandbox-key"


class SeedBody(_Body):
    """Requests as an earlier run left them (``POST /__sandbox/seed``)."""

    citizens: list[CitizenBody] = []
    dossiers: list[SeedDossier] = []
    requests: list[SeedRequest] = []


class ReadyRequestsBody(_Body):
    count: int = Field(1, ge=1, le=100_000)
    key: str = "sandbox-key"
    fiscal_code: str | None = Field(None, pattern=FISCAL_CODE_RE.pattern)
    """The citizen every request is for; None: made-up citizens."""


B = TypeVar("B", bound=_Body)
Control = Callable[[Request], Awaitable[Response]]


class BadBody(Exception):
    """A control's body that does not validate: answered 400 with every problem named."""

    def __init__(self, error: str, problems: list[dict[str, str]] | None = None) -> None:
        super().__init__(error)
        self.response = JSONResponse({"error": error, "problems": problems or []}, 400)


async def parsed(request: Request, model: type[B]) -> B:
    """The request's JSON body as ``model``, or :class:`BadBody`."""
    try:
        body = json.loads(await request.body())
    except ValueError:
        raise BadBody("the body is not JSON") from None
    if not isinstance(body, dict):
        raise BadBody(f"the body must be a JSON object, not {type(body).__name__}")
    try:
        return model.model_validate(body)
    except ValidationError as error:
        problems = [
            {"field": ".".join(map(str, e["loc"])) or "(body)", "problem": e["msg"]}
            for e in error.errors(include_url=False, include_input=False)
        ]
        raise BadBody(f"the body does not fit {model.__name__}", problems) from None


class Controls:
    """The control routes over one :class:`SandboxState`."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.issuer = state.issuer

    async def citizen(self, request: Request) -> Response:
        body = await parsed(request, CitizenBody)
        self.issuer.add_citizen(
            body.fiscal_code,
            has_profile=body.has_profile,
            messages_on=body.messages_on,
            push_on=body.push_on,
        )
        return Response(status_code=204)

    async def key(self, request: Request) -> Response:
        body = await parsed(request, KeyBody)
        self.issuer.add_key(
            body.key, body.issuer_id, environment=body.environment, testers=frozenset(body.testers)
        )
        return Response(status_code=204)

    async def close(self, request: Request) -> Response:
        body = await parsed(request, CloseBody)
        self.issuer.close(request.path_params["id"], body.status, body.reason)
        return Response(status_code=204)

    async def faults(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.state.faults.clear()
            return Response(status_code=204)
        body = await parsed(request, FaultBody)
        self.state.faults.append(Fault(**body.model_dump()))
        return Response(status_code=204)

    async def messages(self, request: Request) -> Response:
        request_id = request.path_params["id"]
        activated = (
            self.issuer.activated_at(request_id) if request_id in self.issuer.requests else None
        )
        return JSONResponse(
            {
                "request_id": request_id,
                "messages": self.issuer.messages.get(request_id, []),
                "sent_at": self.issuer.sent_at.get(request_id, []),
                "activated_at": activated,
            }
        )

    async def seed(self, request: Request) -> Response:
        """Hold the citizens, dossiers and requests of an earlier run, with their ids."""
        body = await parsed(request, SeedBody)
        self.issuer.seed(body.model_dump())
        return Response(status_code=204)

    async def ready_requests(self, request: Request) -> Response:
        """Set up ``count`` READY requests in one new dossier (for benchmarks), for the citizen
        ``fiscal_code`` (a chosen one: as declared, or with messages on unless it starts with X)
        or made-up ones."""
        body = await parsed(request, ReadyRequestsBody)
        issuer = self.issuer.issuer_of(body.key)
        dossier = self.issuer.create_dossier(issuer, DEMO_DOSSIER)["id"]
        ids = []
        for n in range(body.count):
            code = body.fiscal_code or (
                f"RSSMRA80A01H{n % 1000:03d}" + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[n // 1000 % 26]
            )
            ids.append(self.issuer.create_ready_request(body.key, code, dossier))
        return JSONResponse({"dossier_id": dossier, "ids": ids})

    async def requests(self, _request: Request) -> Response:
        """Every request it holds, with its signer id (never the fiscal code), status, uploads
        stored and IO messages sent: what a client made, counted by the service's side."""
        issuer = self.issuer
        return JSONResponse(
            [
                {
                    "id": r.id,
                    "signer_id": r.signer_id,
                    "dossier_id": r.dossier_id,
                    "status": r.status,
                    "uploads": issuer.uploads_received(r.id),
                    "messages": issuer.messages_sent(r.id),
                }
                for r in issuer.requests.values()
            ]
        )

    async def stats(self, _request: Request) -> Response:
        state = self.state
        return JSONResponse(
            {
                "calls": state.calls,
                "calls_by_issuer": state.calls_by_issuer,
                "throttled": state.throttled,
                "uploads": sum(self.issuer.blobs.received.values()),
                "downloads": state.downloads,
            }
        )

    async def timeline(self, request: Request) -> Response:
        """``POST``: keep, from now on, when each API call arrives, per issuer (what was kept
        is dropped); ``GET``: those times (``time.time()``) by issuer, kept or not."""
        state = self.state
        if request.method == "POST":
            state.call_times = {}
        return JSONResponse({"calls": state.call_times or {}})

    def routes(self) -> list[Route]:
        def answered(handler: Control) -> Control:
            async def endpoint(request: Request) -> Response:
                try:
                    return await handler(request)
                except BadBody as bad:
                    return bad.response
                except Problem as problem:
                    return JSONResponse(problem.body(), problem.status)
                except ApimError as error:
                    return JSONResponse({"error": error.message, "problems": []}, error.status)

            return endpoint

        table: list[tuple[str, Control, list[str]]] = [
            ("/__sandbox/citizens", self.citizen, ["POST"]),
            ("/__sandbox/keys", self.key, ["POST"]),
            ("/__sandbox/requests/{id}/close", self.close, ["POST"]),
            ("/__sandbox/faults", self.faults, ["POST", "DELETE"]),
            ("/__sandbox/messages/{id}", self.messages, ["GET"]),
            ("/__sandbox/requests", self.requests, ["GET"]),
            ("/__sandbox/ready-requests", self.ready_requests, ["POST"]),
            ("/__sandbox/seed", self.seed, ["POST"]),
            ("/__sandbox/stats", self.stats, ["GET"]),
            ("/__sandbox/timeline", self.timeline, ["GET", "POST"]),
        ]
        return [Route(path, answered(handler), methods=methods) for path, handler, methods in table]
