"""Reading a stored trail with the running table, whatever version of the table wrote it.

Each stored record names the version of the table that wrote it (``table_version``; none:
version 1). On reading, its states, trigger and guards are renamed through the migrations after
that version (:class:`~fsm.machine.versions.TableVersions`), and a record through a removed row
reads as one through the row that took its place. Only what is read changes: the stored bytes,
and so the hash chain, stay as they were written.

A record that cannot be read so refuses its whole flow with :class:`~fsm.errors.UnreadableTrail`,
naming both versions, before anything is called or written: a newer table's record, an older
one's that no declared migration reads, a name the running table does not have. The store maps
and checks the names (:func:`read_fields`, :func:`read_state`); the engine checks that every
record is one of its rows (:func:`check_trail`); ``audit verify`` folds the names
(:func:`state_mismatch`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import UnreadableTrail
from ..machine.states import ENTRIES, INITIAL, State
from ..machine.types import Row
from ..machine.versions import FIRST_VERSION, TableMigration, TableVersions

if TYPE_CHECKING:
    from .record import AuditRecord

_STATES = frozenset(state.value for state in State)
_OUTCOMES = frozenset({"accepted", "refused", "error"})
_ACCEPTED = "accepted"

RowIndex = dict[tuple[str, str], dict[str | None, str]]
"""The table's rows by (source, trigger): each guard (``None``: unguarded) and its target."""


def written_by(fields: Mapping[str, Any]) -> int | None:
    """The table version a stored record names (1 if none); ``None`` if it names no version."""
    value = fields.get("table_version", FIRST_VERSION)
    if isinstance(value, bool) or not isinstance(value, int) or value < FIRST_VERSION:
        return None
    return value


def _readable(flow_id: str, version: int | None, seq: object, versions: TableVersions) -> int:
    """``version`` if ``versions`` reads it, else refuse the flow saying why."""
    if version is None:
        raise UnreadableTrail(
            flow_id, found=None, running=versions.version,
            why=f"record #{seq} names no table version (not a whole number from 1)",
        )  # fmt: skip
    if version > versions.version:
        why = f"table version {version} is newer: upgrade firmaio-fsm to read it"
    elif version < versions.oldest:
        why = (
            f"no migration reads table version {version} (this firmaio-fsm reads versions "
            f"{versions.oldest} to {versions.version})"
        )
    else:
        return version
    raise UnreadableTrail(flow_id, found=version, running=versions.version, why=why)


def read_fields(
    flow_id: str, payloads: Iterable[Mapping[str, Any]], versions: TableVersions
) -> list[dict[str, Any]]:
    """Each stored record's fields, named as the running table names them (the record's own
    ``table_version`` is kept: it says who wrote it). Raises :class:`UnreadableTrail`."""
    read = []
    for fields in payloads:
        version = _readable(flow_id, written_by(fields), fields.get("seq"), versions)
        mapped = fields if isinstance(fields, dict) else dict(fields)  # no copy: most need none
        for migration in versions.after(version):
            mapped = _through(mapped, migration)
        for name in (mapped.get("source"), mapped.get("target")):
            if name not in _STATES:
                raise UnreadableTrail(
                    flow_id, found=version, running=versions.version,
                    why=f"record #{fields.get('seq')} names state {name}, which this table does "
                    "not have and no migration renames",
                )  # fmt: skip
        if mapped.get("outcome") not in _OUTCOMES:
            raise UnreadableTrail(
                flow_id, found=version, running=versions.version,
                why=f"record #{fields.get('seq')} names no outcome this table knows",
            )  # fmt: skip
        read.append(mapped)
    return read


def read_state(flow_id: str, name: str, started: int | None, versions: TableVersions) -> State:
    """The state a stored flow's own row names (for a flow with no record yet), written by the
    table version it started on (``None``: version 1), as the running table names it."""
    version = _readable(flow_id, FIRST_VERSION if started is None else started, 0, versions)
    mapped = versions.state_name(name, version)
    if mapped not in _STATES:
        raise UnreadableTrail(
            flow_id, found=version, running=versions.version,
            why=f"the flow rests in {name}, which this table does not have and no migration names",
        )  # fmt: skip
    return State(mapped)


def _through(fields: dict[str, Any], migration: TableMigration) -> dict[str, Any]:
    """One record's fields, written before ``migration``, in the names after it."""
    source, trigger = str(fields.get("source")), str(fields.get("trigger"))
    trace = _trace(fields.get("guards"))
    held = next((name for name, ok in trace if ok), None)
    replaced = migration.rows.get((source, trigger, held))
    if fields.get("outcome") != _ACCEPTED:
        replaced = None  # a record that went through no row is not one through a removed row
    now_trigger = replaced[0] if replaced else migration.triggers.get(trigger, trigger)
    renamed: list[tuple[str, bool]] = []
    for name, ok in trace:
        other = migration.rows.get((source, trigger, name))
        if other is None:
            renamed.append((migration.guards.get(name, name), ok))
        elif other[0] == now_trigger and other[1] is not None:
            renamed.append((other[1], ok))  # the removed row's guard reads as its replacement's
    trace = _merged(renamed)
    states = migration.states
    target = str(fields.get("target"))
    return {
        **fields,
        "source": states.get(source, source),
        "target": states.get(target, target),
        "trigger": now_trigger,
        "guards": ",".join(f"{name}={ok}" for name, ok in trace),
        "guard": next((name for name, ok in trace if ok), None),
    }


def _trace(text: object) -> list[tuple[str, bool]]:
    if not text:
        return []
    pairs = (item.partition("=") for item in str(text).split(","))
    return [(name, held == "True") for name, _, held in pairs]


def _merged(trace: Sequence[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """One entry per guard, where it first came, held if it held anywhere (two guards a
    migration merged into one)."""
    merged: dict[str, bool] = {}
    for name, ok in trace:
        merged[name] = merged.get(name, False) or ok
    return list(merged.items())


def row_index(rows: Iterable[Row]) -> RowIndex:
    """The table's rows by (source, trigger), for :func:`check_trail`."""
    index: RowIndex = {}
    for row in rows:
        index.setdefault((str(row.source), str(row.trigger)), {})[row.guard_name] = row.target
    return index


def check_trail(
    flow_id: str, records: Sequence[AuditRecord], index: RowIndex, version: int, log: Any
) -> None:
    """Refuse a trail with a record that is none of the table's rows (its trigger from its
    source, each guard it evaluated, the row it went through): :class:`UnreadableTrail`. A trail
    with records of older tables (read through their migrations) is logged as such, on ``log``:
    ``fsm.trail_read_through_migrations``, with the versions that wrote it."""
    for record in records:
        why = _unknown(record, index)
        if why is not None:
            found = record.table_version or FIRST_VERSION
            raise UnreadableTrail(
                flow_id, found=found, running=version, why=f"record #{record.seq} {why}"
            )
    if older := older_versions(records, version):
        log.info(
            "fsm.trail_read_through_migrations",
            flow_id=flow_id, written_by=list(older), table_version=version,
        )  # fmt: skip


def _unknown(record: AuditRecord, index: RowIndex) -> str | None:
    source, trigger = str(record.source), str(record.trigger)
    targets = index.get((source, trigger))
    if targets is None:
        return f"fires {trigger} from {source}, which this table has no row for"
    for name, _held in record.guards:
        if name not in targets:
            return f"names guard {name} of {source} --{trigger}-->, which this table does not have"
    guard = record.guard
    if record.outcome == _ACCEPTED and targets.get(guard) != record.target:
        return f"goes {source} --{trigger} [{guard}]--> {record.target}, no row of this table"
    return None


def older_versions(records: Iterable[AuditRecord], version: int) -> tuple[int, ...]:
    """The table versions before ``version`` that wrote some of ``records`` (read through
    migrations), in order; empty when every record is this table's."""
    return tuple(sorted({r.table_version or FIRST_VERSION for r in records} - {version}))


def migration_note(records: Sequence[AuditRecord], version: int) -> str | None:
    """What ``audit show`` and the report say of a trail read through migrations: which
    records older tables wrote (a prefix: an older table never writes after a newer one)."""
    older = [r.seq for r in records if (r.table_version or FIRST_VERSION) != version]
    if not older:
        return None
    which = f"record #{older[0]}" if len(older) == 1 else f"records #{older[0]} to #{older[-1]}"
    by = ", ".join(map(str, older_versions(records, version)))
    return (
        f"{which} written by table version {by}, shown as table version {version} names them "
        "(read through its migrations; the stored records are unchanged)"
    )


def state_mismatch(
    payloads: Sequence[Mapping[str, Any]], state: str, versions: TableVersions
) -> str | None:
    """Why a stored trail does not lead to ``state`` (what the flow's own row says, as the
    running table names it), or ``None`` if it does. A record of a table version this one does
    not read has its hashes and order checked, not its names: ``None`` too."""
    try:
        folded = fold_names(payloads, versions)
    except ValueError as error:
        return str(error)
    if folded is None or (not payloads and state in ENTRIES):
        return None  # a flow with no record yet rests where it started
    return None if folded == state else f"the flow says {state}, its trail {folded}"


def fold_names(payloads: Sequence[Mapping[str, Any]], versions: TableVersions) -> str | None:
    """The state a stored trail reaches, as the running table names it, from the stored fields
    (no record is parsed: a chain's check needs no state of this table); ``None`` if a record
    was written by a table version this one does not read (its names cannot be judged here).
    Raises ValueError if a record does not start where the one before it ended."""
    steps = []
    for fields in payloads:
        version = written_by(fields)
        if version is None or not versions.reads(version):
            return None
        source = versions.state_name(str(fields.get("source")), version)
        target = versions.state_name(str(fields.get("target")), version)
        steps.append((fields.get("seq"), source, target, fields.get("outcome") == _ACCEPTED))
    first = steps[0][1] if steps else str(INITIAL)
    state = first if first in ENTRIES else str(INITIAL)
    for seq, source, target, accepted in steps:
        if source != state:
            raise ValueError(f"record {seq} starts in {source}, not in {state}")
        if accepted:
            state = target
    return state
