"""Key files other local users may read or write are refused (or, when the operator says so,
read with a warning); the key is never in a message."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmaio.adapters.key_files import LOOSE_ENV, read_key_file
from firmaio.adapters.tenants import Tenant
from firmaio.adapters.trail import read_key
from firmaio.fsm import ApiConfigurationError, InvalidInput

SECRET = "tenant-key-that-must-stay-secret"


def key_file(tmp_path: Path, mode: int) -> Path:
    path = tmp_path / "key"
    path.write_text(SECRET + "\n")
    path.chmod(mode)
    return path


@pytest.mark.parametrize(
    ("mode", "who"),
    [
        (0o644, "its group and every other user"),
        (0o604, "every other user"),
        (0o640, "its group"),
        (0o620, "its group"),
        (0o602, "every other user"),
    ],
)
def test_a_tenant_key_file_others_may_read_or_write_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: int, who: str
) -> None:
    monkeypatch.delenv(LOOSE_ENV, raising=False)
    path = key_file(tmp_path, mode)
    with pytest.raises(ApiConfigurationError) as refused:
        Tenant("comune-a", key_file=path).key()
    said = str(refused.value)
    assert f"may be read or changed by {who} (mode {mode:04o})" in said
    assert "chmod 600" in said
    assert "tenant 'comune-a'" in said
    assert SECRET not in said


def test_a_key_file_of_its_owner_alone_is_read(tmp_path: Path) -> None:
    assert Tenant("comune-a", key_file=key_file(tmp_path, 0o600)).key() == SECRET
    assert read_key(str(key_file(tmp_path, 0o400))) == SECRET.encode()


def test_the_checkpoint_key_file_is_held_to_the_same_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(LOOSE_ENV, raising=False)
    with pytest.raises(InvalidInput, match=r"the key file .* \(mode 0644\)") as refused:
        read_key(str(key_file(tmp_path, 0o644)))
    assert SECRET not in str(refused.value)


def test_the_operator_may_accept_a_loose_file_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A platform that mounts secrets 0444 (a container's) sets FIRMAIO_LOOSE_KEY_FILES=warn."""
    monkeypatch.setenv(LOOSE_ENV, "warn")
    assert read_key_file(key_file(tmp_path, 0o444), "the key file") == (SECRET + "\n").encode()
    err = capsys.readouterr().err
    assert "firmaio: warning: the key file" in err
    assert "(mode 0444)" in err
    assert SECRET not in err
