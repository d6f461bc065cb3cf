"""The report's drawings stay SVG that HTML reads whatever else the process imported: a library
that maps ElementTree's SVG namespace to a prefix of its own (WeasyPrint does) must not turn the
overview into ``<ns0:svg>``, which a browser shows as nothing."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from firmaio.adapters.report.svg import SVG_NS, highlight, overview_svg


def test_highlight_writes_plain_svg_after_another_library_remapped_the_namespace() -> None:
    ET.register_namespace("svgx", SVG_NS)  # what an import elsewhere may do to the global map
    drawn = highlight(overview_svg(), "f1-", (), {})
    assert drawn.startswith("<svg ")
    assert "svgx:" not in drawn
    assert "ns0:" not in drawn
