"""What an administration asks for when it starts a flow from a PDF: an :class:`Order`.

An order names the PDF (its path, size and SHA-256), the signature fields the citizen will fill,
the document and dossier titles (or an existing dossier), the request's expiry, and the citizen's
fiscal code. Everything but the fiscal code is written, as facts, on the flow's first record, so
a flow can be resumed from the store alone; the fiscal code is personal data: it is held in
memory only until ``find_signer`` has turned it into a signer id, and never recorded, logged or
put in an exception (:func:`check_fiscal_code` says what is wrong without repeating it).

The fiscal code goes to ``POST /signers`` and nowhere else: what else an order sends (titles,
signature fields, the support e-mail) is stored by the service and shown in the IO app, so an
order whose values hold a fiscal code is refused, naming the field; a default title made from a
file's name (:func:`default_title`) has it taken out.

The checks here are the service's own (API-NOTES §1.3.2, §1.3.4): a bad order is refused before
any call, with an error naming the field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from ..errors import InvalidInput

FISCAL_CODE = re.compile(
    r"[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]"
)
"""The pattern of a personal fiscal code, as the service checks it (API-NOTES §1.3.1)."""

CLAUSE_TYPES = ("REQUIRED", "UNFAIR", "OPTIONAL")
DEFAULT_VALIDATION_TIMEOUT = 300.0
"""Seconds the service may take to validate an uploaded document before the flow fails."""
DEFAULT_ACTIVATION_TIMEOUT = 120.0
"""Seconds a request may stay READY before its flow fails (the page says "alcuni secondi")."""
_SHA256 = re.compile(r"[0-9a-f]{64}")
_ANY_FISCAL_CODE = re.compile(
    r"[\s_.-]*[A-Za-z]{6}[0-9LMNPQRSTUVlmnpqrstuv]{2}[ABCDEHLMPRSTabcdehlmprst]"
    r"[0-9LMNPQRSTUVlmnpqrstuv]{2}[A-Za-z][0-9LMNPQRSTUVlmnpqrstuv]{3}[A-Za-z][\s_.-]*"
)
"""A fiscal code's shape in any case, wherever it stands in a text (inside a word too), with
the separators around it."""
DEFAULT_TITLE = "Documento"
"""The document title when a file's name leaves fewer than 3 characters."""


def units(text: str) -> int:
    """``text``'s length as the service counts it (UTF-16 code units, JavaScript's length)."""
    return len(text.encode("utf-16-le")) // 2


def holds_fiscal_code(text: str) -> bool:
    """Whether ``text`` holds something of a fiscal code's shape, in any case, anywhere."""
    return _ANY_FISCAL_CODE.search(text) is not None


def default_title(name: str) -> str:
    """A document title made from a file's name (its stem, ``domanda-VRDGPP75C12F205X``): any
    fiscal code taken out with the separators around it, spaces collapsed, cut to 60 characters;
    :data:`DEFAULT_TITLE` (followed by what is left) when fewer than 3 remain. It never holds a
    fiscal code, and always has the 3 to 60 characters the service takes."""
    left = " ".join(_ANY_FISCAL_CODE.sub(" ", name).split()).strip(" -_.")
    title = left if units(left) >= 3 else f"{DEFAULT_TITLE} {left}".strip()
    while units(title) > 60:
        title = title[:-1]
    return title.rstrip() if units(title.rstrip()) >= 3 else title


def _no_fiscal_code(value: str | None, what: str) -> None:
    """Refuse ``value`` if it holds a fiscal code, naming ``what`` (never the value)."""
    if value is not None and holds_fiscal_code(value):
        raise InvalidInput(
            f"the {what} holds a fiscal code: the service keeps it and shows it in the IO app, "
            "and the fiscal code goes to POST /signers only; write it without"
        )


def check_fiscal_code(value: object) -> str:
    """Return ``value`` if it is a fiscal code's shape, else raise naming what is wrong (never
    the value itself: it is personal data)."""
    if not isinstance(value, str):
        raise InvalidInput(f"the fiscal code must be a string, got {type(value).__name__}")
    if not FISCAL_CODE.fullmatch(value):
        raise InvalidInput(
            f"the fiscal code is not a personal fiscal code ({len(value)} characters; 16 "
            "upper-case letters and digits in the pattern AAAAAA00A00A000A were expected)"
        )
    return value


def check_fields(fields: object) -> tuple[dict[str, Any], ...]:
    """The signature fields of a document, checked as the service checks them (API-NOTES
    §1.3.2): each names an existing field (``attrs.unique_name``) or one to create
    (``attrs.coordinates``, ``attrs.page``, ``attrs.size``), with a clause whose title has 5 to
    79 characters; at least one clause must not be OPTIONAL."""
    if not isinstance(fields, Sequence) or isinstance(fields, str | bytes) or not fields:
        raise InvalidInput("the signature fields must be a non-empty list")
    checked = tuple(_check_field(item, index) for index, item in enumerate(fields))
    if all(item["clause"]["type"] == "OPTIONAL" for item in checked):
        raise InvalidInput("the signature fields need at least one clause that is not OPTIONAL")
    return checked


def signature_field(
    name: str, title: str = "Firma del documento", kind: str = "REQUIRED"
) -> dict[str, Any]:
    """The service's object for the PDF's existing signature field ``name``: its clause titled
    ``title`` (5 to 79 characters), of type ``kind`` (REQUIRED, UNFAIR or OPTIONAL)."""
    return {"attrs": {"unique_name": name}, "clause": {"title": title, "type": kind.upper()}}


def _check_field(item: object, index: int) -> dict[str, Any]:
    where = f"signature field {index}"
    if not isinstance(item, Mapping):
        raise InvalidInput(f"{where} must be an object with attrs and clause")
    clause, attrs = item.get("clause"), item.get("attrs")
    if not isinstance(clause, Mapping) or clause.get("type") not in CLAUSE_TYPES:
        raise InvalidInput(f"{where}: clause.type must be one of {', '.join(CLAUSE_TYPES)}")
    title = clause.get("title")
    if not isinstance(title, str) or not 5 <= len(title) <= 79:
        raise InvalidInput(f"{where}: clause.title must have 5 to 79 characters")
    if not isinstance(attrs, Mapping):
        raise InvalidInput(f"{where}: attrs must be an object")
    if "unique_name" in attrs:
        name = attrs["unique_name"]
        if not isinstance(name, str) or not name:
            raise InvalidInput(f"{where}: attrs.unique_name must be a non-empty string")
        return {"attrs": {"unique_name": name}, "clause": dict(clause)}
    return {"attrs": _placed(attrs, where), "clause": dict(clause)}


def _placed(attrs: Mapping[str, Any], where: str) -> dict[str, Any]:
    coordinates, size, page = attrs.get("coordinates"), attrs.get("size"), attrs.get("page")
    if not isinstance(page, int) or isinstance(page, bool) or page < 0:
        raise InvalidInput(f"{where}: attrs needs unique_name, or page (0 or more)")
    numbers = {"coordinates.x": None, "coordinates.y": None, "size.w": None, "size.h": None}
    for key in numbers:
        group, name = key.split(".")
        box = coordinates if group == "coordinates" else size
        value = box.get(name) if isinstance(box, Mapping) else None
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise InvalidInput(f"{where}: attrs.{key} must be a number, 0 or more")
    return {"coordinates": dict(coordinates), "page": page, "size": dict(size)}  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Order:
    """A PDF to have signed by one citizen: what a flow from
    :data:`~fsm.machine.states.State.RECEIVED`
    needs. Build it with :meth:`checked` (or the CLI's ``firmaio send``)."""

    pdf: str
    """Where the PDF is (a path the process driving the flow can read)."""
    pdf_sha256: str
    pdf_size: int
    fields: tuple[dict[str, Any], ...]
    document_title: str
    dossier_title: str | None = None
    """The title of a new dossier; None when :attr:`dossier_id` names an existing one."""
    dossier_id: str | None = None
    expires_at: str | None = None
    """ISO-8601 with a time zone (``Z`` or ``+hh:mm``); None: the service's default (90 days)."""
    support_email: str | None = None
    validation_timeout: float = DEFAULT_VALIDATION_TIMEOUT
    activation_timeout: float = DEFAULT_ACTIVATION_TIMEOUT
    """Seconds the request may stay READY once marked, before the flow fails."""
    fiscal_code: str | None = field(default=None, repr=False, compare=False)
    """The citizen's fiscal code, in memory only, until the signer is found."""

    @classmethod
    def checked(cls, **values: Any) -> Order:
        """An order whose every field was checked; :class:`InvalidInput` names the first bad
        one, and nothing is made."""
        order = cls(**values)
        order.check()
        return order

    def check(self) -> None:
        """Raise :class:`InvalidInput` naming the first field the service would refuse."""
        if not self.pdf:
            raise InvalidInput("the order names no PDF")
        if not _SHA256.fullmatch(self.pdf_sha256) or self.pdf_size <= 0:
            raise InvalidInput("the order's PDF needs its SHA-256 (hex) and a positive size")
        check_fields(self.fields)
        if not 3 <= units(self.document_title) <= 60:
            raise InvalidInput("the document title must have 3 to 60 characters")
        self._check_sent_values()
        if (self.dossier_title is None) == (self.dossier_id is None):
            raise InvalidInput("name either a new dossier's title or an existing dossier's id")
        if self.dossier_title is not None and len(self.dossier_title) < 3:
            raise InvalidInput("the dossier title must have at least 3 characters")
        if self.expires_at is not None:
            check_expiry(self.expires_at)
        if self.support_email is not None and "@" not in self.support_email:
            raise InvalidInput("the support e-mail is not an e-mail address")
        if self.validation_timeout <= 0 or self.activation_timeout <= 0:
            raise InvalidInput("the order's timeouts must be positive")
        if self.fiscal_code is not None:
            check_fiscal_code(self.fiscal_code)

    def _check_sent_values(self) -> None:
        """Refuse a fiscal code in what the order sends beside ``POST /signers``."""
        _no_fiscal_code(self.document_title, "document title")
        _no_fiscal_code(self.dossier_title, "dossier title")
        _no_fiscal_code(self.support_email, "support e-mail")
        for index, item in enumerate(self.fields):
            name, title = item["attrs"].get("unique_name"), item["clause"]["title"]
            _no_fiscal_code(name, f"signature field {index}'s name (attrs.unique_name)")
            _no_fiscal_code(title, f"signature field {index}'s clause title")

    def with_fiscal_code(self, fiscal_code: str) -> Order:
        """This order, with the citizen's fiscal code (checked) held in memory."""
        return replace(self, fiscal_code=check_fiscal_code(fiscal_code))

    def metadata(self) -> dict[str, Any]:
        """The document's ``DocumentMetadata``, as the dossier and the request take it."""
        return {"title": self.document_title, "signature_fields": [dict(f) for f in self.fields]}

    def facts(self) -> tuple[tuple[str, str], ...]:
        """The order as a record's facts (no fiscal code): what :meth:`from_facts` reads."""
        values = {
            "pdf": self.pdf,
            "pdf_sha256": self.pdf_sha256,
            "pdf_size": str(self.pdf_size),
            "fields": json.dumps(list(self.fields), sort_keys=True, separators=(",", ":")),
            "document_title": self.document_title,
            "dossier_title": self.dossier_title,
            "existing_dossier_id": self.dossier_id,
            "expires_at": self.expires_at,
            "support_email": self.support_email,
            "validation_timeout": repr(self.validation_timeout),
            "activation_timeout": repr(self.activation_timeout),
        }
        return tuple((f"order.{k}", v) for k, v in values.items() if v is not None)

    @classmethod
    def from_facts(cls, facts: Mapping[str, str]) -> Order | None:
        """The order a flow's first record carries, or None (a flow started at READY)."""
        if "order.pdf" not in facts:
            return None

        def get(name: str) -> str | None:
            return facts.get(f"order.{name}")

        return cls(
            pdf=facts["order.pdf"],
            pdf_sha256=get("pdf_sha256") or "",
            pdf_size=int(get("pdf_size") or 0),
            fields=tuple(json.loads(get("fields") or "[]")),
            document_title=get("document_title") or "",
            dossier_title=get("dossier_title"),
            dossier_id=get("existing_dossier_id"),
            expires_at=get("expires_at"),
            support_email=get("support_email"),
            validation_timeout=float(get("validation_timeout") or DEFAULT_VALIDATION_TIMEOUT),
            activation_timeout=float(get("activation_timeout") or DEFAULT_ACTIVATION_TIMEOUT),
        )


def check_expiry(value: str) -> float:
    """Seconds since the epoch of an ISO-8601 expiry with a time zone, or :class:`InvalidInput`."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"expires_at {value!r} is not an ISO-8601 date and time") from None
    if moment.tzinfo is None:
        raise InvalidInput(f"expires_at {value!r} needs a time zone (Z or +hh:mm)")
    return moment.timestamp()
