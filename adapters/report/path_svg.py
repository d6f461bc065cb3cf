"""A flow's own path, drawn for paper: the states it went through top to bottom, each step an
arrow labelled with its number, its trigger and the guard that held, and beside each state the
other states the table leads to from it (its neighbours), faded. Drawn here, in the reviewer's
language, at a size that prints at 10 pt or more on A4 (no Graphviz needed).

The SVG is :data:`WIDTH` user units wide, shown at that many CSS pixels at most (narrower only on
a narrower page): its :data:`FONT` px text is then at least 10.5 pt on an A4 page in either
orientation (a portrait page's content is about 720 px wide).
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

from firmaio.fsm.labels import DEFAULT_LANG, Kind, label, word
from firmaio.fsm.machine import TABLE
from firmaio.fsm.ports import StoredFlow
from firmaio.fsm.trail import Outcome

WIDTH = 720
FONT = 14
BOX_W, BOX_H, GAP = 300, 40, 58
LINE = FONT + 4


def neighbours(state: str) -> list[str]:
    """The states the table leads to from ``state``, itself left out, in the table's order."""
    seen: dict[str, None] = {}
    for row in TABLE:
        if str(row.source) == state and str(row.target) != state:
            seen.setdefault(str(row.target))
    return list(seen)


def _wrap(text: str, width: int) -> list[str]:
    lines, line = [], ""
    for part in text.split():
        if line and len(line) + 1 + len(part) > width:
            lines.append(line)
            line = part
        else:
            line = f"{line} {part}".strip()
    return [*lines, line] if line else lines


def _box(y: int, state: str, lang: str, later: str | None) -> list[str]:
    parts = [
        f'<g class="state" id="p-state-{escape(state)}-{y}">'
        f'<rect x="10" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8"/>'
        f'<text x="22" y="{y + 17}" class="label">{escape(label(Kind.STATE, state, lang))}</text>'
        f'<text x="22" y="{y + 33}" class="code">{escape(state)}</text></g>'
    ]
    others = [label(Kind.STATE, s, lang) for s in neighbours(state) if s != later]
    if others:
        lead = word("otherwise", lang)
        lines = _wrap(f"{lead}: {', '.join(others)}", 52)[:3]
        spans = "".join(
            f'<tspan x="{BOX_W + 24}" dy="{0 if i == 0 else LINE}">{escape(t)}</tspan>'
            for i, t in enumerate(lines)
        )
        parts.append(f'<text y="{y + 15}" class="neighbours">{spans}</text>')
    return parts


def _arrow(y: int, seq: int, trigger: str, guard: str | None, lang: str) -> list[str]:
    x = 40
    text = f"#{seq} {label(Kind.TRIGGER, trigger, lang)}"
    if guard:
        text += f" · {label(Kind.GUARD, guard, lang)}"
    return [
        f'<g class="edge step"><line x1="{x}" y1="{y}" x2="{x}" y2="{y + GAP - 8}"/>'
        f'<polygon points="{x - 6},{y + GAP - 10} {x + 6},{y + GAP - 10} {x},{y + GAP}"/>'
        f'<text x="{x + 14}" y="{y + GAP // 2 + 5}" class="edge-label">{escape(text)}</text></g>'
    ]


def path_svg(stored: StoredFlow, lang: str = DEFAULT_LANG) -> str:
    """The flow's path as an SVG element, ready to inline in HTML."""
    steps = [r for r in stored.records if r.outcome is Outcome.ACCEPTED]
    first = str(steps[0].source) if steps else str(stored.initial or "READY")
    states: Sequence[str] = [first, *(str(r.target) for r in steps)]
    parts: list[str] = []
    y = 10
    for index, state in enumerate(states):
        later = states[index + 1] if index + 1 < len(states) else None
        parts += _box(y, state, lang, later)
        y += BOX_H
        if index < len(steps):
            record = steps[index]
            parts += _arrow(y, record.seq, str(record.trigger), record.guard, lang)
            y += GAP
    height = y + 10
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="path-diagram" viewBox="0 0 {WIDTH} '
        f'{height}" width="{WIDTH}" height="{height}" font-size="{FONT}" role="img">'
        + "".join(parts)
        + "</svg>"
    )
