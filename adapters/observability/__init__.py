"""Observability that fits the ecosystem, as optional extras: OpenTelemetry and Prometheus.

* :class:`OtelTracing` (``pip install 'firmaio-fsm[otel]'``): one span per step of a flow, with
  the flow id, the trigger and the outcome, and inside it one span per HTTP call (the httpx
  instrumentation). Pass it to a driver as ``tracer=``, and call :meth:`OtelTracing.instrument`
  on the client.
* :class:`Metrics` (``pip install 'firmaio-fsm[metrics]'``): flows by state, transitions by
  outcome, API calls by status, 429s, the rate window's use, and the activation delay and reaction
  time as histograms, in a Prometheus registry; :meth:`Metrics.serve` exposes it over HTTP.

Nothing here is imported by the rest of the package: without the extras, nothing changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .metrics import Metrics
    from .otel import OtelTracing

__all__ = ["Metrics", "OtelTracing"]


def __getattr__(name: str) -> Any:
    if name == "Metrics":
        from .metrics import Metrics

        return Metrics
    if name == "OtelTracing":
        from .otel import OtelTracing

        return OtelTracing
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
