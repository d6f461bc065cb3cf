"""A thread-pool worker (a Celery or Django process, say) using the sync facade.

    FIRMAIO_API_KEY=sandbox-key FIRMAIO_BASE_URL=http://127.0.0.1:7071/api/v1/sign \\
        .venv/bin/python examples/thread_worker.py flows.sqlite REQUEST_ID ...

(the project's Python: in a clone, after `make demo`; the library's log events go to stderr)

One `Firmaio` for the process; any thread calls it. Here four threads notify the requests one by
one, each flow kept in the store at DB, then one call drives the whole batch again (a rerun:
nothing left to do) and the counts by state are printed as JSON.
"""

from __future__ import annotations

import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor

import structlog

from firmaio.adapters import Firmaio
from firmaio.adapters.settings import Settings


def main(db: str, request_ids: list[str]) -> int:
    base_url = os.environ.get("FIRMAIO_BASE_URL", "https://api.io.pagopa.it/api/v1/sign")
    settings = Settings(base_url=base_url)
    with Firmaio(os.environ["FIRMAIO_API_KEY"], db=db, settings=settings) as firmaio:
        with ThreadPoolExecutor(max_workers=4) as pool:
            states = [str(flow.state) for flow in pool.map(firmaio.notify, request_ids)]
        report = firmaio.run(request_ids)
    summary = {"states": states, "counts": dict(report.counts), "rerun_driven": report.driven}
    print(json.dumps(summary))
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
    if "FIRMAIO_API_KEY" not in os.environ or len(sys.argv) < 3:
        sys.exit("usage: FIRMAIO_API_KEY=... thread_worker.py DB REQUEST_ID [REQUEST_ID ...]")
    raise SystemExit(main(sys.argv[1], sys.argv[2:]))
