"""Every shell example of the manual runs, and prints what the manual shows
(:mod:`tests.console_examples` says how a ``console`` block runs)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from ulid import ULID

from firmaio.adapters.sandbox import DEMO_DOSSIER, Sandbox
from firmaio.adapters.sandbox.controls import SeedBody
from tests.console_examples import Block, blocks, request_ids, run
from tests.http.test_sh_examples import given
from tests.sandbox_helpers import fiscal_code

BLOCKS = blocks()


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


@pytest.mark.parametrize("block", BLOCKS, ids=[block.name for block in BLOCKS])
def test_the_example_runs_and_prints_what_the_manual_shows(
    block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    given(tmp_path)  # the sample PDF as modulo.pdf, and the files the examples take as there
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
