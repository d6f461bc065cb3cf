"""The Firma con IO issuer API over httpx: the core's ``SignatureApi`` port, and the set-up calls.

:mod:`.transport` makes one call and retries it; :mod:`.answers` turns answers into the core's
values; :mod:`.issuer` holds :class:`IssuerClient`, the calls themselves, and the rule that no
citizen ever gets two messages; :mod:`.setup_calls` and :mod:`.blobs` the set-up's calls to the
API and the blob store (a refusal as a :class:`Refusal` value from their ``try_`` calls),
:mod:`.setup` the core's ``SetupApi`` over them. Nothing an answer holds is trusted beyond its
documented shape: :mod:`.limits` bounds every body and call, :mod:`.urls` says which URLs are
followed, and ids are checked by the rule for ids typed by a user.
"""

from __future__ import annotations

from .answers import IO_CATCH_ALLS, MESSAGES_DISABLED, NO_IO_PROFILE, Refusal, request_answer
from .blobs import DownloadRefused
from .issuer import IssuerClient
from .limits import DEFAULT_LIMITS, AnswerLimits
from .models import (
    DocumentValidation,
    DocumentView,
    Dossier,
    RequestListItem,
    SignatureRequestView,
    UploadUrl,
)
from .orders import document_from_pdf, order_from_pdf
from .probe import check_settings
from .setup import IssuerSetup, setup_for
from .transport import DEFAULT_BASE_URL, DEFAULT_TIMEOUT, MAX_CONNECTIONS, RetryPolicy
from .urls import TRUSTED_HOSTS_ENV, UrlPolicy

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_LIMITS",
    "DEFAULT_TIMEOUT",
    "IO_CATCH_ALLS",
    "MAX_CONNECTIONS",
    "MESSAGES_DISABLED",
    "NO_IO_PROFILE",
    "TRUSTED_HOSTS_ENV",
    "AnswerLimits",
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
    "UrlPolicy",
    "check_settings",
    "document_from_pdf",
    "order_from_pdf",
    "request_answer",
    "setup_for",
]
