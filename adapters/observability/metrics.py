"""Prometheus metrics of flows and of the calls to the issuer API.

    metrics = Metrics()                        # its own registry, or pass one
    metrics.instrument(client)                 # API calls, 429s, the rate window's use
    metrics.subscribe(hooks)                   # transitions, flows by state, the two delays
    metrics.track_store("flows.sqlite")        # flows by state read from the store at scrape
    metrics.serve(9464)                        # GET http://127.0.0.1:9464/metrics

Metric names start with ``firmaio_``; labels hold states, triggers, outcomes, methods, path
templates and statuses: never an id. Needs the ``[metrics]`` extra.

* ``firmaio_transitions_total{trigger,target,outcome}``
* ``firmaio_unknown_statuses_total{trigger}``: reads of a request whose status the table does
  not know (the flow stays open, watched: a person should look)
* ``firmaio_flows{state}``: from the store when tracked (what is stored, every process's flows),
  else counted from this process's transitions
* ``firmaio_api_calls_total{method,path,status}`` (``status="none"``: no answer came)
* ``firmaio_api_throttled_total``: 429 answers
* ``firmaio_rate_window_use``: the share of the client's 150-per-5-s window in use (0 to 1)
* ``firmaio_activation_seconds``: from a flow's first check to WAIT_FOR_SIGNATURE
* ``firmaio_reaction_seconds``: from WAIT_FOR_SIGNATURE to the message sent (NOTIFIED)
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from firmaio.fsm.driving import Flow, Hooks
from firmaio.fsm.machine import INITIAL, Kind, State, is_known
from firmaio.fsm.trail import AuditRecord, Outcome

from ..client import IssuerClient
from ..client.transport import CallEvent
from ..store import open_store

BUCKETS = (0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300)
"""Seconds: activation takes "alcuni secondi"; reaction, a round trip or a few."""


class Metrics:
    """Prometheus metrics of flows and calls (see the module docstring)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.transitions = Counter(
            "firmaio_transitions", "Attempts recorded", ["trigger", "target", "outcome"], registry=r
        )
        self.unknown_statuses = Counter(
            "firmaio_unknown_statuses", "Reads of a status the table does not know", ["trigger"],
            registry=r,
        )  # fmt: skip
        self.api_calls = Counter(
            "firmaio_api_calls", "HTTP calls to the issuer API", ["method", "path", "status"],
            registry=r,
        )  # fmt: skip
        self.throttled = Counter(
            "firmaio_api_throttled", "429 answers of the issuer API", registry=r
        )
        self.activation = Histogram(
            "firmaio_activation_seconds", "From the first check to WAIT_FOR_SIGNATURE",
            buckets=BUCKETS, registry=r,
        )  # fmt: skip
        self.reaction = Histogram(
            "firmaio_reaction_seconds", "From WAIT_FOR_SIGNATURE to the message sent",
            buckets=BUCKETS, registry=r,
        )  # fmt: skip
        self._window = Gauge(
            "firmaio_rate_window_use", "Share of the rate window in use", registry=r
        )
        self._counted: dict[State, int] = {}
        self._store_flows: _StoreFlows | None = None
        r.register(_Flows(self))

    # -- sources ------------------------------------------------------------------------------

    def instrument(self, client: IssuerClient) -> None:
        """Count ``client``'s calls and 429s; report its rate window's use."""
        client.observers.append(self._on_call)
        window = client.rate_limit
        self._window.set_function(lambda: window.in_use() / window.calls)

    def subscribe(self, hooks: Hooks) -> None:
        """Count the transitions of the drivers that use ``hooks``, and time the two delays."""
        hooks.subscribe(self._on_record)

    def track_store(self, db: str) -> None:
        """Report ``firmaio_flows`` from the store at ``db`` (read-only, at each scrape)."""
        self._store_flows = _StoreFlows(db)

    def serve(self, port: int, addr: str = "127.0.0.1") -> MetricsServer:
        """Expose ``/metrics`` over HTTP in a background thread (port 0 picks a free one)."""
        server, thread = start_http_server(port, addr, registry=self.registry)
        return MetricsServer(server, thread)

    # -- what the sources report ---------------------------------------------------------------

    def _on_call(self, event: CallEvent) -> None:
        status = "none" if event.status is None else str(event.status)
        self.api_calls.labels(event.method, event.path, status).inc()
        if event.status == 429:
            self.throttled.inc()

    def _on_record(self, flow: Flow, record: AuditRecord) -> None:
        self.transitions.labels(record.trigger, str(record.target), str(record.outcome)).inc()
        if record.answer == Kind.REQUEST and not is_known(record.request_status):
            self.unknown_statuses.labels(record.trigger).inc()
        if record.outcome is not Outcome.ACCEPTED:
            return
        if record.seq == 1:  # a new flow: it was READY until now
            self._counted[INITIAL] = self._counted.get(INITIAL, 0) + 1
        if record.target is not record.source:
            self._counted[record.source] = self._counted.get(record.source, 0) - 1
            self._counted[record.target] = self._counted.get(record.target, 0) + 1
        if record.target is State.WAIT_FOR_SIGNATURE and record.source is State.READY:
            self.activation.observe(record.decided_at - flow.history[0].requested_at)
        if record.target is State.NOTIFIED:
            activated = [r for r in flow.history if r.target is State.WAIT_FOR_SIGNATURE]
            if activated:
                self.reaction.observe(record.decided_at - activated[-1].decided_at)

    def flows_by_state(self) -> dict[str, int]:
        """What ``firmaio_flows`` reports now."""
        if self._store_flows is not None:
            return self._store_flows.count()
        # A flow resumed from a store is counted from its next transition on, so a state may
        # go below zero here: those are left out. track_store gives the stored truth.
        return {str(state): n for state, n in self._counted.items() if n > 0}


class MetricsServer:
    """The metrics endpoint being served: its ``port``; :meth:`close` stops it."""

    def __init__(self, server: Any, thread: threading.Thread) -> None:
        self._server, self._thread = server, thread
        self.port: int = server.server_port

    def close(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _Flows(Collector):
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("firmaio_flows", "Flows by state", labels=["state"])
        for state, count in sorted(self._metrics.flows_by_state().items()):
            family.add_metric([state], count)
        yield family


class _StoreFlows:
    def __init__(self, db: str) -> None:
        self.db = db

    def count(self) -> dict[str, int]:
        store = open_store(self.db, read_only=True)
        try:
            return store.counts_by_state()
        finally:
            store.close()
