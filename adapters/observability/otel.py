"""OpenTelemetry spans: one per step of a flow, and one per HTTP call inside it.

    tracing = OtelTracing()                       # the global tracer provider, or pass one
    tracing.instrument(client)                    # httpx spans for the client's calls
    driver = Driver(client, clock, tracer=tracing)

A step's span is named ``firmaio.step <trigger>`` and carries ``firmaio.flow_id``,
``firmaio.trigger``, then ``firmaio.source``, ``firmaio.target``, ``firmaio.outcome``,
``firmaio.guard`` and the HTTP status of the evidence; an error outcome sets the span's status to
error. The call's span comes from opentelemetry-instrumentation-httpx, as a child of the step's.
Needs the ``[otel]`` extra.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode

from firmaio.fsm.trail import AuditRecord, Outcome

from ..client import IssuerClient


class _StepSpan:
    def __init__(self, span: Span) -> None:
        self._span = span

    def record(self, record: AuditRecord) -> None:
        attributes: dict[str, Any] = {
            "firmaio.seq": record.seq,
            "firmaio.source": str(record.source),
            "firmaio.target": str(record.target),
            "firmaio.outcome": str(record.outcome),
        }
        if record.guard:
            attributes["firmaio.guard"] = record.guard
        if record.http_status is not None:
            attributes["http.response.status_code"] = record.http_status
        self._span.set_attributes(attributes)
        if record.outcome is Outcome.ERROR:
            self._span.set_status(Status(StatusCode.ERROR, record.reason or "no usable answer"))


class OtelTracing:
    """A :class:`~firmaio.fsm.ports.StepTracer` over OpenTelemetry (see the module docstring)."""

    def __init__(self, tracer_provider: trace.TracerProvider | None = None) -> None:
        self._provider = tracer_provider
        self._tracer = trace.get_tracer("firmaio", tracer_provider=tracer_provider)

    @contextmanager
    def step(self, flow_id: str, trigger: str) -> Iterator[_StepSpan]:
        """A span around one step; the API call made inside is its child."""
        attributes = {"firmaio.flow_id": flow_id, "firmaio.trigger": trigger}
        with self._tracer.start_as_current_span(
            f"firmaio.step {trigger}", attributes=attributes
        ) as span:
            yield _StepSpan(span)

    def instrument(self, client: IssuerClient) -> None:
        """Trace each HTTP call ``client`` makes (opentelemetry-instrumentation-httpx)."""
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor.instrument_client(client.http, tracer_provider=self._provider)
