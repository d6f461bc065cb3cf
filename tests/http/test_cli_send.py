"""``firmaio send``, ``fetch`` and ``delivered`` as a user runs them, against the sandbox."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest

from firmaio.adapters.cli import main
from firmaio.adapters.cli.demo import sample_pdf
from firmaio.adapters.sandbox import Sandbox
from tests.sandbox_helpers import fiscal_code


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


SEND = ("--field", "firma_richiedente:Firma del richiedente", "--title", "Modulo di adesione")


def test_send_then_fetch_the_signed_document(api_env: Sandbox, tmp_path: Path) -> None:
    code = fiscal_code()
    db = str(tmp_path / "flows.sqlite")
    status, out = run("send", str(sample_pdf()), "--fiscal-code", code, *SEND, "--db", db, "--json")
    assert status == 0, out
    shown = json.loads(out)
    assert shown["flow"]["state"] == "NOTIFIED"
    assert shown["flow"]["io_message_id"]
    assert code not in out
    flow_id, request_id = shown["flow"]["flow_id"], shown["flow"]["request_id"]
    assert api_env.issuer.messages_sent(request_id) == 1

    api_env.issuer.close(request_id, "SIGNED")
    status, out = run("fetch", flow_id, "--db", db, "--to", str(tmp_path / "out"))
    assert status == 0, out
    [pdf] = (tmp_path / "out" / request_id).glob("*.pdf")
    assert f"sha256 {hashlib.sha256(pdf.read_bytes()).hexdigest()}" in out

    status, out = run("send", str(sample_pdf()), "--fiscal-code", code, *SEND, "--db", db,
                      "--id", flow_id, "--json")  # fmt: skip
    assert status == 0, out  # the same --id again: the stored flow, SIGNED, nothing new made
    assert json.loads(out)["flow"]["state"] == "SIGNED"
    assert api_env.issuer.messages_sent(request_id) == 1


def test_send_a_pdf_the_service_refuses_exits_17_with_its_words(
    api_env: Sandbox, tmp_path: Path
) -> None:
    """A field placed where it cannot fit: the service's own check (the file opens, and the page
    exists, so the local check lets it go)."""
    status, out = run(
        "send", str(sample_pdf()), "--fiscal-code", fiscal_code(), "--fields",
        str(off_the_page(tmp_path)), "--title", "Modulo", "--json",
    )  # fmt: skip
    assert status == 17, out
    shown = json.loads(out)
    assert shown["flow"]["state"] == "DOCUMENT_REFUSED"
    assert "incompatible coordinates" in shown["flow"]["records"][-1]["reason"]


def off_the_page(tmp_path: Path) -> Path:
    """A fields file: one field on page 0 of the sample form, far off its right edge."""
    fields = [{"attrs": {"page": 0, "coordinates": {"x": 5000, "y": 10}, "size": {"w": 100,
               "h": 40}}, "clause": {"title": "Firma qui", "type": "REQUIRED"}}]  # fmt: skip
    path = tmp_path / "fields.json"
    path.write_text(json.dumps(fields))
    return path


def test_delivered_records_the_channel_of_a_refused_citizen(
    api_env: Sandbox, tmp_path: Path
) -> None:
    db = str(tmp_path / "flows.sqlite")
    status, out = run("send", str(sample_pdf()), "--fiscal-code", fiscal_code("X"), *SEND,
                      "--db", db, "--json")  # fmt: skip
    assert status == 10, out
    flow_id = json.loads(out)["flow"]["flow_id"]
    status, out = run("delivered", flow_id, "--db", db, "--channel", "email", "--json")
    assert status == 0, out
    last = json.loads(out)["flow"]["records"][-1]
    assert last["trigger"] == "deliver_fallback"
    assert last["facts"] == {"channel": "email"}
    status, out = run("delivered", flow_id, "--channel", "email")
    assert status == 2  # no --db: refused, nothing recorded


def test_delivered_needs_no_api_key_and_calls_nothing(
    api_env: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``delivered`` records what happened outside the service: without FIRMAIO_API_KEY, and with
    the base URL on a port nothing listens on, it records the channel all the same."""
    db = str(tmp_path / "flows.sqlite")
    status, out = run("send", str(sample_pdf()), "--fiscal-code", fiscal_code("X"), *SEND,
                      "--db", db, "--json")  # fmt: skip
    assert status == 10, out
    flow_id = json.loads(out)["flow"]["flow_id"]
    monkeypatch.delenv("FIRMAIO_API_KEY")
    monkeypatch.setenv("FIRMAIO_BASE_URL", "http://127.0.0.1:9/api/v1/sign")  # discard: closed
    status, out = run("delivered", flow_id, "--db", db, "--channel", "letter", "--json")
    assert status == 0, out
    shown = json.loads(out)
    assert shown["flow"]["state"] == "FALLBACK_SUGGESTED"  # where it rests: recorded, not moved
    assert shown["flow"]["records"][-1]["trigger"] == "deliver_fallback"
    assert shown["flow"]["records"][-1]["facts"] == {"channel": "letter"}
    status, _ = run("notify", flow_id, "--db", db)  # a command that calls: the key is missing
    assert status == 3


def test_send_needs_fields_and_a_fiscal_code(api_env: Sandbox) -> None:
    status, _out = run("send", str(sample_pdf()), "--fiscal-code", fiscal_code())
    assert status == 2
    status, _out = run("send", str(sample_pdf()), *SEND, "--fiscal-code", "RSSMRA80")
    assert status == 2
