"""Every ``sh`` example of the manual runs against the loopback sandbox, a page's blocks in one
folder, each command exiting 0; the commands that cannot run on a test machine are the ones
:data:`~tests.console_examples.NOT_RUN` lists, with the reason (:mod:`tests.console_examples`
says what a block may hold and what its placeholders become)."""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from firmaio.adapters.cli import main
from firmaio.adapters.cli.demo import sample_pdf
from firmaio.adapters.cli.parser import build_parser
from firmaio.adapters.sandbox import Sandbox
from firmaio.adapters.store import open_store
from firmaio.adapters.store.listing import FlowFilter
from tests.console_examples import (
    GIVEN,
    NOT_RUN,
    ROOT,
    SANDBOX_IN_EXAMPLES,
    Command,
    ShBlock,
    filled,
    not_run,
    run,
    serves,
    sh_blocks,
)
from tests.sandbox_helpers import fiscal_code, ready_request

pytestmark = pytest.mark.http

SH_BLOCKS = sh_blocks()
PAGES = sorted({block.page for block in SH_BLOCKS})
PYTHON = re.compile(r"^```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)
ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")
MADE_UP_ID = "01JR0000000000000000000099"


def listing(page: str, marker: str) -> str:
    """The Python listing of ``page`` that holds ``marker`` (a script the page shows whole)."""
    text = (ROOT / page).read_text(encoding="utf-8")
    return next(m.group(1) for m in PYTHON.finditer(text) if marker in m.group(1))


@dataclass
class Shell:
    """One page's run: its folder, the sandbox, the flows its commands made."""

    sandbox: Sandbox
    folder: Path
    monkeypatch: pytest.MonkeyPatch
    sent: dict[str, str] = field(default_factory=dict)
    """Each store's last flow a ``send`` made."""

    def origin(self) -> str:
        return self.sandbox.url.split("/api/")[0]

    def db_of(self, command: str) -> str:
        found = re.search(r"--db[ =](\S+)", command)
        return found.group(1) if found else os.environ.get("FIRMAIO_DB", "flows.sqlite")

    def newest(self, db: str) -> tuple[str, str | None]:
        store = open_store(db)
        try:
            row = store.list_flows(FlowFilter(), limit=1).rows[0]
        finally:
            store.close()
        return row.flow_id, row.request_id

    def request_of(self, db: str, flow_id: str) -> str:
        store = open_store(db)
        try:
            found = store.listed(flow_id, None)
        finally:
            store.close()
        assert found is not None, flow_id
        assert found.request_id is not None, flow_id
        return found.request_id

    def values(self, command: str, *, listed: bool = False) -> dict[str, str]:
        """What ``command``'s placeholders stand for (:func:`~tests.console_examples.filled`)."""
        values = {"SANDBOX": self.origin()}
        if not re.search(r"\bID\b|FLOW_ID|REQUEST_ID", command):
            return values
        if listed:  # only parsed: any well-formed id
            return values | dict.fromkeys(("FLOW_ID", "ID", "REQUEST_ID"), MADE_UP_ID)
        db = self.db_of(command)
        if re.match(r"firmaio delivered\b", command):  # a flow the fallback was offered to
            refused = ready_request(self.sandbox, messages_on=False)
            assert main(["notify", refused, "--db", db], out=io.StringIO()) == 10  # fallback
            flow_id = refused
        else:
            flow_id = self.sent.get(db) or self.newest(db)[0]
        request_id = self.request_of(db, flow_id)
        signed = self.sandbox.issuer.requests[request_id].status == "SIGNED"
        if re.match(r"firmaio fetch\b", command) and not signed:  # "once SIGNED"
            self.sandbox.issuer.close(request_id, "SIGNED")
        return values | {"FLOW_ID": flow_id, "ID": flow_id, "REQUEST_ID": request_id}

    def run(self, block: ShBlock, written: str) -> None:
        reason = not_run(block.page, written)
        words = self.words(filled(written, self.values(written, listed=reason is not None)))
        where = f"{block.name}: `{written}`"
        if reason is not None:
            if words[0] == "firmaio":  # not run, but its options exist and its values pass
                build_parser().parse_args(words[1:])
        elif words[0] == "export":
            for assignment in words[1:]:
                name, _, value = assignment.partition("=")
                if "$(" in value:  # a command's output: the shell's to run
                    value = self.sh(f'printf %s "{value}"')
                self.monkeypatch.setenv(name, value or os.environ.get(name, ""))
        elif words[:2] == ["read", "-rs"]:  # typed at the terminal: a citizen's fiscal code
            self.monkeypatch.setenv(words[2], fiscal_code())
        elif words[0] in ("curl", "python3"):
            self.program(words, where)
        else:
            assert words[0] != "firmaio" or not serves(words), (
                f"{where} serves until stopped: list it in NOT_RUN (tests/console_examples.py)"
            )
            shown = run(Command(shlex.join(words)), block, compare=False)
            self.after(words, shown, where)

    def words(self, command: str) -> list[str]:
        """The command's words, once what the shell would do around it is done: TEXT piped
        from ``echo`` is on standard input, ``NAME=VALUE`` before it in the environment."""
        if " | " in command and command.startswith("echo "):
            typed, command = command.removeprefix("echo ").split(" | ", 1)
            self.monkeypatch.setattr(sys, "stdin", io.StringIO(shlex.split(typed)[0] + "\n"))
        words = shlex.split(command, comments=True)
        if words[-1] == "&":  # in the background: a server (NOT_RUN says so)
            words.pop()
        while ASSIGNMENT.match(words[0]):  # NAME=VALUE before the command: its environment
            name, _, value = words.pop(0).partition("=")
            self.monkeypatch.setenv(name, value)
        if Path(words[0]).name == "firmaio":
            words[0] = "firmaio"
        return words

    def program(self, words: list[str], where: str) -> None:
        """``curl`` on loopback (an answer other than 2xx fails), or the page's Python script
        (which must print ``VERIFIED``)."""
        if words[0] == "curl":
            done = subprocess.run([*words, "--fail", "-sS"], capture_output=True, text=True)
        else:
            done = subprocess.run([sys.executable, *words[1:]], capture_output=True, text=True)
            assert "VERIFIED" in done.stdout, f"{where} printed {done.stdout}{done.stderr}"
        assert done.returncode == 0, f"{where}: {done.stdout}{done.stderr}"

    def after(self, words: list[str], shown: str, where: str) -> None:
        """What the command's comment promises, where it can be checked."""
        if words[1] == "send" and "--db" in words:
            db = words[words.index("--db") + 1]
            self.sent[db] = self.newest(db)[0]
            if "--json" in words:
                flow = json.loads(shown)["flow"]
                assert flow["flow_id"] == self.sent[db], where
                assert flow["request_id"], where
        if words[1] == "fetch":
            to = words[words.index("--to") + 1] if "--to" in words else "signed"
            db = words[words.index("--db") + 1]
            request_id = self.request_of(db, words[2])
            assert list((Path(to) / request_id).glob("*.pdf")), f"{where}: no signed PDF"

    def sh(self, script: str) -> str:
        env = os.environ | {"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr
        return done.stdout


def given(folder: Path) -> None:
    """The files the examples take as there: the sample PDF under each name they use, the
    :data:`GIVEN` files, and docs/evidence.md's verifier."""
    for name in ("modulo.pdf", "contratto.pdf", "allegato.pdf", "examples/documents/modulo.pdf"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(sample_pdf(), folder / name)
    files = GIVEN | {"verifica.py": listing("docs/evidence.md", "VERIFIED")}
    for name, text in files.items():
        path = folder / name.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        path.chmod(0o600)
    for made in ("etc/firmaio", "checkpoints", "audit"):  # where the examples write files
        (folder / made).mkdir(parents=True, exist_ok=True)


@pytest.mark.parametrize("page", PAGES)
def test_the_pages_shell_examples_run(
    page: str, api_env: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    given(tmp_path)
    monkeypatch.setenv("FIRMAIO_FISCAL_CODE", fiscal_code())
    monkeypatch.setenv("FIRMAIO_CONSOLE_PASSWORD", "la password che il terminale chiederebbe")
    notified = ready_request(api_env)
    assert main(["notify", notified, "--db", "flows.sqlite"], out=io.StringIO()) == 0
    shell = Shell(api_env, tmp_path, monkeypatch)
    for block in (b for b in SH_BLOCKS if b.page == page):
        for command in block.commands:
            shell.run(block, command)


def test_every_command_not_run_is_one_of_the_manual() -> None:
    """An entry of NOT_RUN that matches no command any more goes (the list stays the truth)."""
    for (page, start), reason in NOT_RUN.items():
        matched = [
            c for b in SH_BLOCKS if b.page == page for c in b.commands if c.startswith(start)
        ]
        assert matched, f"NOT_RUN[{page!r}, {start!r}] ({reason}) matches no command"


def test_a_command_that_cannot_run_and_is_not_listed_fails() -> None:
    block = ShBlock("docs/new.md", 1, ["systemctl restart firmaio-serve"])
    with pytest.raises(AssertionError, match="cannot run in the suite"):
        run(Command(block.commands[0]), block, compare=False)


def test_a_server_not_listed_fails_at_once(
    api_env: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    block = ShBlock("docs/new.md", 1, ["firmaio serve --db flows.sqlite"])
    with pytest.raises(AssertionError, match="serves until stopped"):
        Shell(api_env, tmp_path, monkeypatch).run(block, block.commands[0])
    assert not serves(["firmaio", "console", "add-user", "maria"])


def test_placeholders_are_given_real_values() -> None:
    values = {"SANDBOX": "http://h", "FLOW_ID": "F1", "ID": "F1", "REQUEST_ID": "R1"}
    assert (
        filled(f"curl {SANDBOX_IN_EXAMPLES}/r/REQUEST_ID/close", values)
        == "curl http://h/r/R1/close"
    )
    assert filled("firmaio x ID... --db ... [--lang en] [--a A | --b B]", values) == (
        "firmaio x F1 --db flows.sqlite --lang en --a A"
    )
    assert filled("firmaio x --key-file /secure/k --out out/ID", values) == (
        "firmaio x --key-file secure/k --out out/F1"
    )
