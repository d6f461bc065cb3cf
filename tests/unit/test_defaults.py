"""A default is written once: the library's classes, the stored order and every ``firmaio``
command that takes the option agree on it, and the help prints it from there."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from firmaio.adapters.cli.parser import build_parser
from firmaio.adapters.client import RetryPolicy
from firmaio.adapters.ratelimit import GATEWAY_CALLS, GATEWAY_PERIOD, SlidingWindow
from firmaio.fsm import PollingPolicy, ResendPolicy
from firmaio.fsm.driving.engine import default_engine
from firmaio.fsm.machine import DEFAULT_ACTIVATION_TIMEOUT, DEFAULT_VALIDATION_TIMEOUT, Order

RID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"


def _commands() -> dict[str, argparse.ArgumentParser]:
    """Every command and sub-command of ``firmaio`` by its name (``audit verify``...)."""
    found: dict[str, argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser, prefix: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    found[f"{prefix}{name}"] = child
                    walk(child, f"{prefix}{name} ")

    walk(build_parser(), "")
    return found


def _taking(option: str) -> dict[str, argparse.Action]:
    """The commands that take ``option``, with its action in each."""
    return {
        name: action
        for name, parser in _commands().items()
        for action in parser._actions
        if option in action.option_strings
    }


def _help(command: str) -> str:
    return " ".join(_commands()[command].format_help().split())


def test_the_activation_timeout_is_one_default() -> None:
    """The engine, the polling policy, an order (made, and read back from an older flow's
    facts) and every command that drives a flow wait as long for a request to leave READY."""
    flow = default_engine().new_flow(RID, now=0)
    assert flow.activation_deadline == DEFAULT_ACTIVATION_TIMEOUT
    assert PollingPolicy().activation_timeout == DEFAULT_ACTIVATION_TIMEOUT
    fields = {f.name: f for f in dataclasses.fields(Order)}
    assert fields["activation_timeout"].default == DEFAULT_ACTIVATION_TIMEOUT
    stored = Order.from_facts({"order.pdf": "form.pdf"})
    assert stored is not None
    assert stored.activation_timeout == DEFAULT_ACTIVATION_TIMEOUT
    assert stored.validation_timeout == DEFAULT_VALIDATION_TIMEOUT
    commands = _taking("--activation-timeout")
    assert {"run", "serve", "worker", "enqueue", "notify", "send"} <= set(commands)
    for name, action in commands.items():
        assert action.default == DEFAULT_ACTIVATION_TIMEOUT, name
        assert f"(default {DEFAULT_ACTIVATION_TIMEOUT:g})" in _help(name), name


def test_the_validation_timeout_is_one_default() -> None:
    (action,) = _taking("--validation-timeout").values()
    assert action.default == DEFAULT_VALIDATION_TIMEOUT
    assert f"validate the upload ({DEFAULT_VALIDATION_TIMEOUT:g})" in _help("send")


@pytest.mark.parametrize("command", ["run", "serve", "notify", "send", "worker"])
def test_the_help_prints_the_client_s_and_the_resend_defaults(command: str) -> None:
    """``--notification-grace`` and ``--resend-after`` default to the policies' own values
    (the parser leaves them unset); the help says what those are."""
    text = _help(command)
    assert f"(default {RetryPolicy().notification_grace:g})" in text
    delays = ",".join(f"{d:g}" for d in ResendPolicy().delays)
    assert f"(default {delays};" in text


def test_the_gateway_s_limit_is_one_default() -> None:
    """The client's window and the sandbox's gateway count the same limit."""
    window = SlidingWindow()
    assert (window.calls, window.period) == (GATEWAY_CALLS, GATEWAY_PERIOD)
    sandbox = {a.dest: a.default for a in _commands()["sandbox"]._actions}
    assert (sandbox["rate_calls"], sandbox["rate_period"]) == (GATEWAY_CALLS, GATEWAY_PERIOD)
