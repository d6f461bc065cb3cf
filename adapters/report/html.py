"""The report as one self-contained HTML file: Jinja2 templates, the CSS and the SVGs inlined.

Nothing in the page is fetched when it is opened: no script, no font, no image by URL, no
stylesheet link. Autoescaping is on; the SVGs, made here from the committed drawing, are the only
markup inserted as is.
"""

from __future__ import annotations

from datetime import UTC, datetime

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from firmaio.fsm.machine import BASIS, State

from ..trail import StoreVerdict
from .model import NOTES, PAGE, FlowSection, StoreSummary, times


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("firmaio.adapters.report", "."),
        autoescape=select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["svg"] = Markup  # only the highlighted overview, built by .svg, goes through it
    return env


def render_html(
    sections: list[FlowSection],
    summary: StoreSummary,
    verdict: StoreVerdict,
    *,
    whole_store: bool,
    checkpoint_path: str | None,
) -> str:
    """The report's HTML."""
    env = _environment()
    css = env.loader.get_source(env, "report.css")[0] if env.loader else ""
    made_utc, made_rome = times(datetime.now(tz=UTC).timestamp())
    return env.get_template("report.html.j2").render(
        css=Markup(css),
        sections=sections,
        summary=summary,
        verdict=verdict,
        whole_store=whole_store,
        checkpoint_path=checkpoint_path,
        checkpoint_made=None
        if verdict.checkpoint is None
        else times(verdict.checkpoint.made_at)[0],
        made_utc=made_utc,
        made_rome=made_rome,
        states=[str(s) for s in State],
        bases=[(key, PAGE if b.on_page else NOTES, b.text) for key, b in BASIS.items()],
    )
