"""Every bad database: one clear line, a documented exit code, nothing created, never "intact".

Each test runs the command as a user would (``main(argv)``) and checks what they see: the exit
code, the one line on stderr (no traceback), and that the file system is as it was.
"""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest

from firmaio.adapters.cli import main
from firmaio.adapters.store import open_store
from firmaio.fsm.errors import StoreUnusable
from tests.conftest import POSTGRES_URL


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FIRMAIO_API_KEY", "any-key")
    monkeypatch.setenv("FIRMAIO_BASE_URL", "http://127.0.0.1:1")  # never reached


def firmaio(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    return code, out.getvalue() + err


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_verify_of_a_path_that_does_not_exist_creates_nothing_and_is_not_green(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, said = firmaio(capsys, "audit", "verify", "--db", "typo.sqlite")
    assert code == 6
    assert "no store at 'typo.sqlite'" in said
    assert "intact" not in said
    assert listing(tmp_path) == []


def test_show_of_a_missing_store_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, said = firmaio(capsys, "audit", "show", "SOME-ID", "--db", "missing.sqlite")
    assert code == 6
    assert "nothing was created" in said
    assert listing(tmp_path) == []


def test_a_file_that_is_not_a_database_is_named_and_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corrupt = tmp_path / "corrupt.sqlite"
    corrupt.write_bytes(b"this is not SQLite, it is a text file with enough bytes in it" * 4)
    before = corrupt.read_bytes()
    for argv in (("audit", "verify"), ("run", "SOME-ID")):
        code, said = firmaio(capsys, *argv, "--db", "corrupt.sqlite")
        assert code == 6
        assert "is not a SQLite database" in said
    assert corrupt.read_bytes() == before
    assert listing(tmp_path) == ["corrupt.sqlite"]


def test_a_store_in_a_folder_that_does_not_exist_is_refused_without_creating_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, said = firmaio(capsys, "run", "--db", "no/such/dir/x.sqlite", "SOME-ID")
    assert code == 6
    assert "its folder 'no/such/dir' does not exist" in said
    assert listing(tmp_path) == []


def test_an_unreachable_postgresql_names_host_and_port_never_the_password(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, said = firmaio(capsys, "run", "--db", "postgresql://nobody:s3cret@127.0.0.1:1/x", "ID")
    assert code == 7
    assert "nobody@127.0.0.1:1/x" in said
    assert "cannot be reached" in said
    assert "s3cret" not in said


def test_a_database_of_another_application_is_not_taken_over(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    connection.close()
    before = other.read_bytes()
    for argv in (("audit", "verify"), ("run", "SOME-ID")):
        code, said = firmaio(capsys, *argv, "--db", str(other))
        assert code == 6
        assert "not a firmaio-fsm store" in said
    assert other.read_bytes() == before


def test_an_empty_database_is_no_store_to_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty.sqlite").touch()
    code, said = firmaio(capsys, "audit", "verify", "--db", "empty.sqlite")
    assert code == 6
    assert "has no flows" in said
    assert (tmp_path / "empty.sqlite").stat().st_size == 0


def test_a_read_writes_nothing_to_a_real_store(tmp_path: Path) -> None:
    path = str(tmp_path / "flows.sqlite")
    store = open_store(path)
    store.create("R1", activation_deadline=100.0, now=1.0, due_at=1.0)
    store.close()
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    out = io.StringIO()
    assert main(["audit", "verify", "--db", path], out=out) == 0
    assert "checked 1 flows" in out.getvalue()
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name in before}
    assert after == before
    reader = open_store(path, read_only=True)
    try:
        with pytest.raises(StoreUnusable, match="read-only"):
            reader.create("R2", activation_deadline=100.0, now=1.0, due_at=1.0)
    finally:
        reader.close()


def test_a_postgresql_database_with_no_flows_is_no_store_to_read(postgres_url: str) -> None:
    with pytest.raises(StoreUnusable, match="has no flows"):
        open_store(postgres_url, read_only=True)
    store = open_store(postgres_url)  # a command that drives flows creates the schema
    store.close()
    open_store(postgres_url, read_only=True).close()


@pytest.mark.parametrize(
    ("change", "said"),
    [("user", "refused the login"), ("dbname", "no such database")],
)
def test_a_postgresql_that_refuses_the_login_or_lacks_the_database_is_exit_6(
    postgres_url: str, capsys: pytest.CaptureFixture[str], change: str, said: str
) -> None:
    """Not "unreachable, rerun later" (7): the URL is wrong, and no rerun will fix it."""
    from psycopg.conninfo import conninfo_to_dict

    parts = {"user": "postgres", "dbname": "test", **conninfo_to_dict(POSTGRES_URL)}
    parts[change] = "firmaio_no_such_" + change
    url = (
        f"postgresql://{parts['user']}:s3cret-pw@{parts.get('host', '127.0.0.1')}:"
        f"{parts.get('port', 5432)}/{parts['dbname']}"
    )
    code, text = firmaio(capsys, "audit", "verify", "--db", url)
    assert code == 6
    assert said in text
    assert "s3cret-pw" not in text


def test_output_names_a_postgresql_store_without_its_password(
    postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    open_store(postgres_url).close()
    out = io.StringIO()
    with_password = postgres_url.replace("postgresql://postgres@", "postgresql://postgres:pw9@")
    assert main(["audit", "verify", "--db", with_password, "--json"], out=out) in (0, 6)
    assert "pw9" not in out.getvalue() + capsys.readouterr().err
