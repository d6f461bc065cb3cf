"""The evidence document of one request: the report's flow section (the same template,
``_flow.html.j2``) under a header that says who was asked to sign what (masked), the SHA-256 of
the PDF sent and of the signed PDF, the chain's and the checkpoint's verdicts, and how to verify
them; rendered to PDF/A-3b by WeasyPrint, for paper and for the archive.

Italian by default (``lang="en"`` on request). WeasyPrint needs pango (Debian:
``libpango-1.0-0 libpangoft2-1.0-0``); without it :func:`pdf_renderer` says so.
"""

from __future__ import annotations

import gc
import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from firmaio.fsm.diagrams import overview
from firmaio.fsm.errors import InvalidInput
from firmaio.fsm.labels import DEFAULT_LANG, date_text
from firmaio.fsm.ports import StoredFlow
from firmaio.fsm.trail import BrokenChain, Checkpoint

from ..trail import StoreVerdict
from .model import ROME, flow_section, mask_id
from .notes import cited

PDF_VARIANT = "pdf/a-3b"


@dataclass(frozen=True, slots=True)
class Sheet:
    """What the evidence document's header shows, read from the flow's records."""

    request_id: str
    dossier_id: str | None
    signer: str | None
    """The signer's id, masked (the fiscal code is never recorded)."""
    document_title: str | None
    clauses: tuple[str, ...]
    sent: tuple[str, int] | None
    """The PDF sent: its SHA-256 and the record stating it."""
    signed: tuple[tuple[str, int], ...]


def sheet_of(stored: StoredFlow) -> Sheet:
    """The header's facts: the last value of each, with the record that states it."""
    facts: dict[str, str] = {}
    sent: tuple[str, int] | None = None
    signed: dict[str, tuple[str, int]] = {}
    for record in stored.records:
        for name, value in record.facts or ():
            facts[name] = value
            if name == "order.pdf_sha256":
                sent = (value, record.seq)
            elif name.startswith("signed.") and name.endswith(".sha256"):
                signed[name] = (value, record.seq)
    try:
        fields = json.loads(facts.get("order.fields", "[]"))
        clauses = tuple(str(f["clause"]["title"]) for f in fields)
    except (ValueError, KeyError, TypeError):
        clauses = ()
    signer = facts.get("signer_id")
    return Sheet(
        request_id=facts.get("request_id", stored.flow_id),
        dossier_id=facts.get("dossier_id") or stored.dossier_id,
        signer=None if signer is None else mask_id(signer),
        document_title=facts.get("order.document_title"),
        clauses=clauses,
        sent=sent,
        signed=tuple(signed.values()),
    )


def evidence_html(
    stored: StoredFlow,
    checkpoint: Checkpoint,
    problems: list[str],
    key_id: str,
    lang: str = DEFAULT_LANG,
) -> str:
    """The evidence document as HTML (what :func:`pdf_renderer` prints): the flow's section of
    the report, its verdicts those of the bundle's check (``problems``: none when it holds)."""
    from .html import render_page  # Jinja2: the [report] extra

    flow_id = stored.flow_id
    state = str(stored.records[-1].target) if stored.records else str(stored.initial or "")
    verdict = StoreVerdict(1, len(stored.records), [], "", checkpoint)
    broken = BrokenChain(flow_id, 1, "edited", "; ".join(problems)) if problems else None
    section = flow_section(overview(), stored, state, verdict, 1, (broken, None), lang)
    made = datetime.fromtimestamp(checkpoint.made_at, tz=UTC).astimezone(ZoneInfo(ROME))
    return render_page(
        "evidence.html.j2",
        lang,
        s=section,
        sheet=sheet_of(stored),
        problems=problems,
        signed_records=checkpoint.heads.get(flow_id, (0, ""))[0],
        checkpoint_when=date_text(made, lang),
        key_id=key_id,
        notes=cited(b.text for row in section.trail for b in row.basis),
    )


def pdf_renderer() -> Callable[[str], bytes]:
    """HTML to PDF/A-3b bytes, by WeasyPrint; a clear error when it or pango is missing."""
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as error:
        raise InvalidInput(
            "the evidence document needs WeasyPrint and pango (pip install "
            f"'firmaio-fsm[evidence]'; Debian: apt-get install libpango-1.0-0 "
            f"libpangoft2-1.0-0): {type(error).__name__}; --no-pdf leaves it out"
        ) from None

    def render(html: str) -> bytes:
        with warnings.catch_warnings():  # WeasyPrint leaves its colour profile's file open
            warnings.simplefilter("ignore", ResourceWarning)
            pdf: bytes = HTML(string=html).write_pdf(pdf_variant=PDF_VARIANT)
            gc.collect()
        return pdf

    return render
