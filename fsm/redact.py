"""Keep secrets and personal data out of audit records, logs and exceptions.

Fiscal codes are personal data; API keys are secrets. Text that comes from outside (problem
details, violations, error messages) passes through :func:`redact_text` before it is recorded.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any

FISCAL_CODE = re.compile(
    r"(?<![A-Za-z0-9])[A-Za-z]{6}[0-9LMNPQRSTUVlmnpqrstuv]{2}[ABCDEHLMPRSTabcdehlmprst]"
    r"[0-9LMNPQRSTUVlmnpqrstuv]{2}[A-Za-z][0-9LMNPQRSTUVlmnpqrstuv]{3}[A-Za-z](?![A-Za-z0-9])"
)
"""An Italian personal fiscal code (with omocodia letters), anywhere in a text."""

FISCAL_CODE_MASK = "[fiscal-code]"
SECRET_MASK = "[redacted]"

SECRET_KEYS = frozenset(
    {"api_key", "key", "ocp-apim-subscription-key", "subscription_key", "authorization"}
)
"""Event-dict keys whose values are never shown."""


def redact_text(text: str) -> str:
    """``text`` with every fiscal code masked."""
    return FISCAL_CODE.sub(FISCAL_CODE_MASK, text)


def redact_secrets(
    _logger: object, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A structlog processor: mask secret keys and fiscal codes in every string value."""
    for key, value in event_dict.items():
        if key.lower() in SECRET_KEYS:
            event_dict[key] = SECRET_MASK
        elif isinstance(value, str):
            event_dict[key] = redact_text(value)
    return event_dict
