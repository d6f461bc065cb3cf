"""The firmaio command: diagrams and the demo, called in-process."""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
import stamina
import zxingcpp
from PIL import Image

from firmaio.adapters.cli import DEMO_CITIZENS, main
from firmaio.adapters.sandbox import Sandbox
from firmaio.fsm.diagrams.render import FILES, FORMATS, render
from tests.sandbox_helpers import ready_request


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


@pytest.mark.parametrize("fmt", FORMATS)
def test_diagram_prints_each_format(fmt: str) -> None:
    """`firmaio diagram --format F` prints what the table renders."""
    assert run("diagram", "--format", fmt) == (0, render(fmt))


def test_diagram_writes_every_format(tmp_path: Path) -> None:
    """`firmaio diagram --write DIR` writes the four documents."""
    code, _ = run("diagram", "--write", str(tmp_path))
    assert code == 0
    for fmt in FORMATS:
        assert (tmp_path / FILES[fmt]).read_text() == render(fmt)


def test_unknown_format_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """The bad choice is named on one line, and the exit code is 2."""
    assert run("diagram", "--format", "png")[0] == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'png'" in err
    assert err.count("\n") == 1


def test_demo_drives_the_three_citizens_over_http(tmp_path: Path) -> None:
    """NOTIFIED; NOTIFY_REFUSED then FALLBACK_SUGGESTED with a QR file; push-off NOTIFIED."""
    code, text = run("demo", "--qr-dir", str(tmp_path), "--activation-delay", "0.5")
    assert code == 0
    assert "over HTTP against the sandbox at http://127.0.0.1:" in text
    assert re.findall(r"final state: (\w+)", text) == ["NOTIFIED", "FALLBACK_SUGGESTED", "NOTIFIED"]
    assert re.findall(r"IO messages the sandbox sent: (\d+)", text) == ["1", "0", "1"]
    assert (
        "WAIT_FOR_SIGNATURE -> NOTIFY_REFUSED  accepted [citizen_disabled_messages] HTTP 400"
        in text
    )
    assert "NOTIFY_REFUSED -> FALLBACK_SUGGESTED  accepted" in text
    [png] = tmp_path.glob("qr-*.png")
    request_id = png.stem.removeprefix("qr-")
    [code_read] = zxingcpp.read_barcodes(Image.open(png))
    assert (
        code_read.text == f"https://continua.io.pagopa.it/fci/main?signatureRequestId={request_id}"
    )
    assert (tmp_path / f"qr-{request_id}.svg").exists()
    for _title, fiscal_code, _settings in DEMO_CITIZENS:
        assert fiscal_code not in text
    # then the first citizen signs, and the flow fetches the signed document
    assert "Citizen who receives messages signed in the sandbox: SIGNED" in text
    [signed] = (tmp_path / "signed").rglob("*.pdf")
    digest = hashlib.sha256(signed.read_bytes()).hexdigest()
    assert f"sha256: {digest}" in text
    assert f"signed document: {signed}" in text


# -- commands on real requests, against the sandbox --------------------------------------------


def run_json(*argv: str) -> tuple[int, dict[str, Any]]:
    code, text = run(*argv, "--json")
    return code, json.loads(text)


def test_notify_reaches_notified(api_env: Sandbox, tmp_path: Path) -> None:
    """`firmaio notify ID --json`: exit 0, NOTIFIED, the io_message_id the sandbox sent."""
    request_id = ready_request(api_env)
    code, out = run_json("notify", request_id, "--qr-dir", str(tmp_path))
    assert code == 0
    assert out["flow"]["state"] == "NOTIFIED"
    assert out["flow"]["io_message_id"] == api_env.issuer.messages[request_id][0]
    assert out["exit_code"] == 0
    assert [r["target"] for r in out["flow"]["records"]][-1] == "NOTIFIED"


def test_notify_refused_exits_10_with_the_fallback(api_env: Sandbox, tmp_path: Path) -> None:
    """Messages off: exit 10, the fallback's link and QR files in the JSON."""
    request_id = ready_request(api_env, messages_on=False)
    code, out = run_json("notify", request_id, "--qr-dir", str(tmp_path))
    assert code == 10
    assert out["flow"]["state"] == "FALLBACK_SUGGESTED"
    assert out["flow"]["fallback"]["reason"] == "messages_disabled"
    assert out["flow"]["fallback"]["link"].endswith(f"signatureRequestId={request_id}")
    assert Path(out["flow"]["fallback"]["qr_png"]).exists()


def test_notify_human_output_and_failure_exit(api_env: Sandbox, tmp_path: Path) -> None:
    """A request of another issuer: exit 14, FAILED, with the reason printed."""
    api_env.issuer.add_key("cli-other-key", "cli-other-issuer")
    request_id = ready_request(api_env)
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FIRMAIO_API_KEY", "cli-other-key")
        code = main(["notify", request_id, "--qr-dir", str(tmp_path)], out=out)
    assert code == 14
    assert "final state: FAILED" in out.getvalue()
    assert "does not exist for this issuer" in out.getvalue()


def test_watch_until_signed_and_not_settled(api_env: Sandbox) -> None:
    """watch: exit 0 once SIGNED; exit 15 when the checks run out while it is still open."""
    request_id = ready_request(api_env)  # activated at once
    code, out = run_json("watch", request_id, "--interval", "0.01", "--max-checks", "1")
    assert (code, out["flow"]["state"]) == (15, "WAIT_FOR_SIGNATURE")
    api_env.issuer.close(request_id, "SIGNED")
    code, out = run_json("watch", request_id, "--interval", "0.01")
    assert (code, out["flow"]["state"]) == (0, "SIGNED")


@pytest.mark.parametrize("messages_on", [True, False])
def test_watch_of_a_notified_or_refused_request_not_signed_is_not_settled(
    api_env: Sandbox, tmp_path: Path, messages_on: bool
) -> None:
    """`notify ID && watch ID` as a script runs them: a watch whose checks run out while the
    request is still open exits 15 from NOTIFIED and FALLBACK_SUGGESTED too (it exited 0 from
    NOTIFIED: "signed", said the script)."""
    request_id = ready_request(api_env, messages_on=messages_on)
    db = str(tmp_path / "flows.sqlite")
    assert run_json("notify", request_id, "--db", db)[0] == (0 if messages_on else 10)
    code, out = run_json("watch", request_id, "--db", db, "--interval", "0", "--max-checks", "1")
    state = "NOTIFIED" if messages_on else "FALLBACK_SUGGESTED"
    assert (code, out["flow"]["state"]) == (15, state)


def test_cancel_and_cancel_too_early(api_env: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    """cancel: exit 0 once WAIT_FOR_SIGNATURE; a READY request is refused with exit 5."""
    request_id = ready_request(api_env)  # activated at once
    saved, api_env.issuer.activation_delay = api_env.issuer.activation_delay, 60
    try:
        early = ready_request(api_env)
        assert run("cancel", early)[0] == 5
        assert "'cancel' is not allowed in state READY" in capsys.readouterr().err
    finally:
        api_env.issuer.activation_delay = saved
    code, out = run_json("cancel", request_id)
    assert (code, out["flow"]["state"]) == (0, "CANCELLED")


def test_missing_key_and_bad_id_say_what_to_do(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No key: exit 3 and how to set it; a bad id: exit 2 naming it."""
    monkeypatch.delenv("FIRMAIO_API_KEY", raising=False)
    assert run("notify", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "--base-url", sandbox.url)[0] == 3
    assert "FIRMAIO_API_KEY is not set" in capsys.readouterr().err
    monkeypatch.setenv("FIRMAIO_API_KEY", "sandbox-key")
    assert run("notify", "../etc", "--base-url", sandbox.url)[0] == 2
    assert "contains '..'" in capsys.readouterr().err


def test_unreachable_api_exits_4(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing listening: retried (no waits in stamina's testing mode), then exit 4."""
    monkeypatch.setenv("FIRMAIO_API_KEY", "sandbox-key")
    stamina.set_testing(True, attempts=2)
    try:
        code, _ = run(
            "notify", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "--base-url", "http://127.0.0.1:9/api/v1/sign"
        )
    finally:
        stamina.set_testing(False)
    assert code == 4
    assert "no usable answer" in capsys.readouterr().err


def test_verbose_logs_json_events_without_the_key(
    api_env: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    """-v: one JSON line per event on stderr; the key never appears."""
    request_id = ready_request(api_env)
    assert run("-v", "notify", request_id)[0] == 0
    lines = [
        json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")
    ]
    events = {line["event"] for line in lines}
    assert {"issuer_api.call", "fsm.transition"} <= events
    assert "sandbox-key" not in json.dumps(lines)
    calls = [line for line in lines if line["event"] == "issuer_api.call"]
    assert {(line["request_id"], line["flow_id"]) for line in calls} == {(request_id, request_id)}


def test_cancel_a_stored_flow_at_rest(api_env: Sandbox, tmp_path: Path) -> None:
    """`cancel --db` on a NOTIFIED flow cancels it (no activation check is fired at rest)."""
    request_id, db = ready_request(api_env), str(tmp_path / "flows.sqlite")
    assert run_json("notify", request_id, "--db", db, "--qr-dir", str(tmp_path))[0] == 0
    code, out = run_json("cancel", request_id, "--db", db, "--qr-dir", str(tmp_path))
    assert (code, out["flow"]["state"]) == (0, "CANCELLED")
    assert [r["trigger"] for r in out["flow"]["records"]][-1] == "cancel"
