"""A tenants file's webhook fields, read as written: the URL, the secret's source (a relative
file beside the tenants file), the retries or the default schedule cut to ``webhook_attempts``;
the secret checked when read, never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmaio.adapters.tenants import Tenants
from firmaio.adapters.webhooks import WebhookTarget, default_retries
from firmaio.fsm.errors import ApiConfigurationError
from tests.webhook_helpers import SECRET


def test_a_tenants_file_names_each_tenants_webhook(tmp_path: Path) -> None:
    path = tmp_path / "tenants.toml"
    path.write_text(
        '[roma]\nkey_env = "K"\nwebhook_url = "https://roma.example/hook"\n'
        'webhook_secret_file = "roma.secret"\nwebhook_retries = [5, 30]\n\n'
        '[milano]\nkey_env = "K"\nwebhook_url = "http://milano.example/"\n'
        'webhook_secret_env = "MILANO_HOOK"\nwebhook_attempts = 3\n\n'
        '[torino]\nkey_env = "K"\n'
    )
    tenants = Tenants.load(path)
    roma, milano = tenants["roma"].webhook, tenants["milano"].webhook
    assert roma == WebhookTarget(
        "roma", "https://roma.example/hook", secret_file=tmp_path / "roma.secret",
        retries=(5, 30),
    )  # fmt: skip
    assert roma.attempts == 3
    assert milano is not None
    assert milano.retries == default_retries(3) == (60.0, 240.0)
    assert tenants["torino"].webhook is None
    assert [t.tenant for t in tenants.webhooks()] == ["roma", "milano"]


def test_a_secret_is_read_checked_and_never_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = WebhookTarget("roma", "https://user:pw@roma.example/h?t=pw", secret_env="HOOK")
    monkeypatch.setenv("HOOK", f"  {SECRET}\n")
    assert target.secret() == SECRET
    assert "pw" not in repr(target)
    monkeypatch.setenv("HOOK", SECRET[:-20])  # too short once decoded
    with pytest.raises(ApiConfigurationError, match="not a Standard Webhooks secret") as caught:
        target.secret()
    assert SECRET[:-20] not in str(caught.value)
    secret = tmp_path / "hook.secret"
    secret.write_text(SECRET)
    secret.chmod(0o600)
    assert WebhookTarget("roma", "http://h/", secret_file=secret).secret() == SECRET
