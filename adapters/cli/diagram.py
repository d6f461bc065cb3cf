"""``firmaio diagram``: the diagrams and the README's generated blocks, rendered from the table."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from firmaio.fsm.render import FILES, FORMATS, render, table_markdown, to_mermaid

from . import exits


def refresh_readme(path: Path) -> None:
    """Rewrite the README's generated blocks (transition table, Mermaid diagram)."""
    text = path.read_text()
    blocks = {"table": table_markdown(), "mermaid": f"```mermaid\n{to_mermaid()}```\n"}
    for name, body in blocks.items():
        start, end = f"<!-- BEGIN generated:{name} -->\n", f"<!-- END generated:{name} -->"
        head, rest = text.split(start, 1)
        text = head + start + body + end + rest.split(end, 1)[1]
    path.write_text(text)


def cmd_diagram(args: argparse.Namespace, out: TextIO) -> int:
    """Print or write the diagrams rendered from the table."""
    if args.write or args.readme:
        if args.write:
            target = Path(args.write)
            target.mkdir(parents=True, exist_ok=True)
            for fmt in FORMATS:
                (target / FILES[fmt]).write_text(render(fmt))
                print(f"wrote {target / FILES[fmt]}", file=out)
        if args.readme:
            refresh_readme(Path(args.readme))
            print(f"refreshed {args.readme}", file=out)
        return exits.OK.code
    text = render(args.format)
    if args.out:
        Path(args.out).write_text(text)
    else:
        out.write(text)
    return exits.OK.code
