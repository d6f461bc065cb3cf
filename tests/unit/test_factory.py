"""Settings made once, and the one factory every run mode builds its drivers with."""

from __future__ import annotations

import asyncio
import dataclasses
import math
from typing import Any

import pytest

from firmaio.adapters.cli import Wiring, build_parser
from firmaio.adapters.cli.wiring import settings_from_args
from firmaio.adapters.client import DEFAULT_TIMEOUT, RetryPolicy
from firmaio.adapters.factory import Factory, open_flow
from firmaio.adapters.runner import BatchRun
from firmaio.adapters.serve import Service
from firmaio.adapters.settings import Settings
from firmaio.fsm import (
    Driver,
    DurableDriver,
    Flow,
    Hooks,
    InvalidInput,
    PollingPolicy,
    ResendPolicy,
    State,
)
from firmaio.fsm.testing import ManualClock, ScriptedApi

RID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
FAST = RetryPolicy(attempts=2, wait_initial=0.0, wait_max=0.0, wait_jitter=0.0)


class NoStore:
    """Stands for a store: building drivers and runs touches none of it."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the store was used ({name}) while only building")


def boundary(_point: str, _flow: Flow, _trigger: str) -> None:
    """A step-boundary callback to recognise."""


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("concurrency", 0),
        ("rate_calls", True),
        ("tick", 0.0),
        ("watch_every", -1.0),
        ("retry_after", math.inf),
        ("rate_period", "5"),
        ("recovery_grace", -0.5),
        ("recovery_grace", math.nan),
        ("metrics_port", 70_000),
        ("base_url", "ftp://api.test"),
        ("polling", 120.0),
        ("resend", (5, 30)),
        ("retry", None),
    ],
)
def test_a_setting_that_cannot_work_is_refused_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(InvalidInput, match=rf"Settings\.{field} must be"):
        Settings(**{field: value})  # type: ignore[arg-type]


def test_settings_are_frozen_and_a_zero_recovery_grace_is_allowed() -> None:
    settings = Settings(recovery_grace=0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.tick = 1.0  # type: ignore[misc]
    assert Settings().worker == Settings().worker  # host:pid, the same in one process


def test_every_driver_the_factory_builds_carries_the_settings() -> None:
    """One flow's driver, a worker's, a batch run's and the service's: the same policies, the
    recovery grace, the hooks, the boundary callback; the actor each run mode stamps."""
    settings = Settings(
        polling=PollingPolicy(activation_timeout=7.0), resend=ResendPolicy(delays=()),
        recovery_grace=0.0, actor="sportello-3", worker="w1", tenant="comune-a",
    )  # fmt: skip
    hooks, api = Hooks(), ScriptedApi()
    factory = Factory(settings, ManualClock(), NoStore(), hooks=hooks, on_boundary=boundary)
    drivers = [
        ("sportello-3", factory.driver(api)),
        ("w1/comune-b", factory.worker_driver(api, "comune-b")),
        ("w1/comune-a", factory.batch(api, [RID]).driver),
        ("w1/comune-a", Service(factory, api)._driver(None)),
    ]
    for actor, driver in drivers:
        assert isinstance(driver, DurableDriver)
        assert driver.actor == actor
        assert driver.recovery_grace == 0.0
        assert driver.policy is settings.polling
        assert driver.resend is settings.resend
        assert driver.hooks is hooks
        assert driver.journal.on_boundary is boundary
    in_memory = Factory(settings, ManualClock()).driver(api)
    assert type(in_memory) is Driver
    assert (in_memory.recovery_grace, in_memory.actor) == (0.0, "sportello-3")


def test_durable_work_without_a_store_is_refused() -> None:
    factory, api = Factory(Settings(), ManualClock()), ScriptedApi()
    with pytest.raises(InvalidInput, match="store"):
        factory.batch(api, [RID])
    with pytest.raises(InvalidInput, match="store"):
        factory.worker_driver(api, None)
    with pytest.raises(InvalidInput, match="store"):
        Service(factory, api)


def test_a_batch_run_refuses_a_driver_that_writes_to_another_store() -> None:
    driver = Factory(Settings(), ManualClock(), NoStore()).worker_driver(ScriptedApi(), None)
    with pytest.raises(InvalidInput, match="store"):
        BatchRun(Settings(), NoStore(), driver, [RID])  # type: ignore[arg-type]


def test_with_settings_changes_only_what_it_is_told() -> None:
    factory = Factory(Settings(concurrency=8, tick=1.0), ManualClock(), NoStore(), hooks=Hooks())
    shared = factory.with_settings(concurrency=2)
    assert (shared.settings.concurrency, shared.settings.tick) == (2, 1.0)
    assert (shared.clock, shared.store, shared.hooks) == (
        factory.clock,
        factory.store,
        factory.hooks,
    )
    with pytest.raises(TypeError):
        factory.with_settings(no_such_field=1)


def test_open_flow_makes_a_new_flow_in_memory() -> None:
    driver = Factory(Settings(), ManualClock()).driver(ScriptedApi())
    flow = asyncio.run(open_flow(driver, RID))
    assert (flow.id, flow.state, flow.history) == (RID, State.READY, [])


def test_the_command_makes_its_settings_from_its_options() -> None:
    """The retry policy once (the wiring's, with --notification-grace), and the recovery grace
    from it: the call's timeout plus that grace."""
    args = build_parser().parse_args(
        [
            "run", RID, "--notification-grace", "5", "--activation-timeout", "9",
            "--resend-after", "none", "--concurrency", "3", "--worker", "w", "--tenant", "comune-a",
            "--base-url", "http://127.0.0.1:9/api/v1/sign", "--db", "flows.sqlite",
        ]
    )  # fmt: skip
    settings = settings_from_args(args, Wiring(retry=FAST))
    assert settings.retry == dataclasses.replace(FAST, notification_grace=5.0)
    assert settings.recovery_grace == (DEFAULT_TIMEOUT.read or 0.0) + 5.0
    assert settings.polling.activation_timeout == 9.0
    assert settings.resend.delays == ()
    assert (settings.concurrency, settings.worker, settings.tenant) == (3, "w", "comune-a")
    assert settings.base_url == "http://127.0.0.1:9/api/v1/sign"


def test_a_command_s_defaults_are_the_settings_defaults() -> None:
    """The default tenant is no tenant; no --notification-grace: the default 40 s grace."""
    args = build_parser().parse_args(["notify", RID, "--tenant", "default"])
    settings = settings_from_args(args, Wiring())
    assert settings.tenant is None
    assert settings.recovery_grace == Settings().recovery_grace
    assert settings.retry == RetryPolicy()
    assert settings.signed_dir == Settings().signed_dir
    fetch = build_parser().parse_args(["fetch", RID, "--to", "here"])
    assert settings_from_args(fetch, Wiring()).signed_dir == "here"
