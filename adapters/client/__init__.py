"""The Firma con IO issuer API over httpx: the core's ``SignatureApi`` port, and the set-up calls.

:mod:`.transport` makes one call and retries it; :mod:`.answers` turns answers into the core's
values; :mod:`.issuer` holds :class:`IssuerClient`, the calls themselves, and the rule that no
citizen ever gets two messages; :mod:`.setup_calls` and :mod:`.blob` the set-up's calls to the
API and the blob store, :mod:`.setup` the core's ``SetupApi`` over them.
"""

from __future__ import annotations

from .answers import IO_CATCH_ALLS, MESSAGES_DISABLED, NO_IO_PROFILE, Refusal, request_answer
from .issuer import IssuerClient
from .models import (
    DocumentValidation,
    DocumentView,
    Dossier,
    RequestListItem,
    SignatureRequestView,
    UploadUrl,
)
from .setup import DownloadRefused, IssuerSetup, order_from_pdf, setup_for
from .transport import DEFAULT_BASE_URL, DEFAULT_TIMEOUT, MAX_CONNECTIONS, RetryPolicy

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_TIMEOUT",
    "IO_CATCH_ALLS",
    "MAX_CONNECTIONS",
    "MESSAGES_DISABLED",
    "NO_IO_PROFILE",
    "DocumentValidation",
    "DocumentView",
    "Dossier",
    "DownloadRefused",
    "IssuerClient",
    "IssuerSetup",
    "Refusal",
    "RequestListItem",
    "RetryPolicy",
    "SignatureRequestView",
    "UploadUrl",
    "order_from_pdf",
    "request_answer",
    "setup_for",
]
