"""The conventions every ``firmaio`` command follows, those of today and those added later:
``--version``, global options before or after the command, ``FIRMAIO_*`` variables for every
option (said in ``--help``), "did you mean", ``--db`` never a silent default, a description and
examples, only the options a command uses, and a quiet end on a closed pipe."""

from __future__ import annotations

import argparse
import io
from importlib.metadata import version
from pathlib import Path

import pytest

from firmaio.adapters.cli import CLOSED_PIPE, build_parser, main
from firmaio.adapters.cli.conventions import Parser, env_name, finish, walk
from firmaio.fsm.errors import InvalidInput

RID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def test_version_is_the_package_s() -> None:
    assert run("--version") == (0, f"firmaio {version('firmaio-fsm')}\n")


@pytest.mark.parametrize(
    "argv",
    [
        ["-v", "--log-format", "console", "notify", RID],
        ["notify", RID, "-v", "--log-format", "console"],
        ["notify", "--log-format=console", RID, "--verbose"],
    ],
)
def test_global_options_go_before_or_after_the_command(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert (args.verbose, args.log_format, args.request_id) == (True, "console", RID)


def test_a_global_option_not_given_keeps_its_default() -> None:
    args = build_parser().parse_args(["notify", RID])
    assert (args.verbose, args.log_format, args.log_level) == (False, None, None)


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["notfy", RID], "did you mean 'notify'?"),
        (["audit", "sho", RID], "did you mean 'show'?"),
        (["notify", RID, "--qr-dirr", "x"], "did you mean --qr-dir?"),
        (["notify", RID, "--lock-wiat=3"], "did you mean --lock-wait?"),
    ],
)
def test_a_typo_gets_the_closest_name(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(*argv)[0] == 2
    err = capsys.readouterr().err
    assert said in err
    assert err.count("\n") == 1


def test_db_is_never_a_silent_default(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.delenv("FIRMAIO_DB", raising=False)
    monkeypatch.setenv("FIRMAIO_CONSOLE_SECRET", "s" * 40)
    monkeypatch.setenv("FIRMAIO_CONSOLE_PASSWORD", "a password long enough")
    monkeypatch.chdir(tmp_path)
    for argv in (
        ["audit", "verify"], ["audit", "show", RID], ["run", RID], ["report"], ["events"],
        ["console"], ["console", "add-user", "maria", "--role", "comune-di-roma:viewer"],
        ["evidence", RID, "--public-key", "public.pem"],
    ):  # fmt: skip
        assert run(*argv)[0] == 2, argv
        assert "--db (or $FIRMAIO_DB)" in capsys.readouterr().err, argv
    assert list(tmp_path.iterdir()) == []  # no store made where the command ran
    monkeypatch.setenv("FIRMAIO_DB", "kept.sqlite")
    assert build_parser().parse_args(["audit", "verify"]).db == "kept.sqlite"
    assert (
        build_parser().parse_args(["audit", "verify", "--db", "given.sqlite"]).db == "given.sqlite"
    )


def test_no_command_has_a_store_by_default() -> None:
    """A ``--db`` added to a command later cannot default to a file either (``console`` and
    ``evidence`` defaulted to ./flows.sqlite: ``console add-user`` made one and kept the account
    there)."""
    for parser in walk(build_parser()):
        for action in parser._actions:
            if "--db" in action.option_strings:
                assert action.default in (None, argparse.SUPPRESS), (parser.prog, action.default)


def test_every_option_says_its_variable_in_help() -> None:
    for parser in walk(build_parser()):
        text = " ".join(parser.format_help().split())
        for action in parser._actions:
            name = env_name(action)
            if name is not None and action.default is not argparse.SUPPRESS:
                assert f"[env: {name}]" in text, (parser.prog, name)


def test_every_command_s_help_says_the_global_options_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for parser in list(walk(build_parser()))[1:]:
        text = " ".join(parser.format_help().split())
        for name in ("FIRMAIO_VERBOSE", "FIRMAIO_LOG_FORMAT", "FIRMAIO_LOG_LEVEL"):
            assert f"[env: {name}]" in text, (parser.prog, name)
    monkeypatch.setenv("FIRMAIO_LOG_FORMAT", "console")  # what the help says is true
    assert build_parser().parse_args(["notify", RID]).log_format == "console"


def test_another_command_s_variable_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIRMAIO_FORMAT", "png")  # diagram's --format: a bad value, not used
    assert build_parser().parse_args(["notify", RID]).request_id == RID


def test_variables_set_options_and_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIRMAIO_LOCK_WAIT", "7")
    monkeypatch.setenv("FIRMAIO_JSON", "yes")
    monkeypatch.setenv("FIRMAIO_RESEND_AFTER", "5,30")
    monkeypatch.setenv("FIRMAIO_LOG_LEVEL", "INFO")
    args = build_parser().parse_args(["notify", RID])
    assert (args.lock_wait, args.json, args.resend_after, args.log_level) == (
        7.0, True, (5.0, 30.0), "info",
    )  # fmt: skip
    assert build_parser().parse_args(["notify", RID, "--lock-wait", "2"]).lock_wait == 2.0
    monkeypatch.setenv("FIRMAIO_LOCK_WAIT", "soon")
    with pytest.raises(InvalidInput, match=r"\$FIRMAIO_LOCK_WAIT: .*'soon'"):
        build_parser().parse_args(["notify", RID])
    monkeypatch.setenv("FIRMAIO_LOCK_WAIT", "1")
    monkeypatch.setenv("FIRMAIO_JSON", "perhaps")
    with pytest.raises(InvalidInput, match=r"\$FIRMAIO_JSON='perhaps'"):
        build_parser().parse_args(["notify", RID])


def test_a_command_added_later_gets_every_convention(monkeypatch: pytest.MonkeyPatch) -> None:
    """What another module's ``add_X_command(sub)`` gets without a line of its own."""
    parser = Parser(prog="firmaio")
    sub = parser.add_subparsers(dest="command", required=True)
    later = sub.add_parser("flows", help="list flows")
    later.add_argument("--state", choices=("READY", "NOTIFIED"), help="in this state")
    later.add_argument("--db", required=True, help="the store")
    finish(parser)
    monkeypatch.setenv("FIRMAIO_STATE", "READY")
    monkeypatch.setenv("FIRMAIO_DB", "f.sqlite")
    args = parser.parse_args(["flows", "-v"])
    assert (args.state, args.db, args.verbose) == ("READY", "f.sqlite", True)
    assert "[env: FIRMAIO_STATE]" in later.format_help()
    assert later.description == "List flows."
    monkeypatch.setenv("FIRMAIO_STATE", "GONE")
    with pytest.raises(InvalidInput, match=r"\$FIRMAIO_STATE: invalid choice: 'GONE'"):
        parser.parse_args(["flows"])
    monkeypatch.delenv("FIRMAIO_STATE")
    with pytest.raises(InvalidInput, match="did you mean 'flows'"):
        parser.parse_args(["flow"])


def test_each_command_has_a_description_and_examples() -> None:
    for parser in list(walk(build_parser()))[1:]:
        assert parser.description, parser.prog
        assert (parser.epilog or "").startswith("examples:\n"), parser.prog
        command = parser.prog.split()[1]
        lines = [
            line for line in (parser.epilog or "").splitlines() if line.startswith("  firmaio")
        ]
        assert lines, parser.prog
        assert all(f"firmaio {command}" in line for line in lines), parser.prog


@pytest.mark.parametrize("command", ["fetch", "delivered"])
def test_fetch_and_delivered_show_only_options_they_use(command: str) -> None:
    text = dict((p.prog, p) for p in walk(build_parser()))[f"firmaio {command}"].format_help()
    for unused in ("--qr-dir", "--renotify-after", "--resend-after", "--notification-grace"):
        assert unused not in text
    assert "FLOW_ID" in text


class ClosedPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_pipe_ends_quietly(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagram"], out=ClosedPipe()) == CLOSED_PIPE
    assert capsys.readouterr().err == ""
