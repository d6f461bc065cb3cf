"""``firmaio console`` as its systemd unit runs it (deploy/systemd/firmaio-console.service): a
real process whose session secret is a file only its user may read, answering on loopback;
SIGTERM stops it within seconds with no traceback, ending by the signal (after uvicorn's
graceful shutdown), which systemd counts as a clean stop."""

from __future__ import annotations

import io
import signal
import subprocess
import time
from pathlib import Path

import httpx

from firmaio.adapters.cli import main
from tests.crashing_cli import command
from tests.process.test_serve import free_port


def test_sigterm_stops_the_console_cleanly(tmp_path: Path) -> None:
    db = str(tmp_path / "flows.sqlite")
    password = tmp_path / "password"
    password.write_text("a password long enough\n")
    password.chmod(0o600)
    argv = ["console", "add-user", "maria", "--role", "*:operator", "--password-file"]
    assert main([*argv, str(password), "--db", db], out=io.StringIO()) == 0
    secret = tmp_path / "console-secret"
    secret.write_text("s" * 48 + "\n")
    secret.chmod(0o400)  # as LoadCredential= hands it over
    port = free_port()
    firmaio, env = command("http://127.0.0.1:9/api/v1/sign", None)
    console = subprocess.Popen(
        [*firmaio, "console", "--db", db, "--session-secret-file", str(secret),
         "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
                break
            except httpx.TransportError:
                assert console.poll() is None, console.communicate()[1]
                assert time.monotonic() < deadline, "the console did not answer in 30 s"
                time.sleep(0.1)
        assert answer.status_code in (200, 303)  # the sign-in page, or a way to it
        stopped_at = time.monotonic()
        console.send_signal(signal.SIGTERM)
        _out, err = console.communicate(timeout=30)
    finally:
        if console.poll() is None:
            console.kill()
            console.communicate()
    assert time.monotonic() - stopped_at < 10
    assert console.returncode == -signal.SIGTERM, err  # systemd: a clean stop
    assert "Traceback" not in err, err
