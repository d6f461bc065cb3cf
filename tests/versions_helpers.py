"""A table version 3 that only tests know, and trails as its version 1 would have stored them.

State is one enum per process, so a test in this process cannot run a table whose states have
other names; it can read trails written under other names, which is what a migration is for. The
story: table versions 1 and 2 (the built-in table is version 2, with its real migration) called
WAIT_FOR_SIGNATURE ``WAITING``, the trigger notify ``send_message`` and the guard
message_was_sent ``message_sent``, and had a row ``WAITING --send_message [already_sent]-->
NOTIFIED`` that version 3 removed (its records read as ones through ``WAIT_FOR_SIGNATURE --notify
[message_was_sent]--> NOTIFIED``). The running table is the built-in one, declared as version 3:
version 2's migration, then this one. Trails are stored as version 1 stored them (no
``table_version``), so they read through both. (tests/store/test_table_upgrade.py runs a real
release with a renamed state, in another process.)
"""

from __future__ import annotations

import json
from typing import Any

from firmaio.fsm.machine import MIGRATIONS, TableMigration, TableVersions
from firmaio.fsm.trail import AuditRecord, canonical

V3_MIGRATION = TableMigration(
    3,
    "WAITING is WAIT_FOR_SIGNATURE, send_message is notify, message_sent is message_was_sent; "
    "the row WAITING --send_message [already_sent]--> NOTIFIED is gone",
    states={"WAITING": "WAIT_FOR_SIGNATURE"},
    triggers={"send_message": "notify"},
    guards={"message_sent": "message_was_sent"},
    rows={("WAITING", "send_message", "already_sent"): ("notify", "message_was_sent")},
)
V1 = TableVersions(1, ())
"""What a release of table version 1 ran: its version, no migration."""

V3 = TableVersions(3, (*MIGRATIONS, V3_MIGRATION))
"""The built-in table, as if it were version 3 of a table whose versions 1 and 2 had the old
names: version 2's real migration, then the story's."""

_OLD_STATES = {"WAIT_FOR_SIGNATURE": "WAITING"}
_OLD_TRIGGERS = {"notify": "send_message"}
_OLD_GUARDS = {"message_was_sent": "message_sent"}


def as_version_1(record: AuditRecord, *, through_removed_row: bool = False) -> dict[str, Any]:
    """``record``'s stored fields as table version 1 wrote them (no ``table_version``: written
    before versions were recorded). With ``through_removed_row``, a notification that went
    through the row version 3 removed (its guard ``already_sent``)."""
    fields: dict[str, Any] = json.loads(canonical(record))
    fields.pop("table_version", None)
    for name in ("source", "target"):
        fields[name] = _OLD_STATES.get(fields[name], fields[name])
    fields["trigger"] = _OLD_TRIGGERS.get(fields["trigger"], fields["trigger"])
    trace = (
        [item.partition("=") for item in fields["guards"].split(",")] if fields["guards"] else []
    )
    names = [(_OLD_GUARDS.get(name, name), held) for name, _, held in trace]
    if through_removed_row:
        names = [("message_sent", "False"), ("already_sent", "True")]
    fields["guards"] = ",".join(f"{name}={held}" for name, held in names)
    fields["guard"] = next((name for name, held in names if held == "True"), None)
    return fields


def old_record(record: AuditRecord, *, through_removed_row: bool = False) -> AuditRecord:
    """``record`` as table version 1 made it, for a store to append: its names are plain strings
    (State has no WAITING), and it has no table version."""
    fields = as_version_1(record, through_removed_row=through_removed_row)
    guards = tuple(
        (name, held == "True")
        for name, _, held in (item.partition("=") for item in fields["guards"].split(",") if item)
    )
    return record._replace(
        source=fields["source"],
        target=fields["target"],
        trigger=fields["trigger"],
        guards=guards,
        table_version=None,
    )
