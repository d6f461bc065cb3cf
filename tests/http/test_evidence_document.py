"""The evidence document of the demo's signed request, made as docs/evidence.md says: the demo's
flows stored, an Ed25519 key pair, a checkpoint signed with it, ``firmaio evidence`` on the
signed flow. Read as an auditor would: its text extracted (pypdf) holds both SHA-256 values,
every step's Italian label and how to verify it; its first page rendered to an image
(pdftoppm) shows ink on the page."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from firmaio.adapters.cli import main
from firmaio.fsm.labels import Kind, label

if TYPE_CHECKING:
    from tests.http.conftest import DemoRun

ROOT = Path(__file__).resolve().parents[2]


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def weasyprint_or_skip() -> None:
    """WeasyPrint with pango, or a skip naming what is missing (mandatory under ``.ci/run``)."""
    try:
        with warnings.catch_warnings():  # without HarfBuzz's subsetter it warns, and the suite
            warnings.simplefilter("error")  # makes every warning an error: a missing library
            import weasyprint  # noqa: F401
    except (ImportError, OSError, Warning) as error:
        reason = f"WeasyPrint, pango or HarfBuzz is missing ({type(error).__name__}: {error})"
        if os.environ.get("FIRMAIO_REQUIRE_WEASYPRINT") == "1":
            pytest.fail(f"{reason}; FIRMAIO_REQUIRE_WEASYPRINT=1 makes this test mandatory")
        pytest.skip(f"{reason}; .ci/run installs them and makes this test mandatory")


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory, demo_run: DemoRun) -> Path:
    """The signed flow's bundle, with its evidence document."""
    weasyprint_or_skip()
    work = tmp_path_factory.mktemp("evidence")
    db, ids = demo_run.db, demo_run.ids
    private, public = work / "issuer.pem", work / "issuer-public.pem"
    assert _run("evidence", "keygen", str(private), str(public))[0] == 0
    checkpoint = work / "checkpoint.json"
    code, shown = _run("audit", "verify", "--db", db, "--signing-key", str(private),
                       "--write-checkpoint", str(checkpoint))  # fmt: skip
    assert code == 0, shown
    out = work / "evidence"
    code, shown = _run("evidence", *ids, "--db", db, "--checkpoint", str(checkpoint),
                       "--public-key", str(public), "--out", str(out), "--no-pdf")  # fmt: skip
    assert code == 0, shown
    for flow_id in ids:  # the signed one, with its evidence document (WeasyPrint takes seconds)
        documents = json.loads((out / flow_id / "documents.json").read_text())
        if any(d["what"] == "signed" for d in documents["documents"]):
            code, shown = _run("evidence", flow_id, "--db", db, "--checkpoint", str(checkpoint),
                               "--public-key", str(public), "--out", str(out))  # fmt: skip
            assert code == 0, shown
            return out / flow_id
    raise AssertionError(f"no signed flow among {ids}")


def _text(pdf: Path) -> str:
    from pypdf import PdfReader

    return " ".join(page.extract_text() or "" for page in PdfReader(pdf).pages)


def test_the_document_states_both_hashes_every_step_and_how_to_verify(signed: Path) -> None:
    text = re.sub(r"\s+", " ", _text(signed / "evidence.pdf"))
    flat = text.replace(" ", "")
    documents = json.loads((signed / "documents.json").read_text())["documents"]
    assert {d["what"] for d in documents} == {"sent", "signed"}
    for document in documents:
        assert document["sha256"] in flat, f"{document['fact']} not in the document"
    assert "Prova della richiesta di firma" in text
    for line in (signed / "trail.jsonl").read_text().splitlines():
        record = json.loads(json.loads(line)["record"])
        step = label(Kind.TRIGGER, record["trigger"])
        assert step != record["trigger"]
        assert step.replace(" ", "") in flat, f"step {record['trigger']}: {step!r} missing"
    for state in ("Firmata", "In attesa di firma", "Notificata su IO"):
        assert state in text
    assert "Come verificare" in text
    assert "firmaio evidence verify" in text
    assert "verifica.py" in text
    assert "dicembre" in text or re.search(r"\d{1,2} [a-z]+ \d{4}, \d\d:\d\d", text)


def test_the_document_says_it_is_pdf_a_3b(signed: Path) -> None:
    from pypdf import PdfReader

    reader = PdfReader(signed / "evidence.pdf")
    assert "/OutputIntents" in reader.trailer["/Root"]  # the colour profile PDF/A asks for
    metadata = reader.xmp_metadata
    assert metadata is not None
    xmp = metadata.stream.get_data().decode()
    assert 'pdfaid:part="3"' in xmp
    assert 'pdfaid:conformance="B"' in xmp


def test_a_screenshot_of_its_first_page_shows_the_sheet(signed: Path, tmp_path: Path) -> None:
    if shutil.which("pdftoppm") is None:
        if os.environ.get("FIRMAIO_REQUIRE_WEASYPRINT") == "1":
            pytest.fail("no pdftoppm (Debian: poppler-utils); .ci/run installs it")
        pytest.skip("no pdftoppm (Debian: apt-get install poppler-utils)")
    from PIL import Image

    subprocess.run(
        ["pdftoppm", "-r", "50", "-f", "1", "-l", "1", "-png", str(signed / "evidence.pdf"),
         str(tmp_path / "page")],
        check=True, timeout=60,
    )  # fmt: skip
    [png] = list(tmp_path.glob("page*.png"))
    with Image.open(png) as shot:
        image = shot.convert("L")
    width, height = image.size
    assert width > height  # A4 landscape
    inked = sum(count for value, count in enumerate(image.histogram()) if value < 128)
    assert inked > 0.01 * width * height, "the first page is nearly blank"
    with Image.open(ROOT / "docs" / "evidence-page-1.png") as shown:  # docs/report.md's copy
        assert shown.size[0] > height
