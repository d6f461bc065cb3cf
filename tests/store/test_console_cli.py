"""``firmaio console add-user`` and ``firmaio console``'s refusals: a password is read from a file
only its owner may read, the environment or a prompt, never the command line; the account is kept
with its argon2id hash and its roles; a console with no secret or no account does not start."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from firmaio.adapters.cli import main
from firmaio.adapters.console.auth import password_matches
from firmaio.adapters.store import open_store

PASSWORD = "a long enough password"


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out), out.getvalue()


def test_add_user_keeps_the_hash_and_the_roles(tmp_path: Path) -> None:
    db, secret = str(tmp_path / "flows.sqlite"), tmp_path / "password"
    secret.write_text(PASSWORD + "\n")
    secret.chmod(0o600)
    code, said = run(
        "console", "add-user", "maria", "--db", db, "--password-file", str(secret),
        "--role", "a:operator", "--role", "b:viewer",
    )  # fmt: skip
    assert code == 0, said
    store = open_store(db)
    try:
        maria = store.account("maria")
    finally:
        store.close()
    assert maria is not None
    assert maria.roles == {"a": "operator", "b": "viewer"}
    assert maria.password_hash is not None
    assert maria.password_hash.startswith("$argon2id$")
    assert password_matches(maria.password_hash, PASSWORD)
    assert PASSWORD not in said


def test_add_user_for_an_identity_provider_has_no_password(tmp_path: Path) -> None:
    db = str(tmp_path / "flows.sqlite")
    code, _said = run(
        "console", "add-user", "anna@comune.it", "--oidc", "https://idp", "--role", "*:viewer",
        "--db", db,
    )  # fmt: skip
    assert code == 0
    store = open_store(db)
    try:
        found = store.oidc_account("https://idp", "any-subject", "anna@comune.it")
    finally:
        store.close()
    assert found is not None
    assert found.password_hash is None


def test_a_password_that_others_may_read_or_too_short_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, secret = str(tmp_path / "flows.sqlite"), tmp_path / "password"
    secret.write_text(PASSWORD)
    secret.chmod(0o644)
    base = ("console", "add-user", "maria", "--db", db, "--role", "a:operator")
    assert run(*base, "--password-file", str(secret))[0] == 2
    assert "chmod 600" in capsys.readouterr().err
    monkeypatch.setenv("FIRMAIO_CONSOLE_PASSWORD", "short")
    assert run(*base)[0] == 2
    assert "at least 12 characters" in capsys.readouterr().err
    monkeypatch.delenv("FIRMAIO_CONSOLE_PASSWORD")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # no terminal to ask at
    assert run(*base)[0] == 2
    assert "never on the command line" in capsys.readouterr().err
    assert run(*base[:-1], "a:root")[0] == 2  # an unknown role
    assert "TENANT:ROLE" in capsys.readouterr().err


def test_the_console_will_not_start_without_its_secret_and_an_account(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FIRMAIO_CONSOLE_SECRET", raising=False)
    assert run("console", "--db", str(tmp_path / "flows.sqlite"))[0] == 2
    said = capsys.readouterr().err
    assert "FIRMAIO_CONSOLE_SECRET" in said
    assert "firmaio console add-user" in said
    db = str(tmp_path / "flows.sqlite")
    assert run("console", "--db", db, "--host", "0.0.0.0", "--insecure-cookies")[0] == 2
    assert "loopback" in capsys.readouterr().err
