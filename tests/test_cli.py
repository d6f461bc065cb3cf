"""The firmaio command: diagrams and the demo, called in-process."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from adapters.cli import DEMO_CITIZENS, main
from fsm.render import FILES, FORMATS, render


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


@pytest.mark.parametrize("fmt", FORMATS)
def test_diagram_prints_each_format(fmt: str) -> None:
    """`firmaio diagram --format F` prints what the table renders."""
    assert run("diagram", "--format", fmt) == (0, render(fmt))


def test_diagram_writes_every_format(tmp_path: Path) -> None:
    """`firmaio diagram --write DIR` writes the four documents."""
    code, _ = run("diagram", "--write", str(tmp_path))
    assert code == 0
    for fmt in FORMATS:
        assert (tmp_path / FILES[fmt]).read_text() == render(fmt)


def test_unknown_format_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """argparse names the bad choice and exits with 2."""
    with pytest.raises(SystemExit) as caught:
        run("diagram", "--format", "png")
    assert caught.value.code == 2
    assert "invalid choice: 'png'" in capsys.readouterr().err


def test_demo_drives_the_three_citizens(tmp_path: Path) -> None:
    """NOTIFIED; NOTIFY_REFUSED then FALLBACK_SUGGESTED with a QR file; push-off NOTIFIED."""
    code, text = run("demo", "--out", str(tmp_path))
    assert code == 0
    assert re.findall(r"final state: (\w+)", text) == ["NOTIFIED", "FALLBACK_SUGGESTED", "NOTIFIED"]
    assert (
        "WAIT_FOR_SIGNATURE -> NOTIFY_REFUSED  accepted [citizen_disabled_messages] HTTP 400"
        in text
    )
    assert "NOTIFY_REFUSED -> FALLBACK_SUGGESTED  accepted" in text
    assert text.count("io_message_id: ") == 2
    [png] = tmp_path.glob("qr-*.png")
    request_id = png.stem.removeprefix("qr-")
    [code_read] = zxingcpp.read_barcodes(Image.open(png))
    assert (
        code_read.text == f"https://continua.io.pagopa.it/fci/main?signatureRequestId={request_id}"
    )
    assert (tmp_path / f"qr-{request_id}.svg").exists()
    for _title, fiscal_code, _settings in DEMO_CITIZENS:
        assert fiscal_code not in text
