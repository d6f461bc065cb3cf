"""Logging the application controls: the library configures no output (an application that
configures nothing sees nothing from it on stdout); only ``firmaio`` configures it, with
``--log-format`` and ``--log-level``; ``serve`` says one line per pass."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from pathlib import Path

import pytest
import structlog

from firmaio.adapters import Firmaio
from firmaio.adapters.cli import main
from firmaio.adapters.clock import SystemClock
from firmaio.adapters.factory import Factory
from firmaio.adapters.sandbox import Sandbox
from firmaio.adapters.serve import Service
from firmaio.adapters.settings import Settings
from firmaio.adapters.store import open_async_store
from tests.conftest import make_client
from tests.http.test_watch_lock import requests, worker_runtime
from tests.sandbox_helpers import ready_request


@pytest.fixture
def unconfigured() -> None:
    """structlog as an application that never configured it finds it (``main`` configures it
    for the whole process; every ``main`` configures it again)."""
    structlog.reset_defaults()


def test_an_application_that_configures_nothing_sees_nothing_on_stdout(
    sandbox: Sandbox, unconfigured: None, capsys: pytest.CaptureFixture[str]
) -> None:
    request_id = ready_request(sandbox)
    with Firmaio("sandbox-key", settings=Settings(base_url=sandbox.url)) as firmaio:
        assert str(firmaio.notify(request_id).state) == "NOTIFIED"
    assert capsys.readouterr().out == ""


def test_an_application_routes_the_library_s_events_through_logging(
    sandbox: Sandbox, unconfigured: None, caplog: pytest.LogCaptureFixture
) -> None:
    """What docs/embedding.md shows: the events are records of loggers named firmaio.*."""
    request_id = ready_request(sandbox)
    settings = Settings(base_url=sandbox.url)
    with (
        caplog.at_level(logging.INFO, logger="firmaio"),
        Firmaio("sandbox-key", settings=settings) as firmaio,
    ):
        firmaio.notify(request_id)
    mine = [r for r in caplog.records if r.name.startswith("firmaio")]
    assert any(r.getMessage() == "fsm.transition" for r in mine), [r.msg for r in mine]
    assert all("sandbox-key" not in r.getMessage() for r in mine)


def test_log_format_json_lines_each_parse_with_flow_id(
    api_env: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    request_id = ready_request(api_env)
    argv = ["notify", request_id, "--log-format", "json", "--log-level", "info"]
    assert main(argv, out=io.StringIO()) == 0
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert lines, "nothing logged at info"
    about_the_flow = [line for line in lines if line["event"].startswith(("fsm.", "issuer_api."))]
    assert about_the_flow
    assert all(line["flow_id"] == request_id for line in about_the_flow)


def test_log_format_console_and_the_default_level(
    api_env: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["notify", ready_request(api_env)], out=io.StringIO()) == 0
    assert capsys.readouterr().err == ""  # errors only, by default
    argv = ["notify", ready_request(api_env), "--log-format", "console", "-v"]
    assert main(argv, out=io.StringIO()) == 0
    err = capsys.readouterr().err
    assert "fsm.transition" in err
    assert not err.lstrip().startswith("{")


def test_serve_logs_one_line_per_pass(sandbox: Sandbox, tmp_path: Path) -> None:
    request_id = ready_request(sandbox)

    async def serve() -> None:
        store = open_async_store(str(tmp_path / "flows.sqlite"))
        try:
            async with make_client(sandbox) as client:
                service = Service(Factory(Settings(tick=0.05), SystemClock(), store), client)
                running = asyncio.create_task(service.run([request_id]))
                while service.report.passes < 3:
                    await asyncio.sleep(0.02)
                service.stop()
                await running
        finally:
            await store.close()

    with structlog.testing.capture_logs() as logs:
        asyncio.run(asyncio.wait_for(serve(), 30))
    passes = [line for line in logs if line["event"] == "firmaio.serve.pass"]
    assert len(passes) >= 3
    assert passes[0]["log_level"] == "info"
    assert sum(line["driven"] for line in passes) == 1


def test_a_worker_logs_one_line_per_visit(api_env: Sandbox, postgres_url: str) -> None:
    """docs/cli.md: at info, a worker says one line per visit of a flow
    (``firmaio.worker.visit``), with the flow's id, its tenant and where the visit left it."""
    ids, dossier = requests(api_env, 2)

    async def visit() -> None:
        async with worker_runtime(api_env, postgres_url, ids, dossier) as (runtime, _clock):
            await asyncio.gather(*(runtime.tend(flow_id) for flow_id in ids))

    with structlog.testing.capture_logs() as logs:
        asyncio.run(asyncio.wait_for(visit(), 60))
    visits = [line for line in logs if line["event"] == "firmaio.worker.visit"]
    assert sorted(line["flow_id"] for line in visits) == sorted(ids)  # one each
    assert {(line["log_level"], line["state"], line["tenant"]) for line in visits} == {
        ("info", "NOTIFIED", "default")
    }
