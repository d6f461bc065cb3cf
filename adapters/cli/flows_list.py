"""``firmaio flows``: the stored flows an operator asks about, newest first, a page at a time, or
their counts by state.

Filters: ``--tenant``, ``--state``, ``--dossier``, ``--reason`` (a refusal's reason), ``--since``
and ``--until`` (when the flow last changed: ISO 8601 with its zone, or ``24h`` ago; the list is
then the most recently changed first), ``--created-since`` and ``--created-until`` (when it was
made), ``--id`` (a flow's id or its request's). A page holds ``--limit`` flows (50); when more
follow, the last line gives the ``--after`` cursor of the next page. ``--counts`` prints how many
flows each tenant has in each state instead. Reads go through the store's listing indexes
(:mod:`firmaio.adapters.store.listing`), so a page costs the same on a million flows as on ten.
``--json``: the envelope, its ``flows`` in the shape ``run`` lists them, with ``next_after``, or
``counts``.
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from ..store import open_store
from ..store.listing import FlowFilter, Listed
from . import exits
from .argtypes import count
from .envelope import emit, flow_row, iso
from .events import moment


def add_flows_command(sub: Any) -> None:
    """Register ``firmaio flows``."""
    flows = sub.add_parser(
        "flows",
        help="list stored flows (filters, pages) or count them by state",
        description="The stored flows, newest first, a page at a time; or their counts.",
    )
    flows.add_argument("--db", required=True, help="SQLite file or postgresql:// URL")
    flows.add_argument("--tenant", help="only this tenant's flows")
    flows.add_argument("--state", help="only flows in this state (NOTIFIED, FAILED...)")
    flows.add_argument("--dossier", help="only flows of this dossier")
    flows.add_argument("--reason", help="only flows refused for this reason")
    flows.add_argument(
        "--since",
        type=moment,
        help="last changed (a step written) at or after TIME (ISO 8601, or 24h); the most "
        "recently changed first",
    )
    flows.add_argument("--until", type=moment, help="changed last before TIME")
    flows.add_argument("--created-since", type=moment, help="made at or after TIME")
    flows.add_argument("--created-until", type=moment, help="made before TIME")
    flows.add_argument("--id", dest="flow_id", help="the flow with this flow or request id")
    flows.add_argument("--limit", type=count, default=50, help="flows a page (%(default)d)")
    flows.add_argument("--after", metavar="CURSOR", help="the page after this cursor")
    flows.add_argument("--counts", action="store_true", help="counts by tenant and state")
    flows.add_argument("--json", action="store_true", help="print the envelope as JSON")
    flows.set_defaults(func=cmd_flows)


def cmd_flows(args: argparse.Namespace, out: TextIO) -> int:
    """Print a page of flows (or the counts); 0, or 2 for a filter or cursor refused."""
    flt = FlowFilter(
        tenants=None if args.tenant is None else (args.tenant,), state=args.state,
        dossier=args.dossier, refusal=args.reason, since=args.created_since,
        until=args.created_until, flow_id=args.flow_id, changed_since=args.since,
        changed_until=args.until,
    )  # fmt: skip
    store = open_store(args.db)
    try:
        if args.counts:
            counts = store.counts(flt.tenants)
            return _counts(args, out, counts)
        page = store.list_flows(flt, after=args.after, limit=args.limit)
    finally:
        store.close()
    if args.json:
        rows = [flow_row(r.flow_id, r.state, r.records, r.request_id) | _more(r) for r in page.rows]
        emit(args, out, exits.OK.code, flows=rows, next_after=page.after)
        return exits.OK.code
    for row in page.rows:  # the time the list is ordered by: made, or last changed
        when = iso(row.updated_at if flt.by_change else row.created_at)
        print(f"{row.flow_id}  {row.state:<20} {row.tenant:<16} {when}  {row.records:>3} records",
              file=out)  # fmt: skip
    if not page.rows:
        print("no flow matches", file=out)
    if page.after is not None:
        print(f"more: --after {page.after}", file=out)
    return exits.OK.code


def _more(row: Listed) -> dict[str, object]:
    return {"tenant": row.tenant, "dossier_id": row.dossier_id, "created_at": iso(row.created_at),
            "updated_at": iso(row.updated_at)}  # fmt: skip


def _counts(args: argparse.Namespace, out: TextIO, counts: dict[tuple[str, str], int]) -> int:
    shown = [
        {"tenant": tenant, "state": state, "flows": n}
        for (tenant, state), n in sorted(counts.items())
        if args.state is None or state == args.state
    ]
    if args.json:
        emit(args, out, exits.OK.code, counts=shown)
        return exits.OK.code
    for each in shown:
        print(f"{each['tenant']:<16} {each['state']:<20} {each['flows']:>8}", file=out)
    print(f"{'total':<37} {sum(int(str(e['flows'])) for e in shown):>8}", file=out)
    return exits.OK.code
