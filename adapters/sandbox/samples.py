"""Sample documents for the sandbox, written object by object so that every run gives the same
bytes: no creation date, no file identifier, offsets computed here.

* :data:`MINIMAL_PDF`: one blank A4 page, what the demo shortcut uploads;
* :data:`SAMPLE_PDF`: ``examples/documents/modulo.pdf``, one A4 page with some text and an empty
  signature field ``firma_richiedente``, for issuers who name an existing field
  (``{"attrs": {"unique_name": ...}}``); :data:`SAMPLE_PDF_FIELDS` are the signature fields that
  fit it;
* :data:`DEMO_DOSSIER`: a dossier whose one document fits both PDFs (a field to be created at
  coordinates inside an A4 page).

``examples/documents/make_modulo.py`` writes :data:`SAMPLE_PDF` to ``examples/documents/`` and to
this package (``modulo.pdf``, package data, for code that wants a file); a test checks that both
committed files are still these bytes.
"""

from __future__ import annotations

from typing import Any

A4 = (595, 842)
"""An A4 page in PDF points (1/72 inch), as width and height."""


def write_pdf(objects: list[bytes], *, version: bytes = b"1.7") -> bytes:
    """A whole PDF file of ``objects`` (object ``n`` is ``objects[n - 1]``, the catalog is 1),
    with a cross-reference table: strict readers (pypdf among them) need one to find the
    objects, and nothing in it depends on the time or on chance."""
    out = bytearray(b"%PDF-" + version + b"\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    table = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % table
    return bytes(out)


def _stream(content: bytes) -> bytes:
    return b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"


MINIMAL_PDF = write_pdf(
    [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] >>" % A4,
    ],
    version=b"1.4",
)
"""One blank A4 page (595 x 842 points): a PDF that every check accepts, with no form field."""

SIGNATURE_FIELD = "firma_richiedente"
SIGNATURE_RECT = (100, 100, 200, 50)
"""Where the sample's signature field is on page 0: x, y (from the bottom left), width, height."""

_TEXT = [
    (72, 760, 20, "Modulo di adesione"),
    (72, 720, 11, "Il sottoscritto chiede di aderire al servizio descritto in questo modulo."),
    (72, 704, 11, "Documento di prova del sandbox di firmaio-fsm: non ha valore legale."),
    (100, 86, 9, "Firma del richiedente"),
]


def _modulo_page() -> bytes:
    """The page's drawing: the text, then a frame and a line where the signature goes."""
    x, y, w, h = SIGNATURE_RECT
    lines = [
        b"BT /F1 %d Tf %d %d Td (%s) Tj ET" % (size, left, bottom, text.encode("latin-1"))
        for left, bottom, size, text in _TEXT
    ]
    lines.append(b"0.6 G 0.5 w %d %d %d %d re S" % (x, y, w, h))
    lines.append(b"0 G 1 w %d %d m %d %d l S" % (x + 10, y + 12, x + w - 10, y + 12))
    return b"\n".join(lines)


def modulo_pdf() -> bytes:
    """``modulo.pdf``: one A4 page titled "Modulo di adesione" with an unsigned signature field
    (``/FT /Sig``) named ``firma_richiedente`` on page 0, its widget over the signature line."""
    x, y, w, h = SIGNATURE_RECT
    return write_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [5 0 R] /SigFlags 1 >> >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] " % A4
            + b"/Resources << /Font << /F1 6 0 R >> >> /Contents 4 0 R /Annots [5 0 R] >>",
            _stream(_modulo_page()),
            b"<< /Type /Annot /Subtype /Widget /FT /Sig /T (%s) " % SIGNATURE_FIELD.encode()
            + b"/Rect [%d %d %d %d] /F 4 /P 3 0 R >>" % (x, y, x + w, y + h),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        ]
    )


SAMPLE_PDF = modulo_pdf()
"""The bytes of ``examples/documents/modulo.pdf``."""

SAMPLE_PDF_FIELDS: list[dict[str, Any]] = [
    {
        "attrs": {"unique_name": SIGNATURE_FIELD},
        "clause": {"title": "Firma del richiedente", "type": "REQUIRED"},
    }
]
"""The signature fields (``SignatureField`` of the spec) that :data:`SAMPLE_PDF` satisfies: its
existing field, by name. JSON-able, for a dossier's ``signature_fields`` or validate-document."""

DEMO_DOSSIER: dict[str, Any] = {
    "title": "richiesta di firma di prova",
    "documents_metadata": [
        {
            "title": "Modulo di adesione",
            "signature_fields": [
                {
                    "attrs": {
                        "coordinates": {"x": 50, "y": 50},
                        "page": 0,
                        "size": {"w": 120, "h": 40},
                    },
                    "clause": {"title": "Firma del richiedente", "type": "REQUIRED"},
                }
            ],
        }
    ],
}
"""A dossier of one document with a field to be created at (50, 50), 120 x 40 on page 0: it fits
any A4 page, so :data:`MINIMAL_PDF` and :data:`SAMPLE_PDF` both pass its validation."""
