"""A webhook's bad settings stop ``firmaio serve`` and ``firmaio worker`` at start, exit 3, with
a message naming the tenant and the field (or the variable), never the secret; nothing is sent
to the receiver nor to the API."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from firmaio.adapters.cli import main
from firmaio.adapters.sandbox import Sandbox
from tests.webhook_helpers import SECRET

BAD_SECRET = "whsec_c2hvcnQ="  # valid base64, 5 bytes: too short to be a secret


class Receiver(BaseHTTPRequestHandler):
    posts = 0

    def do_POST(self) -> None:
        type(self).posts += 1
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        return


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.posts = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/events"
    server.shutdown()
    server.server_close()


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv, io.StringIO())
    return code, capsys.readouterr().err


def api_calls(sandbox: Sandbox) -> int:
    return sum(sandbox.state.calls.values())


SERVE_CASES = {
    "not http": (["--webhook-url", "ftp://receiver.example/x"], {}, "'default': webhook_url"),
    "secret unset": ([], {}, "no webhook secret in environment variable FIRMAIO_WEBHOOK_SECRET"),
    "secret malformed": ([], {"FIRMAIO_WEBHOOK_SECRET": BAD_SECRET}, "not a Standard Webhooks"),
    "secret's variable": (
        ["--webhook-secret-env", "MY_HOOK"], {"MY_HOOK": ""}, "environment variable MY_HOOK",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", SERVE_CASES)
def test_serve_refuses_a_bad_webhook_at_start(
    case: str,
    api_env: Sandbox,
    receiver: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    extra, env, named = SERVE_CASES[case]
    monkeypatch.delenv("FIRMAIO_WEBHOOK_SECRET", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    before = api_calls(api_env)
    argv = ["serve", "--db", "flows.sqlite", "--webhook-url", receiver, *extra]
    code, err = run(argv, capsys)
    assert code == 3, err
    assert named in err
    assert BAD_SECRET not in err
    assert Receiver.posts == 0
    assert api_calls(api_env) == before  # stopped before the settings' call


TENANT_CASES = {
    "not http": ('webhook_url = "file:///etc/passwd"', "tenant 'roma': webhook_url"),
    "secret unset": ('webhook_secret_env = "ROMA_HOOK"', "environment variable ROMA_HOOK"),
    "loose file": ('webhook_secret_file = "hook.secret"', "chmod 600"),
    "no url": ('webhook_retries = [1, 2]', "without webhook_url"),
    "bad retries": ('webhook_retries = [1, -2]', "webhook_retries must be seconds >= 0"),
}  # fmt: skip


@pytest.mark.parametrize("case", TENANT_CASES)
def test_worker_refuses_a_tenants_bad_webhook_at_start(
    case: str,
    api_env: Sandbox,
    receiver: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    line, named = TENANT_CASES[case]
    monkeypatch.setenv("FIRMAIO_KEY_ROMA", "sandbox-key")
    monkeypatch.delenv("ROMA_HOOK", raising=False)
    secret = tmp_path / "hook.secret"
    secret.write_text(SECRET)
    secret.chmod(0o644)
    entry = [f'webhook_url = "{receiver}"', 'webhook_secret_env = "ROMA_HOOK"']
    entry = [e for e in entry if e.split(" =")[0] != line.split(" =")[0]]
    if "secret_file" in line or "no url" in case:
        entry = [e for e in entry if "secret_env" not in e]
    if case == "no url":
        entry = []
    tenants = tmp_path / "tenants.toml"
    body = "\n".join(["[roma]", 'key_env = "FIRMAIO_KEY_ROMA"', *entry, line])
    tenants.write_text(body + "\n")
    before = api_calls(api_env)
    argv = ["worker", "--db", "postgresql://nobody@127.0.0.1:1/none", "--tenants", str(tenants)]
    code, err = run(argv, capsys)
    assert code == 3, err
    assert named in err
    assert SECRET not in err
    assert Receiver.posts == 0
    assert api_calls(api_env) == before  # stopped before the settings' call


def test_worker_without_a_tenants_file_takes_the_options(
    api_env: Sandbox,
    receiver: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The default tenant's webhook, from the options: an unset secret stops the worker at
    start; with --tenants, an option is refused (the file says it per tenant)."""
    monkeypatch.delenv("FIRMAIO_WEBHOOK_SECRET", raising=False)
    argv = ["worker", "--db", "postgresql://nobody@127.0.0.1:1/none", "--webhook-url", receiver]
    code, err = run(argv, capsys)
    assert code == 3, err
    assert (
        "tenant 'default': no webhook secret in environment variable FIRMAIO_WEBHOOK_SECRET" in err
    )
    code, err = run([*argv, "--tenants", "tenants.toml"], capsys)
    assert code == 2, err
    assert "--webhook-url: with --tenants, each tenant's webhook is in the tenants file" in err
    assert Receiver.posts == 0
