"""Several PDFs for the multi-document and manifest tests: the sandbox's sample form, each copy
with bytes of its own after its end (so its SHA-256 differs), the same signature field."""

from __future__ import annotations

from pathlib import Path

from firmaio.adapters.cli.demo import sample_pdf


def pdf_copies(folder: Path, *names: str) -> list[Path]:
    """The sample form as ``folder/<name>`` for each name, each a distinct file."""
    body = sample_pdf().read_bytes()
    made = []
    for name in names:
        path = folder / name
        path.write_bytes(body + f"% copy {name}\n".encode())
        made.append(path)
    return made
