"""``firmaio diagram``: the diagrams and the docs' generated blocks, rendered from the table."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from firmaio.fsm.diagrams import (
    FILES,
    FORMATS,
    dot_files,
    render,
    table_markdown,
    to_mermaid,
    triggers_markdown,
)
from firmaio.fsm.machine import TABLE
from firmaio.fsm.trail.events import events_markdown

from . import exits

GENERATED = ("table", "mermaid", "triggers", "events", "options")
"""The generated blocks a page may hold, between ``<!-- BEGIN generated:NAME -->`` and
``<!-- END generated:NAME -->`` (docs/machine.md holds the diagram and the tables of rows and of
triggers, docs/events.md the table of event types, docs/cli.md every command's arguments)."""


def generated_block(name: str) -> str:
    """The current text of the generated block ``name``."""
    if name == "triggers":
        return triggers_markdown()
    if name == "events":
        return events_markdown((row.source, row.trigger, row.target) for row in TABLE)
    if name == "options":
        from .manual import options_markdown
        from .parser import build_parser

        return options_markdown(build_parser())
    return table_markdown() if name == "table" else f"```mermaid\n{to_mermaid()}```\n"


def refresh_page(path: Path) -> list[str]:
    """Rewrite the generated blocks ``path`` holds; return their names."""
    text = path.read_text()
    found = []
    for name in GENERATED:
        start, end = f"<!-- BEGIN generated:{name} -->\n", f"<!-- END generated:{name} -->"
        if start not in text:
            continue
        head, rest = text.split(start, 1)
        text = head + start + generated_block(name) + end + rest.split(end, 1)[1]
        found.append(name)
    path.write_text(text)
    return found


def write_views(target: Path, out: TextIO) -> None:
    """The legible views: their DOT, and their SVG rendered by Graphviz where it is installed."""
    # the report's package is imported by this command only, not at every start of ``firmaio``
    from ..report.svg import dot_available, render_svg

    for name, dot in dot_files().items():
        (target / name).write_text(dot)
        print(f"wrote {target / name}", file=out)
        if dot_available():
            svg = target / name.replace(".dot", ".svg")
            svg.write_text(render_svg(dot))
            print(f"wrote {svg}", file=out)
    if not dot_available():
        print(
            "SVG not rendered: Graphviz's dot is not installed (Debian: apt-get install "
            "graphviz); the committed SVGs were left as they were",
            file=out,
        )


def cmd_diagram(args: argparse.Namespace, out: TextIO) -> int:
    """Print or write the diagrams rendered from the table."""
    if args.write or args.readme:
        if args.write:
            target = Path(args.write)
            target.mkdir(parents=True, exist_ok=True)
            for fmt in FORMATS:
                (target / FILES[fmt]).write_text(render(fmt))
                print(f"wrote {target / FILES[fmt]}", file=out)
            write_views(target, out)
        for page in args.readme or ():
            names = refresh_page(Path(page))
            print(f"refreshed {page} ({', '.join(names) or 'no generated block'})", file=out)
        return exits.OK.code
    text = render(args.format)
    if args.out:
        Path(args.out).write_text(text)
    else:
        out.write(text)
    return exits.OK.code
