"""Whose answer it is: the issuer API's own problems, and the error for an answer that is not.

A flow closes only on the service's own word. The service answers an error with a problem
(API-NOTES §3.1): ``application/problem+json`` (its spec says ``application/json``) holding
``title``, ``status`` (the HTTP status) and ``detail``. :func:`service_detail` reads an error
answer as the service's only in that shape (with ``application/json``, all three fields), and a
404 only with one of the texts the notes give (:data:`NOT_FOUND_DETAILS`): a gateway in front of
another service may speak problem JSON too.

Anything else (a proxy's empty or HTML 404, a gateway's 403 page, text, a JSON of another shape,
a redirect) says the base URL, a proxy or the network leads somewhere else: :func:`not_the_service`
makes it an :class:`~firmaio.fsm.errors.ApiConfigurationError` (a 3xx or 4xx: fix the setting)
or an :class:`~firmaio.fsm.errors.ApiUnavailable` (a 5xx), whose message quotes the evidence
(:mod:`.evidence`): the status, the content type and the first bytes of the body as sent,
control characters escaped, fiscal codes, URL signatures and the API key masked.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import httpx

from firmaio.fsm.errors import ApiConfigurationError, ApiError, ApiUnavailable

from .answers import NO_IO_PROFILE, Transient, cut
from .evidence import evidence_of, masked, media_type

REQUEST_NOT_FOUND = "The specified Signature Request does not exist."
DOSSIER_NOT_FOUND = "The specified dossier was not found"
DOCUMENT_NOT_FOUND = "Document"
"""What the service answers for a document id the request does not have (API-NOTES §1.3.6)."""
NOT_FOUND_DETAILS = frozenset(
    {REQUEST_NOT_FOUND, DOSSIER_NOT_FOUND, DOCUMENT_NOT_FOUND, NO_IO_PROFILE}
)
"""The details of the service's own 404s (API-NOTES §1.3.2, §1.3.3, §1.3.6, §3.2)."""

PROBLEM_TYPES = frozenset({"application/problem+json", "application/json"})


def service_detail(response: httpx.Response) -> str | None:
    """The ``detail`` of ``response`` if it is one of the service's problems (see the module's
    docstring), else None. The detail is returned as sent: match it, then record it masked."""
    kind = media_type(response)
    if kind not in PROBLEM_TYPES or response.status_code < 400:
        return None
    try:
        body = json.loads(response.content)
    except (ValueError, RecursionError):
        return None
    if not isinstance(body, dict) or not isinstance(body.get("detail"), str):
        return None
    title, status = body.get("title"), body.get("status")
    if kind == "application/json" and (title is None or status is None):
        return None  # plain JSON is the service's only in the problem's whole shape
    if title is not None and not isinstance(title, str):
        return None
    if status is not None and (type(status) is not int or status != response.status_code):
        return None
    detail = body["detail"]
    if response.status_code == 404 and detail not in NOT_FOUND_DETAILS:
        return None
    return str(detail)


def not_the_service(
    operation: str, response: httpx.Response, secrets: Iterable[str] = ()
) -> ApiError:
    """The error for an answer that is not the service's word (see the module's docstring),
    its evidence quoted and its HTTP status kept on the error (``http_status``)."""
    said = evidence_of(response, secrets)
    status = response.status_code
    error: ApiError
    if 300 <= status < 400:
        error = ApiConfigurationError(
            f"{operation}: {said}: a redirect, which is never followed; check the base URL (its "
            "scheme, host and path, which ends in /api/v1/sign)"
        )
    elif status >= 500:
        error = ApiUnavailable(f"{operation}: {said}: not an answer of the issuer API")
    else:
        error = ApiConfigurationError(
            f"{operation}: {said}: not an answer of the issuer API; check the base URL (its path "
            "ends in /api/v1/sign) and any proxy or gateway in between"
        )
    error.http_status = status
    return error


def said(detail: str, secrets: Iterable[str] = ()) -> str:
    """The service's ``detail`` as a record keeps it: masked (:func:`masked`), cut to a record's
    measure (:func:`~.answers.cut`); control characters are kept (the store holds what was
    said; whatever prints it escapes them)."""
    return cut(masked(detail, secrets))


def detail_or_error(operation: str, response: httpx.Response, secrets: Iterable[str] = ()) -> str:
    """The detail of the service's problem ``response``, an error answer that is not the call's
    own; else raise: :func:`not_the_service` for an error answer that is not the service's, a
    malformed answer (:class:`~.answers.Transient`) for a 2xx that is not the call's."""
    if response.is_success:
        raise Transient(
            f"an unexpected {evidence_of(response, secrets)}",
            malformed=True,
            status=response.status_code,
        )
    detail = service_detail(response)
    if detail is None:
        raise not_the_service(operation, response, secrets)
    return detail
