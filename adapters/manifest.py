"""A manifest: one row per citizen to ask for a signature (CSV or JSON Lines), every row checked
before anything is sent.

Columns (CSV header, or JSON keys): ``fiscal_code``; ``pdf`` (one path, or several: ``|`` in a
CSV cell, a list in JSON), relative to the manifest's folder; ``fields`` (each
``[PDF:]NAME[:CLAUSE[:TYPE]]``, ``|``-separated or a list; the command's ``--field`` when empty);
``title``; ``dossier`` (an existing dossier's id) or ``dossier_title``; ``expires_at``;
``reference`` (the administration's own, at most 64 of ``A-Z a-z 0-9 _ -``). A row is refused,
with its line and every reason, for a fiscal code of the wrong shape or check character, a PDF
that cannot be read or lacks a named signature field, an order the service would refuse, or a
fiscal code or reference already on an earlier row. No reason repeats a fiscal code.

The rows' fiscal codes are held in memory only, for the run: a run killed mid-way is resumed by
running the same manifest again. Each good row's flow id is the batch's id and the row's key
(its reference, else its line), so the same manifest creates nothing new.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from firmaio.fsm.errors import FsmError, InvalidInput
from firmaio.fsm.machine import Order, check_fields, default_title
from firmaio.fsm.machine.order import FISCAL_CODE

from .client import document_from_pdf, order_from_pdf
from .document_fields import fields_by_document

COLUMNS = ("fiscal_code", "pdf", "fields", "title", "dossier", "dossier_title", "expires_at",
           "reference")  # fmt: skip
_REFERENCE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_ODD = dict(zip("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18,
                 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23], strict=True))  # fmt: skip
"""The check character's table for the odd positions (1st, 3rd...), digits as their letter."""


def check_character(first15: str) -> str:
    """The check character of a fiscal code's first 15 characters (DM 23/12/1976)."""
    total = 0
    for position, char in enumerate(first15):
        if position % 2 == 0:
            total += _ODD[char]
        else:
            total += int(char) if char.isdigit() else ord(char) - ord("A")
    return chr(ord("A") + total % 26)


def fiscal_code_problem(value: str) -> str | None:
    """What is wrong with ``value`` as a fiscal code (never repeating it), or None."""
    if not value:
        return "no fiscal code"
    if not FISCAL_CODE.fullmatch(value):
        return f"the fiscal code is not a personal fiscal code's shape ({len(value)} characters)"
    if check_character(value[:15]) != value[15]:
        return "the fiscal code's check character is wrong"
    return None


@dataclass(frozen=True, slots=True)
class Row:
    """A manifest's row: its line, and its order (with its fiscal code) or why it is refused."""

    line: int
    reference: str | None
    order: Order | None = None
    problems: tuple[str, ...] = ()
    flow_key: str = ""


@dataclass(frozen=True, slots=True)
class Manifest:
    """A manifest read and checked: its batch id and every row, good or refused."""

    batch_id: str
    rows: tuple[Row, ...]

    @property
    def good(self) -> tuple[Row, ...]:
        return tuple(row for row in self.rows if row.order is not None)

    @property
    def bad(self) -> tuple[Row, ...]:
        return tuple(row for row in self.rows if row.order is None)

    def flow_id(self, row: Row) -> str:
        """The flow id of a good row: the batch's id and the row's key."""
        return f"{self.batch_id}-{row.flow_key}"


@dataclass(frozen=True, slots=True)
class Defaults:
    """What the command line says for every row that says nothing of its own."""

    fields: tuple[str, ...] = ()
    dossier: str | None = None
    dossier_title: str = "Richiesta di firma"
    expires_at: str | None = None
    support_email: str | None = None
    validation_timeout: float | None = None
    activation_timeout: float | None = None


def batch_id_of(body: bytes, given: str | None) -> str:
    """The batch's id: ``given`` (checked), else one made from the manifest's bytes."""
    if given is not None:
        if not _REFERENCE.fullmatch(given) or len(given) > 40:
            raise InvalidInput(f"--batch {given!r}: at most 40 of A-Z a-z 0-9 _ -")
        return given
    return "b" + hashlib.sha256(body).hexdigest()[:20]


def read_manifest(path: str | Path, defaults: Defaults, batch: str | None = None) -> Manifest:
    """Read and check every row of the manifest at ``path``; :class:`InvalidInput` only for a
    manifest that cannot be read at all (rows are refused one by one)."""
    where = Path(path)
    try:
        body = where.read_bytes()
    except OSError as error:
        raise InvalidInput(f"--manifest {path}: {error.strerror}") from None
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(f"--manifest {path}: not UTF-8 text") from None
    lines = _json_lines(text) if where.suffix in (".jsonl", ".ndjson") else _csv_lines(text)
    folder = where.resolve().parent
    seen_codes: dict[str, int] = {}
    seen_refs: dict[str, int] = {}
    rows: list[Row] = []
    for line, values in lines:
        rows.append(_row(line, values, folder, defaults, seen_codes, seen_refs))
    if not rows:
        raise InvalidInput(f"--manifest {path}: no rows")
    return Manifest(batch_id_of(body, batch), tuple(rows))


def _csv_lines(text: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text))
    unknown = set(reader.fieldnames or ()) - set(COLUMNS)
    if "fiscal_code" not in (reader.fieldnames or ()) or unknown:
        raise InvalidInput(
            f"the manifest's header must name fiscal_code and pdf among {', '.join(COLUMNS)}"
            + (f"; unknown: {', '.join(sorted(unknown))}" if unknown else "")
        )
    for values in reader:
        yield reader.line_num, {k: v for k, v in values.items() if k is not None}


def _json_lines(text: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            values = json.loads(raw)
        except ValueError:
            yield line, {"_error": "not a JSON object"}
            continue
        if not isinstance(values, dict):
            yield line, {"_error": "not a JSON object"}
            continue
        unknown = sorted(str(key)[:40] for key in values if key not in COLUMNS)
        if unknown:  # a misspelt key would drop what it holds: refused, as a CSV header is
            yield (
                line,
                {"_error": f"unknown keys: {', '.join(unknown)} (known: {', '.join(COLUMNS)})"},
            )
            continue
        yield line, values


def _listed(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [str(item) for item in value]
    return [part.strip() for part in str(value).split("|") if part.strip()]


def _row(
    line: int,
    values: Mapping[str, Any],
    folder: Path,
    defaults: Defaults,
    seen_codes: dict[str, int],
    seen_refs: dict[str, int],
) -> Row:
    problems: list[str] = []
    if "_error" in values:
        return Row(line, None, problems=(str(values["_error"]),))
    code = str(values.get("fiscal_code") or "").strip().upper()
    reference = str(values.get("reference") or "").strip() or None
    said = fiscal_code_problem(code)
    if said:
        problems.append(said)
    elif code in seen_codes:
        problems.append(f"the same fiscal code as line {seen_codes[code]}")
    if reference is not None and not _REFERENCE.fullmatch(reference):
        problems.append("the reference must be 1 to 64 of A-Z a-z 0-9 _ -")
    elif reference is not None and reference in seen_refs:
        problems.append(f"the same reference as line {seen_refs[reference]}")
    order = None
    try:
        order = _order(values, folder, defaults)
    except FsmError as error:
        problems.append(str(error))
    if not said and code not in seen_codes:
        seen_codes[code] = line
    if reference is not None and reference not in seen_refs:
        seen_refs[reference] = line
    if problems or order is None:
        return Row(line, reference, problems=tuple(problems))
    key = f"r-{reference}" if reference else f"l{line}"
    return Row(line, reference, order.with_fiscal_code(code), flow_key=key)


def _order(values: Mapping[str, Any], folder: Path, defaults: Defaults) -> Order:
    pdfs = [str(folder / name) for name in _listed(values.get("pdf"))]
    if not pdfs:
        raise InvalidInput("no pdf")
    specs = _listed(values.get("fields")) or list(defaults.fields)
    fields = _fields(pdfs, specs)
    for pdf in pdfs:
        missing = sorted(_names(fields[pdf]) - signature_fields(pdf))
        if missing:
            raise InvalidInput(f"{Path(pdf).name} has no signature field {', '.join(missing)}")
    title = str(values.get("title") or "").strip() or default_title(Path(pdfs[0]).stem)
    dossier = str(values.get("dossier") or "").strip() or defaults.dossier
    chosen: dict[str, Any] = (
        {"dossier_id": dossier}
        if dossier
        else {"dossier_title": str(values.get("dossier_title") or "") or defaults.dossier_title}
    )
    timeouts = {
        name: value
        for name, value in (("validation_timeout", defaults.validation_timeout),
                            ("activation_timeout", defaults.activation_timeout))
        if value is not None
    }  # fmt: skip
    return order_from_pdf(
        pdfs[0],
        fields=check_fields(fields[pdfs[0]]),
        document_title=title,
        expires_at=str(values.get("expires_at") or "") or defaults.expires_at,
        support_email=defaults.support_email,
        more_documents=tuple(
            document_from_pdf(pdf, fields[pdf], default_title(Path(pdf).stem)) for pdf in pdfs[1:]
        ),
        **chosen,
        **timeouts,
    )


def _fields(pdfs: list[str], specs: list[str]) -> dict[str, list[Any]]:
    names = [Path(pdf).name for pdf in pdfs]
    by_name = fields_by_document(names, specs, None)
    return {pdf: by_name[name] for pdf, name in zip(pdfs, names, strict=True)}


def _names(fields: list[Any]) -> set[str]:
    return {str(f["attrs"]["unique_name"]) for f in fields if "unique_name" in f.get("attrs", {})}


def signature_fields(pdf: str) -> frozenset[str]:
    """The names of the signature fields of the PDF at ``pdf`` (read once per file and
    content); a PDF that cannot be read or is not one is refused."""
    try:
        body = Path(pdf).read_bytes()
    except OSError as error:
        raise InvalidInput(f"cannot read {Path(pdf).name}: {error.strerror}") from None
    return _fields_of(body, Path(pdf).name)


@lru_cache(maxsize=64)
def _fields_of(body: bytes, name: str) -> frozenset[str]:
    from pypdf import PdfReader

    from .client.pdf_check import signature_fields as named_in

    if not body.startswith(b"%PDF"):
        raise InvalidInput(f"{name} is not a PDF (it does not start with %PDF)")
    try:  # the form read as `send` reads it (one walk of the field tree: client/pdf_check.py)
        return named_in(PdfReader(io.BytesIO(body)))
    except Exception as error:  # any way a file can be broken
        raise InvalidInput(f"{name} cannot be read as a PDF ({type(error).__name__})") from None
