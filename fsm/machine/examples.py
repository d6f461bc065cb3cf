"""Made-up ids and URLs, shaped as the issuer API gives them: the guards' witness answers carry
them, and :mod:`fsm.testing` hands them to test suites."""

from __future__ import annotations

EXAMPLE_REQUEST_ID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
EXAMPLE_IO_MESSAGE_ID = "01G7VBM888NDGCMA84ZVZYJGZQ"
EXAMPLE_QR_CODE_URL = (
    "https://continua.io.pagopa.it/qrcode.png?feat=firma&srid=01ARZ3NDEKTSV4RRFFQ69G5FAV"
)

EXAMPLE_SIGNER_ID = "4d2b7bd4-71b1-4c63-9b5a-8b3b4b8c8f11"
EXAMPLE_DOSSIER_ID = "01GG4NFBCN4ZH8ETCCKX3A6V4J"
EXAMPLE_DOCUMENT_ID = "01GG4NFBCN4ZH8ETCCKX3A6V4K"
EXAMPLE_NEW_REQUEST_ID = "01GG4NFBCN4ZH8ETCCKX3A6V4H"
"""The id the service gives the request a flow from a PDF makes (its flow has an id of its own)."""
EXAMPLE_UPLOAD_URL = "https://blob.example/uploads/01GG4NFBCN4ZH8ETCCKX3A6V4K?sig=example"
