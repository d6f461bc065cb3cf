"""Legible on paper: the report printed to PDF by Chromium (A4), and measured on the page as
printed: every edge label of a flow's path drawing is at least 10 pt, and the trail table stays
inside its page. The demo's flows, reported in Italian (the default)."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from firmaio.adapters.cli import main

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from tests.http.conftest import Chromium, DemoRun

A4_LANDSCAPE = {"width": 1032, "height": 703}
"""What an A4 landscape page (the page report.css asks for) holds inside its 12 mm margins, at
96 CSS px an inch."""
A4_PORTRAIT = {"width": 703, "height": 1032}
"""The same page upright, as a browser told to print portrait lays it out."""


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, demo_run: DemoRun) -> Path:
    out = tmp_path_factory.mktemp("paper") / "report.html"
    assert _run("report", "--db", demo_run.db, "--out", str(out))[0] == 0
    return out


MEASURE = """() => {
  const pt = px => px * 0.75;
  const labels = [...document.querySelectorAll('svg.path-diagram .edge-label')].map(t => {
    const svg = t.ownerSVGElement;
    const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    return pt(parseFloat(getComputedStyle(t).fontSize) * scale);
  });
  const page = document.body.getBoundingClientRect();
  const tables = [...document.querySelectorAll('table.trail')].map(t => ({
    right: t.getBoundingClientRect().right, page: page.right,
    overflowing: [...t.querySelectorAll('td')]
      .filter(c => c.scrollWidth > c.clientWidth + 1).length,
  }));
  return {labels, tables};
}"""


@pytest.mark.parametrize("page_size", [A4_LANDSCAPE, A4_PORTRAIT], ids=["landscape", "portrait"])
def test_printed_edge_labels_are_10pt_and_the_trail_fits(
    report: Path, chromium: Chromium, page_size: dict[str, int]
) -> None:
    def work(browser: Browser) -> tuple[dict, bytes]:
        context = browser.new_context(viewport=page_size)
        try:
            page = context.new_page()
            page.goto(report.resolve().as_uri(), wait_until="load")
            page.emulate_media(media="print")
            measured = page.evaluate(MEASURE)
            pdf = page.pdf(prefer_css_page_size=True, print_background=True)
            return measured, pdf
        finally:
            context.close()

    measured, pdf = chromium.run(work)
    assert pdf.startswith(b"%PDF")
    assert measured["labels"], "no edge label on a flow's path"
    assert min(measured["labels"]) >= 10, f"edge labels print at {min(measured['labels']):.1f} pt"
    assert measured["tables"]
    for table in measured["tables"]:
        assert table["right"] <= table["page"] + 0.5, "the trail table runs off the page"
        assert table["overflowing"] == 0, "a cell of the trail overflows"
    html = report.read_text()
    assert html.count('<section id="machine">') == 1  # the whole machine, once
    assert re.search(r"\d{1,2} (gennaio|febbraio|marzo|aprile|maggio|giugno|luglio|agosto|"
                     r"settembre|ottobre|novembre|dicembre) \d{4}", html)  # fmt: skip
