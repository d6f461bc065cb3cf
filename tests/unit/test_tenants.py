"""Tenants: where each administration's key comes from, never the key itself."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from firmaio.adapters.cli import main
from firmaio.adapters.tenants import DEFAULT_TENANT, Tenant, Tenants, key_id
from firmaio.fsm.errors import ApiConfigurationError, InvalidInput

SECRET = "s3cr3t-key-of-comune-b"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tenants.toml"
    path.write_text(text)
    return path


def test_a_tenants_file_names_where_each_key_comes_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "b.key").write_text(SECRET + "\n")
    (tmp_path / "secrets" / "b.key").chmod(0o600)
    path = write(
        tmp_path,
        '[comune-a]\nkey_env = "KEY_A"\n\n[comune-b]\nkey_file = "secrets/b.key"\n',
    )
    monkeypatch.setenv("KEY_A", "key-of-a")
    tenants = Tenants.load(path)
    assert sorted(tenants) == ["comune-a", "comune-b"]
    assert tenants.keys_by_tenant() == {"comune-a": "key-of-a", "comune-b": SECRET}
    assert tenants.of("comune-b").key_file == tmp_path / "secrets" / "b.key"
    with pytest.raises(
        InvalidInput, match=r"unknown tenant 'default' in .*tenants.toml; known: comune-a, comune-b"
    ):
        tenants.of(None)  # flows with no tenant are not this file's


def test_without_a_file_the_one_tenant_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIRMAIO_API_KEY", "k")
    tenants = Tenants()
    assert tenants.of(None).name == DEFAULT_TENANT
    assert tenants.keys_by_tenant() == {DEFAULT_TENANT: "k"}


@pytest.mark.parametrize(
    ("tenant", "wrong"),
    [
        (Tenant("comune-a", key_env="NOT_SET_ANYWHERE"), "environment variable NOT_SET_ANYWHERE"),
        (Tenant("comune-a", key_file=Path("/nonexistent/firmaio.key")), "/nonexistent/firmaio.key"),
    ],
)
def test_a_missing_key_names_the_tenant_and_where_it_was_looked_for(
    tenant: Tenant, wrong: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    with pytest.raises(ApiConfigurationError) as error:
        tenant.key()
    assert "comune-a" in str(error.value)
    assert wrong in str(error.value)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("[a]\nkey_env = 'K'\nkey = 'x'\n", r"tenant 'a' has unknown field\(s\) key"),
        ("[a]\n", "needs exactly one of key_env and key_file"),
        ("[a]\nkey_env = 'K'\nkey_file = 'f'\n", "needs exactly one of key_env and key_file"),
        ("[\"Comune A\"]\nkey_env = 'K'\n", "tenant name 'Comune A' is not valid"),
        ("[a]\nkey_env = '1 2'\n", "is not an environment variable name"),
        ("[a]\nkey_env = 3\n", r"a\.key_env must be a string"),
        ("a = 1\n", "'a' must be a table"),
        ("[a\n", "is not valid TOML"),
        ("", "must name at least one tenant"),
    ],
)
def test_a_bad_tenants_file_is_refused_naming_what_is_wrong(
    tmp_path: Path, text: str, said: str
) -> None:
    with pytest.raises(InvalidInput, match=said):
        Tenants.load(write(tmp_path, text))


def test_a_key_id_does_not_reveal_the_key() -> None:
    assert SECRET not in key_id(SECRET)
    assert key_id(SECRET) == key_id(SECRET) != key_id(SECRET + "x")


def test_a_worker_with_a_missing_key_stops_before_it_opens_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exit 3, one JSON answer naming the tenant and the variable; nothing is connected to (the
    store's address here is one nothing listens on)."""
    monkeypatch.delenv("KEY_B", raising=False)
    monkeypatch.setenv("KEY_A", SECRET)
    path = write(tmp_path, '[comune-a]\nkey_env = "KEY_A"\n[comune-b]\nkey_env = "KEY_B"\n')
    out = io.StringIO()
    argv = ["worker", "--db", "postgresql://u@127.0.0.1:1/x", "--tenants", str(path), "--json"]
    assert main(argv, out=out) == 3
    answer = json.loads(out.getvalue())
    assert answer["failure"]["kind"] == "configuration"
    assert "comune-b" in answer["failure"]["message"]
    assert "KEY_B" in answer["failure"]["message"]
    assert SECRET not in out.getvalue()


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["worker", "--db", "flows.sqlite"], "--db must be a postgresql:// URL"),
        (["enqueue", "--db", "flows.sqlite", "01ARZ3NDEKTSV4RRFFQ69G5FAV"], "postgresql://"),
        (
            [
                "enqueue",
                "--db",
                "postgresql://u@127.0.0.1:1/x",
                "--tenant",
                "nobody",
                "01ARZ3NDEKTSV4RRFFQ69G5FAV",
            ],
            "unknown tenant 'nobody'",
        ),
        (["enqueue", "--db", "postgresql://u@127.0.0.1:1/x", "--tenant", "No Body"], "not valid"),
        (  # no abbreviations: --tenant is not --tenants
            ["worker", "--db", "postgresql://u@127.0.0.1:1/x", "--tenant", "comune-a"],
            "unrecognized arguments: --tenant",
        ),
    ],
)
def test_queue_commands_refuse_bad_input_before_opening_anything(
    argv: list[str], said: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    assert main([*argv, "--json"], out=out) == 2
    assert said in json.loads(out.getvalue())["failure"]["message"]
    assert list(tmp_path.iterdir()) == []
