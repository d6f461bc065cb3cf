"""An asyncio service that notifies signature requests as they come, with hooks.

Run it with the project's Python (in a clone, after `make demo`: `.venv/bin/python`), against
the real API or the sandbox (`.venv/bin/firmaio sandbox`, key `sandbox-key`):

    FIRMAIO_API_KEY=sandbox-key FIRMAIO_BASE_URL=http://127.0.0.1:7071/api/v1/sign \\
        .venv/bin/python examples/asyncio_service.py REQUEST_ID [REQUEST_ID ...]

Requests arrive on a queue (here, the command line's ids); a few workers take them, drive each to
rest over one shared client, and a hook reports each citizen who needs the fallback. One JSON
line per request is printed on stdout as it settles; the library's log events go to stderr.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

import structlog

from firmaio.adapters import IssuerClient, SystemClock
from firmaio.fsm import AuditRecord, Driver, Flow, Hooks, State


def on_fallback(flow: Flow, record: AuditRecord) -> None:
    """Where a service would hand the link and QR code to another channel (mail, a letter)."""
    assert flow.fallback is not None
    said = {"fallback_for": flow.id, "link": flow.fallback.link, "after_record": record.seq}
    print(json.dumps(said), flush=True)


async def worker(driver: Driver, queue: asyncio.Queue[str]) -> None:
    while True:
        request_id = await queue.get()
        try:
            flow = driver.new_flow(request_id)
            state = await driver.advance(flow)
            settled = {"id": flow.id, "state": str(state), "io_message_id": flow.io_message_id}
            print(json.dumps(settled), flush=True)
        finally:
            queue.task_done()


async def main(request_ids: list[str]) -> int:
    hooks = Hooks()
    hooks.subscribe(on_fallback, target=State.FALLBACK_SUGGESTED)
    base_url = os.environ.get("FIRMAIO_BASE_URL", "https://api.io.pagopa.it/api/v1/sign")
    async with IssuerClient(os.environ["FIRMAIO_API_KEY"], base_url=base_url) as client:
        driver = Driver(client, SystemClock(), hooks=hooks)
        queue: asyncio.Queue[str] = asyncio.Queue()
        for request_id in request_ids:
            queue.put_nowait(request_id)
        workers = [asyncio.create_task(worker(driver, queue)) for _ in range(4)]
        await queue.join()
        for task in workers:
            task.cancel()
    return 0


if __name__ == "__main__":
    structlog.configure(  # JSON lines on stderr, with the flow_id the driver binds on each call
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )
    if "FIRMAIO_API_KEY" not in os.environ or len(sys.argv) < 2:
        sys.exit("usage: FIRMAIO_API_KEY=... asyncio_service.py REQUEST_ID [REQUEST_ID ...]")
    raise SystemExit(asyncio.run(main(sys.argv[1:])))
