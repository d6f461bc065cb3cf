"""Every command's ``--json`` is the one envelope its schema describes, on every path: a tour of
the commands over one store against the session's sandbox, each output validated, then the
paths where nothing ran (a bad argument, a typo, a missing store, a file that is not a PDF)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from firmaio.adapters.cli import build_parser, main
from firmaio.adapters.cli.conventions import walk
from firmaio.adapters.cli.demo import sample_pdf
from firmaio.adapters.sandbox import Sandbox
from tests.envelope_helpers import enveloped
from tests.multidoc_helpers import valid_fiscal_code, write_manifest
from tests.sandbox_helpers import fiscal_code, ready_request

SEND = ("--field", "firma_richiedente:Firma del richiedente", "--title", "Modulo di adesione")
ELSEWHERE = {"serve", "worker", "enqueue"}
"""Checked where they run (tests/process: serve's and the workers' summaries; enqueue needs
PostgreSQL: tests/store/test_enqueue_cli.py)."""

seen: set[str] = set()


def firmaio(*argv: str, code: int | None = 0) -> dict[str, Any]:
    out = io.StringIO()
    returned = main([*argv, "--json"], out=out)
    document = enveloped(out.getvalue())
    assert document["exit_code"] == returned
    if code is not None:
        assert returned == code, document
    if document["command"]:
        seen.add(document["command"])
    return document


def test_every_command_prints_the_envelope(api_env: Sandbox, tmp_path: Path) -> None:
    db = str(tmp_path / "flows.sqlite")
    sent = firmaio("send", str(sample_pdf()), "--fiscal-code", fiscal_code(), *SEND, "--db", db)
    flow = sent["flow"]
    assert (sent["command"], flow["state"]) == ("send", "NOTIFIED")
    assert flow["flow_id"] != flow["request_id"]  # a flow from a PDF has its own id
    assert all(isinstance(r["guards"], dict) for r in flow["records"])
    fetched = firmaio("fetch", flow["flow_id"], "--db", db, code=15)
    assert fetched["flow"]["flow_id"] == flow["flow_id"]
    api_env.issuer.close(flow["request_id"], "SIGNED")
    assert firmaio("fetch", flow["flow_id"], "--db", db)["flow"]["state"] == "SIGNED"

    notified = ready_request(api_env)
    assert firmaio("notify", notified, "--db", db)["flow"]["request_id"] == notified
    api_env.issuer.close(notified, "SIGNED")
    firmaio("watch", notified, "--db", db, "--interval", "0")
    refused = ready_request(api_env, messages_on=False)
    firmaio("notify", refused, "--db", db, "--qr-dir", str(tmp_path), code=10)
    firmaio("delivered", refused, "--db", db, "--channel", "email")
    firmaio("cancel", ready_request(api_env), "--db", db)
    ran = firmaio("run", ready_request(api_env), "--db", db)
    assert [f["state"] for f in ran["flows"]] == ["NOTIFIED"]
    firmaio("check", notified, "--db", db)
    assert firmaio("audit", "verify", "--db", db)["flow_count"] == 5
    shown = firmaio("audit", "show", notified, "--db", db)["flow"]
    assert all(len(r["hash"]) == 64 for r in shown["records"])
    firmaio("events", "--db", db)
    firmaio("events", "--db", db, "redeliver", "--dead-since", "1h")

    pdf = tmp_path / "modulo.pdf"
    pdf.write_bytes(sample_pdf().read_bytes())
    rows = [{"fiscal_code": valid_fiscal_code(7), "pdf": pdf.name, "reference": "pratica-7"}]
    manifest = write_manifest(tmp_path / "batch.csv", rows)
    batch = firmaio("send", "--manifest", str(manifest), "--field", SEND[1], "--db", db)
    assert batch["command"] == "send"
    status = firmaio("batch", "status", batch["batch_id"], "--db", db)
    assert status["counts"] == {"NOTIFIED": 1}

    private, public = str(tmp_path / "signing.pem"), str(tmp_path / "public.pem")
    firmaio("evidence", "keygen", private, public)
    checkpoint = str(tmp_path / "checkpoint.json")
    firmaio(
        "audit", "verify", "--db", db, "--signing-key", private, "--write-checkpoint", checkpoint
    )
    bundles = firmaio(
        "evidence", notified, "--db", db, "--checkpoint", checkpoint, "--public-key", public,
        "--out", str(tmp_path / "bundles"), "--no-pdf",
    )["bundles"]  # fmt: skip
    verdict = firmaio("evidence", "verify", bundles[0]["bundle"], "--public-key", public)
    assert verdict["holds"] is True
    listed = firmaio("flows", "--db", db, "--limit", "2")
    assert len(listed["flows"]) == 2
    assert listed["next_after"]
    assert firmaio("flows", "--db", db, "--counts")["counts"]

    with_json = {
        each.prog.removeprefix("firmaio ")
        for each in walk(build_parser())
        if any("--json" in a.option_strings for a in each._actions)
    }
    assert with_json - ELSEWHERE - seen == set(), "add the command to this tour"


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["notify", "no/such..id"], "notify"),
        (["notfy", "01ARZ3NDEKTSV4RRFFQ69G5FAV"], None),
        (["audit", "verify"], "audit verify"),
        (["run", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "--db", "x.sqlite", "--bogus"], "run"),
        (["events"], "events"),
    ],
)
def test_an_argument_refused_is_answered_in_the_envelope(
    argv: list[str], command: str | None, api_env: Sandbox
) -> None:
    document = firmaio(*argv, code=2)
    assert document["command"] == command
    assert document["failure"]["kind"] == "usage"


def test_a_file_that_is_not_a_pdf_is_answered_in_the_envelope(
    api_env: Sandbox, tmp_path: Path
) -> None:
    text = tmp_path / "lettera.txt"
    text.write_text("not a PDF")
    document = firmaio("send", str(text), "--fiscal-code", fiscal_code(), *SEND, code=2)
    assert document["command"] == "send"
    assert "PDF" in document["failure"]["message"]
    document = firmaio("send", str(sample_pdf()), *SEND, code=2)  # no fiscal code
    assert "FIRMAIO_FISCAL_CODE" in document["failure"]["message"]
