"""``firmaio run``, ``serve``, ``worker`` and ``send`` check the base URL and the key with one
call at start: a wrong one stops the command there, exit 3, naming the setting, before any flow
is touched (no flow call at the service, the stored flow as it was, nothing queued, no flow
made). The sync facade does the same, before its store is opened."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from firmaio.adapters import Firmaio
from firmaio.adapters.cli import main
from firmaio.adapters.cli.demo import sample_pdf
from firmaio.adapters.sandbox import Sandbox
from firmaio.adapters.settings import Settings
from firmaio.adapters.store import open_store
from firmaio.fsm import ApiConfigurationError
from tests.sandbox_helpers import ready_request

BASE_URL = "the base URL (--base-url or FIRMAIO_BASE_URL)"


class _Proxy(BaseHTTPRequestHandler):
    """A corporate proxy in front of a wrong host: 404 and an HTML page for anything."""

    def do_GET(self) -> None:
        page = b"<html><body><h1>404</h1>No such site on this proxy</body></html>"
        self.send_response(404)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, *_args: object) -> None:
        return


@pytest.fixture(scope="module")
def proxy() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/v1/sign"
    server.shutdown()
    server.server_close()


def calls_on_flows(sandbox: Sandbox) -> int:
    """The calls the sandbox served but the start's check (``getDossier``)."""
    return sum(n for name, n in sandbox.state.calls.items() if name != "getDossier")


def wrong(setting: str, sandbox: Sandbox, proxy: str) -> tuple[str, str, str]:
    """The base URL and key of ``setting`` gone wrong, and what the message must name."""
    if setting == "path":  # the /api/v1/sign path left out
        return sandbox.url.removesuffix("/api/v1/sign"), "sandbox-key", BASE_URL
    if setting == "host":
        return proxy, "sandbox-key", BASE_URL
    return sandbox.url, "not-the-key", "FIRMAIO_API_KEY"


def stored(db: str, rid: str) -> tuple[str, int]:
    store = open_store(db)
    try:
        [row] = store.rows([rid])
    finally:
        store.close()
    return row.state, row.seq


def register(db: str, rid: str) -> None:
    store = open_store(db)
    try:
        now = time.time()
        store.create_many([rid], activation_deadline=now + 120, now=now)
    finally:
        store.close()


@pytest.mark.parametrize("setting", ["path", "host", "key"])
@pytest.mark.parametrize("command", ["run", "serve", "worker", "send"])
def test_a_wrong_setting_stops_the_command_at_start(
    command: str,
    setting: str,
    sandbox: Sandbox,
    proxy: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    base_url, key, named = wrong(setting, sandbox, proxy)
    monkeypatch.setenv("FIRMAIO_API_KEY", key)
    monkeypatch.setenv("FIRMAIO_BASE_URL", base_url)
    monkeypatch.setenv("FIRMAIO_FISCAL_CODE", "RSSMRA80A01H501U")
    monkeypatch.chdir(tmp_path)
    rid = ready_request(sandbox)
    postgres = command == "worker"
    db = request.getfixturevalue("postgres_url") if postgres else str(tmp_path / "flows.sqlite")
    if command != "send":
        register(db, rid)
    argv = {
        "run": ["run", rid],
        "serve": ["serve", "--tick", "0.1"],
        "worker": ["worker"],
        "send": ["send", str(sample_pdf()), "--field", "firma_richiedente", "--id", rid],
    }[command]
    before = calls_on_flows(sandbox)
    out = io.StringIO()
    code = main([*argv, "--db", db, "--json"], out=out)
    err = capsys.readouterr().err
    assert code == 3, err
    assert named in err
    assert "does not look like the issuer API" in err or "was refused" in err
    assert "Traceback" not in err
    if out.getvalue():
        assert json.loads(out.getvalue())["exit_code"] == 3
    assert calls_on_flows(sandbox) == before, "a call on a flow was made"
    if command == "send":
        store = open_store(db)
        try:
            assert store.rows() == [], "a flow was made before the check passed"
        finally:
            store.close()
    else:
        assert stored(db, rid) == ("READY", 0)
    if postgres:
        import psycopg

        with psycopg.connect(db) as conn:
            queue = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
        assert queue == (None,), "the job queue was installed before the check passed"


@pytest.mark.parametrize("setting", ["path", "key"])
def test_the_sync_facade_checks_its_settings_when_made(
    setting: str, sandbox: Sandbox, proxy: str, tmp_path: Path
) -> None:
    base_url, key, _ = wrong(setting, sandbox, proxy)
    named = "Settings.base_url" if setting == "path" else "the api_key given"
    db = tmp_path / "flows.sqlite"
    with pytest.raises(ApiConfigurationError, match=named):
        Firmaio(key, db=str(db), settings=Settings(base_url=base_url))
    assert not db.exists()
