"""Where ``firmaio send`` reads the citizen's fiscal code: the environment, a file, standard input;
the command line still works, with a warning. The code is never printed."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from firmaio.adapters.cli import main
from firmaio.adapters.cli.demo import sample_pdf
from firmaio.adapters.cli.fiscal import ON_THE_COMMAND_LINE
from firmaio.adapters.sandbox import Sandbox
from tests.sandbox_helpers import fiscal_code

SEND = ("--field", "firma_richiedente", "--json")


def send(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(["send", str(sample_pdf()), *SEND, *argv], out=out), out.getvalue()


def request_for(sandbox: Sandbox, code: str, request_id: str) -> bool:
    """Whether the request ``request_id`` was made for the citizen with ``code``."""
    signer = sandbox.issuer.get_signer(sandbox.issuer.keys["sandbox-key"], {"fiscal_code": code})
    return bool(sandbox.issuer.requests[request_id].signer_id == signer["id"])


@pytest.mark.parametrize("source", ["environment", "file", "stdin", "command-line"])
def test_each_source_reaches_the_service_and_only_the_command_line_warns(
    api_env: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    source: str,
) -> None:
    code = fiscal_code()
    monkeypatch.delenv("FIRMAIO_FISCAL_CODE", raising=False)
    argv: list[str] = []
    if source == "environment":
        monkeypatch.setenv("FIRMAIO_FISCAL_CODE", code)
    elif source == "file":
        (tmp_path / "cf.txt").write_text(f"{code}\n")
        argv = ["--fiscal-code-file", str(tmp_path / "cf.txt")]
    elif source == "stdin":
        monkeypatch.setattr("sys.stdin", io.StringIO(f"{code}\n"))
        argv = ["--fiscal-code-file", "-"]
    else:
        argv = ["--fiscal-code", code]
    status, out = send(*argv)
    err = capsys.readouterr().err
    assert status == 0, (out, err)
    shown = json.loads(out)
    assert shown["flow"]["state"] == "NOTIFIED"
    assert request_for(api_env, code, shown["flow"]["request_id"])
    assert (ON_THE_COMMAND_LINE in err) == (source == "command-line")
    assert code not in out + err


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("none", "name the citizen: $FIRMAIO_FISCAL_CODE, or --fiscal-code-file FILE"),
        ("both", "give --fiscal-code or --fiscal-code-file, not both"),
        ("empty-file", "no fiscal code in the file"),
        ("missing-file", "cannot read the file"),
    ],
)
def test_a_fiscal_code_that_cannot_be_read_is_a_usage_error_and_calls_nothing(
    api_env: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    setup: str,
    message: str,
) -> None:
    monkeypatch.delenv("FIRMAIO_FISCAL_CODE", raising=False)
    (tmp_path / "empty.txt").write_text("\n\n")
    argv = {
        "none": [],
        "both": ["--fiscal-code", "RSSMRA80A01H501U", "--fiscal-code-file", "-"],
        "empty-file": ["--fiscal-code-file", str(tmp_path / "empty.txt")],
        "missing-file": ["--fiscal-code-file", str(tmp_path / "no-such.txt")],
    }[setup]
    calls = sum(api_env.state.calls.values())
    status, _out = send(*argv)
    assert status == 2
    assert message in capsys.readouterr().err
    assert sum(api_env.state.calls.values()) == calls
