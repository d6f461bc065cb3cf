"""Table versions: how the trails stored by earlier versions of the table read in this one.

The table declares its version (:data:`~fsm.machine.table.TABLE_VERSION`); every record carries
the version of the table that wrote it, and every stored flow the version it started on. A
release that renames a state, a trigger or a guard, or removes a row, raises the version by one
and declares here, as data, a :class:`TableMigration`: each old name and its new one, and for
each removed row the row that takes its place. Stored records are never rewritten (their hashes
would change): a trail is read through the migrations after the version each record was written
by (:mod:`fsm.trail.reading`), and a trail no migration makes readable is refused, untouched.

Versions start at 1: a record or a flow stored without a version was written by version 1,
before versions were recorded. Adding a state, a trigger or a row needs no new version: old
trails read as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ..errors import InvalidDefinition
from .table import TABLE_VERSION
from .types import Row

FIRST_VERSION = 1
"""The version of a table, a flow or a record that names none (written before versions were
recorded)."""

RowKey = tuple[str, str, str | None]
"""A row as records name it: ``(source, trigger, guard)`` (``None``: an unguarded row)."""


@dataclass(frozen=True, slots=True)
class TableMigration:
    """What changed from table version ``version - 1`` to ``version``, for the trails stored
    before it. Every name is a string, as records store it.

    ``states``, ``triggers`` and ``guards`` map an old name to its new one. ``rows`` maps each
    removed row, ``(source, trigger, guard)`` in the old names, to the ``(trigger, guard)`` of the
    row that takes its place, in the new names: a row from the same source (renamed) to the same
    target, so a record through the removed row reads as a record through that one.
    """

    version: int
    description: str
    """What the release changed and why, for the log and ``audit show``."""
    states: Mapping[str, str] = field(default_factory=dict)
    triggers: Mapping[str, str] = field(default_factory=dict)
    guards: Mapping[str, str] = field(default_factory=dict)
    rows: Mapping[RowKey, tuple[str, str | None]] = field(default_factory=dict)

    def problems(self) -> list[str]:
        """What is wrong with this declaration on its own (empty: nothing)."""
        found: list[str] = []
        kinds = (("state", self.states), ("trigger", self.triggers), ("guard", self.guards))
        for kind, renames in kinds:
            found.extend(
                f"migration {self.version} renames {kind} {old} to itself"
                for old, new in renames.items()
                if old == new
            )
            found.extend(
                f"migration {self.version} renames {kind} {name} and renames another {kind} to it"
                for name in sorted(set(renames.values()) & set(renames))
                if renames[name] != name
            )
        return found


@dataclass(frozen=True, slots=True)
class TableVersions:
    """The running table's version, and the migrations that read the trails of older ones.

    ``migrations`` lead, one version at a time, to ``version``: the trails of every version from
    the first one's ``version - 1`` on are readable. A release may drop the oldest migrations;
    flows of the versions they read are then refused. Raises :class:`InvalidDefinition` naming
    every problem of the declarations.
    """

    version: int = TABLE_VERSION
    migrations: tuple[TableMigration, ...] = ()

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.version, int) or self.version < FIRST_VERSION:
            problems.append(f"the table version must be an integer from 1, not {self.version!r}")
        numbers = [m.version for m in self.migrations]
        expected = list(range(self.version - len(numbers) + 1, self.version + 1))
        if numbers != expected or (numbers and numbers[0] <= FIRST_VERSION):
            problems.append(
                f"the migrations must lead one version at a time to table version "
                f"{self.version}, from version 2 or later: found {numbers}"
            )
        for migration in self.migrations:
            problems.extend(migration.problems())
        retired: dict[str, int] = {}
        for migration in self.migrations:
            problems.extend(
                f"migration {migration.version} names a state {new} that migration "
                f"{retired[new]} renamed away: a retired name is never used again"
                for new in migration.states.values()
                if new in retired
            )
            retired.update(dict.fromkeys(migration.states, migration.version))
        if problems:
            raise InvalidDefinition(problems)

    @property
    def oldest(self) -> int:
        """The oldest table version whose trails this one reads."""
        return self.migrations[0].version - 1 if self.migrations else self.version

    def reads(self, version: int) -> bool:
        """Whether trails written by table ``version`` read in this one."""
        return self.oldest <= version <= self.version

    def after(self, version: int) -> tuple[TableMigration, ...]:
        """The migrations a trail written by table ``version`` is read through, in order."""
        return tuple(m for m in self.migrations if m.version > version)

    def state_name(self, name: str, written_by: int) -> str:
        """What state ``name``, written by table ``written_by``, is called now (the name itself
        for a version this table does not read: the caller refuses it)."""
        for migration in self.after(written_by):
            name = migration.states.get(name, name)
        return name

    def names_of(self, states: Iterable[str]) -> frozenset[str]:
        """Each of ``states`` (current names) with every older name that reads as it: what the
        store's own rows may still say for a flow in one of them."""
        wanted = {str(state) for state in states}
        names = set(wanted)
        for written_by in range(self.oldest, self.version):
            for migration in reversed(self.after(written_by)):
                names |= {old for old, new in migration.states.items() if new in names}
        return frozenset(names)

    def row_problems(self, rows: Sequence[Row]) -> list[str]:
        """Removed rows whose replacement, named as this table names it, is not one of ``rows``."""
        have = {(str(r.source), str(r.trigger), r.guard_name) for r in rows}
        problems = []
        for migration in self.migrations:
            for (source, _trigger, _guard), (trigger, guard) in migration.rows.items():
                now = self.forward(migration.version, (source, trigger, guard))
                if now not in have:
                    problems.append(
                        f"migration {migration.version} replaces a removed row by "
                        f"{now[0]} --{now[1]} [{now[2]}]-->, which is no row of the table"
                    )
        return problems

    def forward(self, version: int, row: RowKey) -> RowKey:
        """A replacement ``row`` of migration ``version`` (its source in the names before it,
        its trigger and guard in the names after it), as this table names it."""
        source, trigger, guard = row
        for migration in self.migrations:
            if migration.version == version:
                source = migration.states.get(source, source)
            elif migration.version > version:
                source = migration.states.get(source, source)
                trigger = migration.triggers.get(trigger, trigger)
                guard = guard if guard is None else migration.guards.get(guard, guard)
        return source, trigger, guard


UNEXPECTED_STATUS_SPLIT = TableMigration(
    2,
    "issue #26: a status the activation check cannot go on from no longer fails the flow as one: "
    "READY --check_activation [has_unexpected_status]--> FAILED is gone; a request read DRAFT "
    "fails it (fell_back_to_draft), WAIT_FOR_QTSP or a status the table does not know keeps it "
    "READY until the activation deadline (waits_in_an_unknown_status). A record through the "
    "removed row reads as one through fell_back_to_draft, the row from READY to FAILED closest "
    "to it; its own evidence (request_status, reason) keeps the status it read, which may be "
    "another than DRAFT",
    rows={
        ("READY", "check_activation", "has_unexpected_status"): (
            "check_activation",
            "fell_back_to_draft",
        ),
    },
)
"""Table version 2. Version 1 names every table before it: those that had the removed row (their
records stamp no ``table_version``, or 1 from when versions were recorded) and the one issue #26
left (3822a9f), which stamped 1 and already had version 2's rows. This migration reads them all:
a record that names no removed guard reads unchanged."""

MIGRATIONS: tuple[TableMigration, ...] = (UNEXPECTED_STATUS_SPLIT,)
"""How the trails of earlier tables read in this one, one migration per version after the first."""

VERSIONS = TableVersions(TABLE_VERSION, MIGRATIONS)
"""The built-in table's version and migrations: what the engine stamps and the stores read by."""
