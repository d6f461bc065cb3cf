"""``firmaio report``: stored flows for compliance review, as one self-contained HTML file (up to
:data:`~firmaio.adapters.report.ONE_FILE` flows of a whole store), or as a folder of pages: a
summary, list pages and a page per flow (``--out DIR``: any path not ending in ``.html``).

Needs the ``[report]`` extra (Jinja2), imported only when the command runs. The store is opened
read-only; a checkpoint, if given, is checked with a key held outside the database. The file is
written even when a chain or the checkpoint does not check out (the report shows it), and the
command then exits 20, as ``audit verify`` does.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
from pathlib import Path
from typing import TextIO

from firmaio.fsm.errors import InvalidInput

from ..store import store_name
from . import exits
from .audit import load_checkpoint
from .wiring import flow_store

REPORT_MODULES = ("jinja2",)


def _require_report() -> None:
    missing = [name for name in REPORT_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise InvalidInput(
            f"firmaio report needs the report extra ({', '.join(missing)} missing): "
            "pip install 'firmaio-fsm[report]'"
        )


def _is_database(path: Path) -> bool:
    """Whether ``path`` is an existing SQLite file (a report must never overwrite a store)."""
    try:
        with path.open("rb") as file:
            return file.read(16).startswith(b"SQLite format 3")
    except OSError:
        return False


def is_folder(out: str) -> bool:
    """Whether ``--out`` names a folder: an existing one, or a path not ending in ``.html``."""
    path = Path(out)
    return path.is_dir() or out.endswith(("/", os.sep)) or path.suffix not in (".html", ".htm")


def cmd_report(args: argparse.Namespace, out: TextIO) -> int:
    """Write the report of ``args.request_ids`` (or of every flow) to ``args.out``: one HTML
    file, or, for a folder, a summary and a page per flow of the whole store."""
    _require_report()
    from ..report import build_report, write_folder

    label = store_name(args.db)
    checkpoint, problem = (None, None)
    if args.checkpoint is not None:
        checkpoint, problem = load_checkpoint(args.checkpoint, args.key_file, args.public_key)
    target = Path(args.out)
    folder = is_folder(args.out)
    if folder and args.request_ids:
        raise InvalidInput(
            f"--out {args.out!r} is a folder, the report of a whole store: name an HTML file "
            "for the chosen flows"
        )
    if _is_database(target):
        raise InvalidInput(f"--out {args.out!r} is a database; the report is not written over it")
    if folder and target.exists() and not target.is_dir():
        raise InvalidInput(f"--out {args.out!r} is a file, not a folder; nothing written")

    async def build() -> tuple[str | None, bool, int]:
        store = flow_store(args.db, read_only=True)
        try:
            if folder:
                verdict = await write_folder(
                    store, target, label=label, checkpoint=checkpoint,
                    checkpoint_problem=problem, checkpoint_path=args.checkpoint, lang=args.lang,
                )  # fmt: skip
                return None, verdict.tampered, verdict.flows
            html, verdict = await build_report(
                store,
                args.request_ids,
                label=label,
                checkpoint=checkpoint,
                checkpoint_problem=problem,
                checkpoint_path=args.checkpoint,
                lang=args.lang,
            )
        finally:
            await store.close()
        return html, verdict.tampered, len(args.request_ids) or verdict.flows

    html, tampered, flows = asyncio.run(build())
    if html is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(html, encoding="utf-8")
    written = target / "index.html" if html is None else target
    verdict = "a trail does not check out: see the report" if tampered else "every chain intact"
    if checkpoint is not None and not tampered:
        verdict += "; the checkpoint holds"
    print(f"report written: {written} ({flows} flows from {label}; {verdict})", file=out)
    return exits.TAMPERED.code if tampered else exits.OK.code
