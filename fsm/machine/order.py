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
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from ..errors import InvalidInput
from .order_checks import (
    CLAUSE_TYPES,
    DEFAULT_TITLE,
    FISCAL_CODE,
    check_fields,
    check_fiscal_code,
    default_title,
    holds_fiscal_code,
    no_fiscal_code,
    signature_field,
    units,
)

__all__ = [
    "CLAUSE_TYPES",
    "DEFAULT_ACTIVATION_TIMEOUT",
    "DEFAULT_TITLE",
    "DEFAULT_VALIDATION_TIMEOUT",
    "FISCAL_CODE",
    "MAX_DOCUMENTS",
    "Order",
    "OrderDocument",
    "check_expiry",
    "check_fields",
    "check_fiscal_code",
    "default_title",
    "holds_fiscal_code",
    "signature_field",
    "units",
]

DEFAULT_VALIDATION_TIMEOUT = 300.0
"""Seconds the service may take to validate an uploaded document before the flow fails."""
DEFAULT_ACTIVATION_TIMEOUT = 120.0
"""Seconds a request may stay READY before its flow fails (the page says "alcuni secondi")."""
_SHA256 = re.compile(r"[0-9a-f]{64}")


MAX_DOCUMENTS = 10
"""Documents one request may carry: a contract and its annexes, a form and its notice."""


@dataclass(frozen=True, slots=True)
class OrderDocument:
    """One more document of an order (its first is the order's own :attr:`Order.pdf`): the
    same checks as the first, uploaded and validated on its own steps."""

    pdf: str
    pdf_sha256: str
    pdf_size: int
    fields: tuple[dict[str, Any], ...]
    title: str

    def check(self, number: int) -> None:
        """Raise :class:`InvalidInput` naming document ``number`` and its first bad field."""
        where = f"document {number}"
        if not self.pdf:
            raise InvalidInput(f"{where} names no PDF")
        if not _SHA256.fullmatch(self.pdf_sha256) or self.pdf_size <= 0:
            raise InvalidInput(f"{where}'s PDF needs its SHA-256 (hex) and a positive size")
        try:
            check_fields(self.fields)
        except InvalidInput as error:
            raise InvalidInput(f"{where}: {error}") from None
        if not 3 <= units(self.title) <= 60:
            raise InvalidInput(f"{where}'s title must have 3 to 60 characters")
        no_fiscal_code(self.title, f"{where}'s title")
        for index, item in enumerate(self.fields):
            name, title = item["attrs"].get("unique_name"), item["clause"]["title"]
            no_fiscal_code(name, f"{where}'s signature field {index}'s name")
            no_fiscal_code(title, f"{where}'s signature field {index}'s clause title")

    def metadata(self) -> dict[str, Any]:
        """The document's ``DocumentMetadata``."""
        return {"title": self.title, "signature_fields": [dict(f) for f in self.fields]}

    def asked(self) -> dict[str, Any]:
        """What the document asks, as recorded: everything but where the PDF lies."""
        return {
            "sha256": self.pdf_sha256,
            "size": self.pdf_size,
            "fields": list(self.fields),
            "title": self.title,
        }


def _compact(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


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
    more_documents: tuple[OrderDocument, ...] = ()
    """The request's other documents, after the first (:attr:`pdf`): each uploaded and
    validated on its own steps, in this order."""

    @property
    def documents(self) -> tuple[OrderDocument, ...]:
        """Every document of the request, the first (:attr:`pdf`) first."""
        first = OrderDocument(
            self.pdf, self.pdf_sha256, self.pdf_size, self.fields, self.document_title
        )
        return (first, *self.more_documents)

    def document(self, index: int) -> Order:
        """This order as if document ``index`` (0: the first) were its only one: what the
        set-up's calls for that document read (its PDF, its fields, its title)."""
        if index == 0 and not self.more_documents:
            return self
        if not 0 <= index < len(self.documents):
            raise InvalidInput(f"the order has no document {index + 1}")
        chosen = self.documents[index]
        return replace(
            self,
            pdf=chosen.pdf,
            pdf_sha256=chosen.pdf_sha256,
            pdf_size=chosen.pdf_size,
            fields=chosen.fields,
            document_title=chosen.title,
            more_documents=(),
        )

    def describe(self, index: int) -> str:
        """Which document ``index`` is, for a reason or an error: its number and title (never
        its path, which may hold a fiscal code; the title holds none)."""
        return f'document {index + 1} of {len(self.documents)} ("{self.documents[index].title}")'

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
        self._check_more_documents()

    def _check_more_documents(self) -> None:
        if len(self.documents) > MAX_DOCUMENTS:
            raise InvalidInput(f"a request takes at most {MAX_DOCUMENTS} documents")
        for number, document in enumerate(self.more_documents, start=2):
            document.check(number)

    def _check_sent_values(self) -> None:
        """Refuse a fiscal code in what the order sends beside ``POST /signers``."""
        no_fiscal_code(self.document_title, "document title")
        no_fiscal_code(self.dossier_title, "dossier title")
        no_fiscal_code(self.support_email, "support e-mail")
        for index, item in enumerate(self.fields):
            name, title = item["attrs"].get("unique_name"), item["clause"]["title"]
            no_fiscal_code(name, f"signature field {index}'s name (attrs.unique_name)")
            no_fiscal_code(title, f"signature field {index}'s clause title")

    def with_fiscal_code(self, fiscal_code: str) -> Order:
        """This order, with the citizen's fiscal code (checked) held in memory."""
        return replace(self, fiscal_code=check_fiscal_code(fiscal_code))

    def metadata(self) -> dict[str, Any]:
        """The document's ``DocumentMetadata``, as the dossier and the request take it."""
        return {"title": self.document_title, "signature_fields": [dict(f) for f in self.fields]}

    def documents_metadata(self) -> list[dict[str, Any]]:
        """Every document's ``DocumentMetadata``, in order, as the dossier and request take it."""
        return [document.metadata() for document in self.documents]

    def facts(self) -> tuple[tuple[str, str], ...]:
        """The order as a record's facts (no fiscal code): what :meth:`from_facts` reads."""
        values = {
            "pdf": self.pdf,
            "pdf_sha256": self.pdf_sha256,
            "pdf_size": str(self.pdf_size),
            "fields": _compact(list(self.fields)),
            "document_title": self.document_title,
            "dossier_title": self.dossier_title,
            "existing_dossier_id": self.dossier_id,
            "expires_at": self.expires_at,
            "support_email": self.support_email,
            "validation_timeout": repr(self.validation_timeout),
            "activation_timeout": repr(self.activation_timeout),
        }
        if self.more_documents:
            values["more"] = _compact([d.asked() for d in self.more_documents])
            values["more_pdfs"] = _compact([d.pdf for d in self.more_documents])
        return tuple((f"order.{k}", v) for k, v in values.items() if v is not None)

    @classmethod
    def from_facts(cls, facts: Mapping[str, str]) -> Order | None:
        """The order a flow's first record carries, or None (a flow started at READY)."""
        if "order.pdf" not in facts:
            return None

        def get(name: str) -> str | None:
            return facts.get(f"order.{name}")

        more = json.loads(get("more") or "[]")
        pdfs = json.loads(get("more_pdfs") or "[]")
        return cls(
            more_documents=tuple(
                OrderDocument(
                    pdf=str(pdf),
                    pdf_sha256=str(item["sha256"]),
                    pdf_size=int(item["size"]),
                    fields=tuple(item["fields"]),
                    title=str(item["title"]),
                )
                for item, pdf in zip(more, pdfs, strict=False)
            ),
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
