"""Write modulo.pdf beside this script, and the package's copy (adapters/sandbox/modulo.pdf, what
``importlib.resources`` finds in an installed firmaio): the sandbox's sample document with a
signature field.

    .venv/bin/python examples/documents/make_modulo.py

The bytes come from ``firmaio.adapters.sandbox.samples.modulo_pdf``, which writes each PDF object
by hand (pypdf reads signature fields but has no call to create an empty one): no date, no file
identifier, so every run writes the same file and the committed copy can be checked against it.
"""

from __future__ import annotations

from pathlib import Path

from firmaio.adapters.sandbox.samples import SAMPLE_PDF_FIELDS, modulo_pdf


def main() -> None:
    here = Path(__file__).resolve().parent
    names = ", ".join(field["attrs"]["unique_name"] for field in SAMPLE_PDF_FIELDS)
    for target in (here / "modulo.pdf", here.parents[1] / "adapters/sandbox/modulo.pdf"):
        target.write_bytes(modulo_pdf())
        print(f"wrote {target} ({target.stat().st_size} bytes; signature field: {names})")


if __name__ == "__main__":
    main()
