"""The fallback: advice by reason, the universal link, and a QR code rendered locally."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import zxingcpp
from PIL import Image

from firmaio.fsm import Fallback, Kind


def test_advice_fits_the_reason() -> None:
    """Messages off: turn on "Contattarti in app"; no profile: install IO and log in."""
    off = Fallback.for_refusal("01ARZ", Kind.MESSAGES_DISABLED)
    none = Fallback.for_refusal("01ARZ", Kind.NO_IO_PROFILE)
    assert "Contattarti in app" in off.advice_it
    assert "Contattarti in app" in off.advice_en
    assert "installa l'app IO" in none.advice_it
    assert "install the IO app" in none.advice_en


def test_links_follow_the_io_link_service() -> None:
    """The universal link and the QR image URL of API-NOTES §5; the API's QR URL wins if known."""
    fb = Fallback.for_refusal("01ARZ3NDEKTSV4RRFFQ69G5FAV", Kind.MESSAGES_DISABLED)
    assert (
        fb.link
        == "https://continua.io.pagopa.it/fci/main?signatureRequestId=01ARZ3NDEKTSV4RRFFQ69G5FAV"
    )
    assert (
        fb.qr_image_url
        == "https://continua.io.pagopa.it/qrcode.png?feat=firma&srid=01ARZ3NDEKTSV4RRFFQ69G5FAV"
    )
    given = Fallback.for_refusal("R", Kind.MESSAGES_DISABLED, "https://example.test/qr.png")
    assert given.qr_image_url == "https://example.test/qr.png"


def test_qr_code_scans_back_to_the_link() -> None:
    """A decoder we did not write (zxing-cpp) reads the PNG back to the universal link."""
    fb = Fallback.for_refusal("01ARZ3NDEKTSV4RRFFQ69G5FAV", Kind.NO_IO_PROFILE)
    png = fb.qr_png()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    [code] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert code.format == zxingcpp.BarcodeFormat.QRCode
    assert code.text == fb.link


def test_qr_svg_is_an_svg_document() -> None:
    """The SVG form parses as XML with an <svg> root and draws a path."""
    svg = Fallback.for_refusal("R1", Kind.MESSAGES_DISABLED).qr_svg()
    root = ET.fromstring(svg.split("?>", 1)[1])
    assert root.tag.endswith("svg")
    assert any(child.tag.endswith("path") for child in root)
