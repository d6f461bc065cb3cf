"""The sandbox: a local Firma con IO issuer API, for tests, demos and integration work.

A Starlette app over :class:`~.issuer.SimulatedIssuer`, served by uvicorn on loopback
(``firmaio sandbox --port 7071``). It answers the routes of ``apim-issuer-v1/openapi.yaml`` under
``/api/v1/sign`` with the real service's status codes and bodies, and emulates the API gateway in
front of it: the subscription key (APIM's 401 bodies), a test key's testers (403), and the rate
limit of 150 calls per 5 seconds per key with ``x-rate-limit-remaining`` and
``x-rate-limit-retry-after`` headers.

Beside the API, not part of it:

* ``/api/v1/sign/__blob/...``: the blob store's stand-in, where the upload URLs and a SIGNED
  request's document URLs point, with Azure's SAS URLs, expiries and XML errors
  (:mod:`.storage`; docs/sandbox-documents.md);
* ``/__sandbox/...``: controls for tests and demos: declare citizens and keys, close a request as
  SIGNED or REJECTED, inject faults per operation, count the IO messages sent per request.

Documents are checked as the real service checks them (:mod:`.pdf`, with pypdf): by
``POST /validate-document`` and by the asynchronous validation after an upload. :mod:`.samples`
has PDFs to upload: :data:`MINIMAL_PDF` (a blank A4 page) and :data:`SAMPLE_PDF`
(``examples/documents/modulo.pdf``, with the signature field of :data:`SAMPLE_PDF_FIELDS`).

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

Three operations are not the API's, and a fault for ``*`` never reaches them:
``uploadDocument`` (the blob ``PUT``: ``status``, ``latency``, ``drop``, ``drop_after``),
``downloadDocument`` (a signed document's ``GET``: ``status``, ``latency``, ``drop``,
``malformed``, which serves the PDF as ``text/html``, and ``truncated``, which declares the whole
length, sends half and breaks off) and ``validateUpload`` (``hang``: the next upload's validation
never ends). A fault with ``request_id`` applies only to calls about that request.
"""

from __future__ import annotations

from .app import SandboxApp, build_app
from .faults import Fault, Received, SandboxState
from .issuer import SimulatedIssuer
from .pdf import NOT_A_PDF, document_violations
from .records import ApiKey, ApimError, Problem
from .samples import DEMO_DOSSIER, MINIMAL_PDF, SAMPLE_PDF, SAMPLE_PDF_FIELDS
from .server import Sandbox, serve

__all__ = [
    "DEMO_DOSSIER",
    "MINIMAL_PDF",
    "NOT_A_PDF",
    "SAMPLE_PDF",
    "SAMPLE_PDF_FIELDS",
    "ApiKey",
    "ApimError",
    "Fault",
    "Problem",
    "Received",
    "Sandbox",
    "SandboxApp",
    "SandboxState",
    "SimulatedIssuer",
    "build_app",
    "document_violations",
    "serve",
]
