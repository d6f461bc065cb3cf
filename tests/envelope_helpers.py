"""The JSON envelope every ``firmaio`` command prints under ``--json``, checked against the schema
the package ships (``firmaio/adapters/cli/envelope.schema.json``)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from firmaio.adapters.cli.envelope import SCHEMA_PATH

SCHEMA = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(
    SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)


def enveloped(text: str) -> dict[str, Any]:
    """``text`` parsed as one JSON document, which must follow the envelope's schema (its
    errors listed when not); the flow id is never named ``signature_request_id``."""
    document: dict[str, Any] = json.loads(text)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in
              VALIDATOR.iter_errors(document)]  # fmt: skip
    assert not errors, "\n".join(errors)
    assert "signature_request_id" not in text
    return document
