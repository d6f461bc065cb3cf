"""Every shell example of the manual runs, and prints what the manual shows
(:mod:`tests.console_examples` says how a ``console`` block runs)."""

from __future__ import annotations

import contextlib
import doctest
import io
import shutil
import sqlite3
import time
import tomllib
from pathlib import Path

import pytest
from ulid import ULID

from firmaio.adapters.cli import main
from firmaio.adapters.cli.demo import sample_pdf
from firmaio.adapters.sandbox import DEMO_DOSSIER, Sandbox
from firmaio.adapters.sandbox.controls import SeedBody
from tests.console_examples import ROOT, Block, Command, ShBlock, blocks, request_ids
from tests.sandbox_helpers import fiscal_code

BLOCKS = blocks()
EXTRAS = set(
    tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]
)
CHECKER = doctest.OutputChecker()
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def ready(sandbox: Sandbox, ids: list[str]) -> None:
    """READY requests with these ids, in a dossier of their own, for citizens with messages on."""
    if not ids:
        return
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
    expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 90 * 86400))
    dossier = str(ULID())
    world = {
        "dossiers": [{"id": dossier, **DEMO_DOSSIER}],
        "requests": [
            {
                "id": request_id,
                "dossier_id": dossier,
                "fiscal_code": fiscal_code(),
                "status": "READY",
                "documents": [{"id": str(ULID()), "status": "READY"}],
                "created_at": stamp,
                "expires_at": expires,
            }
            for request_id in ids
        ],
    }
    sandbox.issuer.seed(SeedBody.model_validate(world).model_dump())


def run(command: Command, block: Block | ShBlock, *, compare: bool = True) -> str:
    """Run ``command`` of ``block``; return what it printed. ``compare``: its output must be
    what the manual shows under it (a ``sh`` block shows none: only its exit code counts)."""
    words = command.words
    if words[0] == "export":
        return ""  # set by the caller
    if words[0] == "sqlite3":  # a store edited by hand
        with contextlib.closing(sqlite3.connect(words[1])) as db, db:
            db.execute(words[2])
        return ""
    if Path(words[0]).name == "pip":
        wanted = {e for w in words if "[" in w for e in w.split("[")[1].rstrip("]").split(",")}
        assert wanted <= EXTRAS, f"{block.name}: no such extra {sorted(wanted - EXTRAS)}"
        return ""
    assert words[0] == "firmaio", (
        f"{block.name}: `{command.line}` cannot run in the suite: in a sh block, list it in "
        "NOT_RUN (tests/console_examples.py) with the reason"
    )
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(words[1:], out=out)
    shown = out.getvalue()
    assert code == command.exit_code, (
        f"{block.name}: `{command.line}` exited {code}:\n{shown}{err.getvalue()}"
    )
    assert not compare or CHECKER.check_output(command.expected, shown, FLAGS), (
        f"{block.name}: `{command.line}` printed\n{shown}\nthe manual shows\n{command.expected}"
    )
    return shown


@pytest.mark.parametrize("block", BLOCKS, ids=[block.name for block in BLOCKS])
def test_the_example_runs_and_prints_what_the_manual_shows(
    block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(sample_pdf(), tmp_path / "modulo.pdf")
    monkeypatch.chdir(tmp_path)
    with Sandbox(activation_delay=0, validation_delay=0) as sandbox:
        monkeypatch.setenv("FIRMAIO_API_KEY", "sandbox-key")
        monkeypatch.setenv("FIRMAIO_BASE_URL", sandbox.url)
        ready(sandbox, request_ids(block))
        for command in block.commands:
            if command.words[0] == "export":
                for assignment in command.words[1:]:
                    name, _, value = assignment.partition("=")
                    monkeypatch.setenv(name, value)
            run(command, block)


def test_the_manual_has_examples_that_run() -> None:
    assert len(BLOCKS) >= 3
