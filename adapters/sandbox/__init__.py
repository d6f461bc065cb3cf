"""The sandbox: a local Firma con IO issuer API, for tests, demos and integration work.

A Starlette app over :class:`~.issuer.SimulatedIssuer`, served by uvicorn on loopback
(``firmaio sandbox --port 7071``). It answers the routes of ``apim-issuer-v1/openapi.yaml`` under
``/api/v1/sign`` with the real service's status codes and bodies, and emulates the API gateway in
front of it: the subscription key (APIM's 401 bodies), a test key's testers (403), and the rate
limit of 150 calls per 5 seconds per key with ``x-rate-limit-remaining`` and
``x-rate-limit-retry-after`` headers.

Beside the API, not part of it:

* ``PUT /api/v1/sign/__blob/uploaded-documents/{upload}``: the blob store's stand-in, where the
  upload URLs point;
* ``/__sandbox/...``: controls for tests and demos: declare citizens and keys, close a request as
  SIGNED or REJECTED, inject faults per operation, count the IO messages sent per request.

Faults (``POST /__sandbox/faults``, JSON ``{"operation": ..., "kind": ..., "times": N}``), taken in
order per operation (``*`` for any):

=================  ==============================================================================
``status``         answer ``status`` (500, 503, 429, 400...) with a problem body (``detail``)
``latency``        wait ``seconds`` before handling; for ``sendNotification``, between the checks
                   and the send, where the real service calls IO (a retry may overlap it)
``drop``           drop the connection before handling: nothing happened
``drop_after``     handle, then drop the connection: the answer is lost after the message was sent
``malformed``      handle, then answer 200 with a body that is not JSON
=================  ==============================================================================
"""

from __future__ import annotations

from .app import SandboxApp, build_app
from .faults import Fault, SandboxState
from .issuer import SimulatedIssuer
from .records import DEMO_DOSSIER, MINIMAL_PDF, ApiKey, ApimError, Problem
from .server import Sandbox, serve

__all__ = [
    "DEMO_DOSSIER",
    "MINIMAL_PDF",
    "ApiKey",
    "ApimError",
    "Fault",
    "Problem",
    "Sandbox",
    "SandboxApp",
    "SandboxState",
    "SimulatedIssuer",
    "build_app",
    "serve",
]
