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


_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def valid_fiscal_code(n: int) -> str:
    """The ``n``-th made-up fiscal code with a right check character (distinct for n < 169,000;
    none starts with X, the sandbox's citizens with messages off)."""
    from firmaio.adapters.manifest import check_character

    name = "R" + _LETTERS[n % 26] + _LETTERS[(n // 26) % 26]
    first15 = f"{name}MRA80A01H{n % 1000:03d}"
    return first15 + check_character(first15)


def write_manifest(path: Path, rows: list[dict[str, str]]) -> Path:
    """A CSV manifest of ``rows`` (the columns of the first row)."""
    import csv

    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path
