"""Observability over real HTTP: one span per step with the flow id, the HTTP calls inside them,
and Prometheus counters scraped from the metrics endpoint after a batch run."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import httpx
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families

from firmaio.adapters import SystemClock, open_async_store
from firmaio.adapters.factory import Factory
from firmaio.adapters.observability import Metrics, OtelTracing
from firmaio.adapters.sandbox import Sandbox
from firmaio.fsm import Driver, Flow, Hooks
from tests.conftest import make_client
from tests.sandbox_helpers import fault, ready_request


def test_one_span_per_step_with_the_flow_id_and_the_calls_inside(sandbox: Sandbox) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing = OtelTracing(provider)
    ids = [ready_request(sandbox), ready_request(sandbox, messages_on=False)]

    async def drive() -> list[Flow]:
        async with make_client(sandbox) as client:
            tracing.instrument(client)
            driver = Driver(client, SystemClock(), tracer=tracing)
            flows = [driver.new_flow(request_id) for request_id in ids]
            await asyncio.gather(*(driver.advance(flow) for flow in flows))
            return flows

    flows = asyncio.run(drive())
    spans = exporter.get_finished_spans()
    steps = [s for s in spans if s.name.startswith("firmaio.step ")]
    assert len(steps) == sum(len(flow.history) for flow in flows)
    for flow in flows:
        mine = [s for s in steps if s.attributes["firmaio.flow_id"] == flow.id]
        assert [(s.attributes["firmaio.seq"], s.attributes["firmaio.target"]) for s in mine] == [
            (record.seq, str(record.target)) for record in flow.history
        ]
    calls = [s for s in spans if s not in steps]
    step_ids = {s.context.span_id for s in steps}
    assert calls
    assert all(s.parent is not None and s.parent.span_id in step_ids for s in calls)
    assert sum(1 for s in steps if s.attributes["firmaio.trigger"] == "suggest_fallback") == 1


def test_the_metrics_endpoint_after_a_batch_run(sandbox: Sandbox, tmp_path: Path) -> None:
    refused = {ready_request(sandbox, messages_on=False) for _ in range(2)}
    notified = {ready_request(sandbox) for _ in range(4)}
    db = str(tmp_path / "flows.sqlite")
    fault(sandbox, "getSignatureRequest", "status", status=429)
    metrics, hooks = Metrics(), Hooks()
    metrics.subscribe(hooks)
    metrics.track_store(db)
    server = metrics.serve(0)
    calls_before = dict(sandbox.state.calls)

    async def run() -> None:
        async with make_client(sandbox) as client:
            metrics.instrument(client)
            store = open_async_store(db)
            try:
                factory = Factory(clock=SystemClock(), store=store, hooks=hooks)
                batch = factory.batch(client, [*refused, *notified])
                await batch.run()
            finally:
                await store.close()

    try:
        asyncio.run(run())
        text = httpx.get(f"http://127.0.0.1:{server.port}/metrics").text
    finally:
        server.close()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }

    def value(name: str, **labels: str) -> float:
        return samples.get((name, tuple(sorted(labels.items()))), 0.0)

    notify = {"trigger": "notify", "outcome": "accepted"}
    assert value("firmaio_transitions_total", target="NOTIFIED", **notify) == 4
    assert value("firmaio_transitions_total", target="NOTIFY_REFUSED", **notify) == 2
    assert value("firmaio_flows", state="NOTIFIED") == 4
    assert value("firmaio_flows", state="FALLBACK_SUGGESTED") == 2
    assert value("firmaio_api_throttled_total") == 1
    made = {op: n - calls_before.get(op, 0) for op, n in sandbox.state.calls.items()}
    sent = value(
        "firmaio_api_calls_total",
        method="PUT",
        path="/signature-requests/{id}/notification",
        status="200",
    ) + value(
        "firmaio_api_calls_total",
        method="PUT",
        path="/signature-requests/{id}/notification",
        status="400",
    )
    assert sent == made["sendNotification"] == 6
    assert value("firmaio_activation_seconds_count") == 6
    assert value("firmaio_reaction_seconds_count") == 4
    assert 0 <= value("firmaio_rate_window_use") <= 1
    assert all(sandbox.issuer.messages_sent(i) == 1 for i in notified)


def test_without_the_extras_nothing_is_imported() -> None:
    """Importing and driving the library loads neither OpenTelemetry nor the Prometheus client."""
    code = (
        "import sys, asyncio\n"
        "import firmaio.fsm, firmaio.adapters, firmaio.adapters.observability\n"
        "from firmaio.fsm import Answer, Driver\n"
        "from firmaio.fsm.testing import ManualClock, ScriptedApi\n"
        "d = Driver(ScriptedApi([Answer.request('WAIT_FOR_SIGNATURE'), Answer.sent('M')]),"
        " ManualClock())\n"
        "asyncio.run(d.advance(d.new_flow('R1')))\n"
        "extras = ('opentelemetry', 'prometheus_client')\n"
        "loaded = [m for m in sys.modules if m.startswith(extras)]\n"
        "assert not loaded, loaded\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_reads_of_a_status_the_table_does_not_know_are_counted(sandbox: Sandbox) -> None:
    """A request that reads a status nobody documented: each read counted by its trigger, the
    flow left open (READY)."""
    request_id = ready_request(sandbox)
    sandbox.issuer.requests[request_id].status = "EXPIRED"
    metrics, hooks = Metrics(), Hooks()
    metrics.subscribe(hooks)

    async def run() -> Flow:
        async with make_client(sandbox) as client:
            driver = Driver(client, SystemClock(), hooks=hooks)
            flow = driver.new_flow(request_id)
            for _ in range(2):
                await driver.step(flow, "check_activation")
            return flow

    flow = asyncio.run(run())
    assert (str(flow.state), flow.unknown_status) == ("READY", "EXPIRED")
    counted = metrics.registry.get_sample_value(
        "firmaio_unknown_statuses_total", {"trigger": "check_activation"}
    )
    assert counted == 2
