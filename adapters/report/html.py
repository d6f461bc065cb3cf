"""The report's pages, each self-contained: Jinja2 templates, the CSS and the SVGs inlined.

Nothing in a page is fetched when it is opened: no script, no font, no image by URL, no
stylesheet link; a folder's pages link to each other by relative paths, nothing else.
Autoescaping is on; the SVGs, made here from the committed drawing, are the only markup inserted
as is.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache, partial
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from firmaio.fsm.labels import DEFAULT_LANG, Kind, date_text, label, word
from firmaio.fsm.machine import BASIS, State

from ..trail import StoreVerdict
from .model import ROME, FlowSection, StoreSummary, basis_kind, times
from .notes import cited, linked
from .svg import highlight, overview_svg


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("firmaio.adapters.report", "."),
        autoescape=select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["svg"] = Markup  # only the overview, built by .svg, goes through it
    env.filters["cite"] = linked  # escapes, then links each API-NOTES §N to its section
    return env


@cache
def _css() -> Markup:
    env = _environment()
    return Markup(env.loader.get_source(env, "report.css")[0] if env.loader else "")


def _label(lang: str, kind: str, name: str | None) -> str:
    return "" if name is None else label(Kind(kind), name, lang)


def _when(lang: str, epoch: float) -> str:
    """``epoch`` as a reader writes it, in Rome's time (Italian by default)."""
    return date_text(datetime.fromtimestamp(epoch, tz=UTC).astimezone(ZoneInfo(ROME)), lang)


def helpers(lang: str) -> dict[str, Any]:
    """What templates call for words in ``lang``: ``t(key)``, ``lbl(kind, name)``, ``when(epoch)``
    (the catalogue of :mod:`firmaio.fsm.labels`)."""
    return {
        "lang": lang,
        "t": partial(word, lang=lang),
        "lbl": partial(_label, lang),
        "when": partial(_when, lang),
    }


def render_page(template: str, lang: str = DEFAULT_LANG, **context: Any) -> str:
    """One page of the report: ``template`` with the stylesheet inlined, the time it was made,
    the table's states and bases, the words in ``lang``."""
    env = _environment()
    now = datetime.now(tz=UTC).timestamp()
    made_utc, made_rome = times(now)
    page: dict[str, Any] = {
        **helpers(lang),
        "made_when": _when(lang, now),
        "css": _css(),
        "made_utc": made_utc,
        "made_rome": made_rome,
        "states": [str(s) for s in State],
        "bases": [(key, basis_kind(key), b.text) for key, b in BASIS.items()],
        "notes": cited(b.text for b in BASIS.values()),
    }
    return env.get_template(template).render({**page, **context})


def render_html(
    sections: list[FlowSection],
    summary: StoreSummary,
    verdict: StoreVerdict,
    *,
    whole_store: bool,
    checkpoint_path: str | None,
    lang: str = DEFAULT_LANG,
) -> str:
    """The report's HTML, one file."""
    return render_page(
        "report.html.j2",
        lang,
        sections=sections,
        summary=summary,
        verdict=verdict,
        whole_store=whole_store,
        checkpoint_path=checkpoint_path,
        checkpoint_made=checkpoint_made(verdict),
        flow_href=lambda flow_id: f"#flow-{flow_id}",
        diagram=highlight(overview_svg(), "overview-", (), {}),
    )


def checkpoint_made(verdict: StoreVerdict) -> str | None:
    """When the checkpoint the verdict used was made, in UTC."""
    return None if verdict.checkpoint is None else times(verdict.checkpoint.made_at)[0]
