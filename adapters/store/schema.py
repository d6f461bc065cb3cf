"""The store's schema: versions, and the migrations that take a database forward to this code's.

A database records its version in ``firmaio_schema``. Opening a store reads it first, before
anything is written: a database newer than the code is refused with
:class:`~firmaio.fsm.errors.SchemaTooNew`, naming both versions, and is left exactly as it was;
an older one is migrated forward, one transaction per migration. A database made before versions
were recorded (``flows`` and ``audit_records``, no ``firmaio_schema``) is version 1.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from firmaio.fsm.errors import SchemaTooNew

from .batches import BATCHES_DESCRIPTION, BATCHES_STATEMENTS


@dataclass(frozen=True, slots=True)
class Migration:
    """What takes a database from ``version - 1`` to ``version``."""

    version: int
    description: str
    statements: tuple[str, ...]


V1 = Migration(
    1,
    "flows, their hash-chained audit records, and the index workers claim by",
    (
        """CREATE TABLE IF NOT EXISTS flows (
            id TEXT PRIMARY KEY,
            state TEXT NOT NULL,
            seq INTEGER NOT NULL DEFAULT 0,
            intent TEXT,
            intent_at DOUBLE PRECISION,
            head_hash TEXT NOT NULL,
            activation_deadline DOUBLE PRECISION NOT NULL,
            lease_owner TEXT,
            lease_until DOUBLE PRECISION,
            created_at DOUBLE PRECISION NOT NULL,
            updated_at DOUBLE PRECISION NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS audit_records (
            flow_id TEXT NOT NULL REFERENCES flows(id),
            seq INTEGER NOT NULL,
            payload TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL,
            PRIMARY KEY (flow_id, seq)
        )""",
        "CREATE INDEX IF NOT EXISTS flows_by_state ON flows (state, lease_until)",
    ),
)

V2 = Migration(
    2,
    "flows belong to a tenant and may name their dossier; the lease columns stay, unused (a "
    "task queue shares flows between workers now; SQLite before 3.35 cannot drop a column)",
    (
        "ALTER TABLE flows ADD COLUMN tenant TEXT",
        "ALTER TABLE flows ADD COLUMN dossier_id TEXT",
    ),
)

V3 = Migration(
    3,
    "the store's own id, made once when the table is (a random UUID, never changed): what a "
    "checkpoint names, so that it is refused for another store",
    ("CREATE TABLE IF NOT EXISTS firmaio_store (id TEXT NOT NULL)",),
)

V4 = Migration(
    4,
    "each flow records the version of the transition table it started on (none: version 1, a "
    "flow made before table versions)",
    ("ALTER TABLE flows ADD COLUMN table_version INTEGER",),
)

POSITION = "{position}"
"""Where a migration names the type of an increasing key, which each dialect writes its way
(:attr:`~firmaio.adapters.store.sql.SqlStore.position_type`)."""

REQUEST_ID_FACT = "{request_id_fact}"
"""Where a migration reads the ``request_id`` fact of a stored record ``r`` (its JSON payload),
which each dialect writes its way."""

V5 = Migration(
    5,
    "the outbox: each record's event (a CloudEvent), written in the record's transaction, and "
    "the log of its deliveries; each flow keeps its request's id (events carry it). Records "
    "stored before are given no event: what happened before the upgrade is not announced again",
    (
        f"""CREATE TABLE IF NOT EXISTS events (
            position {POSITION},
            id TEXT NOT NULL UNIQUE,
            flow_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            tenant TEXT,
            type TEXT NOT NULL,
            time DOUBLE PRECISION NOT NULL,
            body TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at DOUBLE PRECISION,
            last_error TEXT
        )""",
        "CREATE UNIQUE INDEX IF NOT EXISTS events_by_flow ON events (flow_id, seq)",
        "CREATE INDEX IF NOT EXISTS events_due ON events (status, next_attempt_at)",
        "CREATE INDEX IF NOT EXISTS events_by_tenant ON events (tenant, position)",
        "CREATE INDEX IF NOT EXISTS events_by_type ON events (type, position)",
        "CREATE INDEX IF NOT EXISTS events_by_time ON events (time)",
        """CREATE TABLE IF NOT EXISTS event_deliveries (
            event_id TEXT NOT NULL,
            attempt INTEGER NOT NULL,
            at DOUBLE PRECISION NOT NULL,
            status_code INTEGER,
            latency_ms DOUBLE PRECISION NOT NULL,
            error TEXT
        )""",
        "CREATE INDEX IF NOT EXISTS deliveries_by_event ON event_deliveries (event_id, attempt)",
        "ALTER TABLE flows ADD COLUMN request_id TEXT",
        # a flow from a PDF knows its request's id from the record that created the request;
        # a flow started at READY (its first record carries no order) is its request
        f"UPDATE flows SET request_id = (SELECT MAX({REQUEST_ID_FACT}) FROM audit_records r "
        "WHERE r.flow_id = flows.id)",
        "UPDATE flows SET request_id = id WHERE request_id IS NULL AND state <> 'RECEIVED' "
        "AND NOT EXISTS (SELECT 1 FROM audit_records r WHERE r.flow_id = flows.id AND r.seq = 1 "
        "AND r.payload LIKE '%\"order.pdf\"%')",
    ),
)

CLOSED_NAMES = ("CANCELLED", "DOCUMENT_REFUSED", "EXPIRED", "FAILED", "REJECTED", "SIGNED")
"""The terminal states' names in every table version so far, written into V6's SQL (a
migration never reads the Python table; a test checks it against the running table's names)."""

V6 = Migration(
    6,
    "each flow's due time (NULL: never, a closed flow), indexed: the long-running modes read only "
    "the due rows. An open flow is filled as due at once (its last update): its first visit "
    "re-files it with the due time its history gives; a flow from a PDF with no record yet "
    "(only `firmaio send` holds its fiscal code) and a closed one get NULL",
    (
        "ALTER TABLE flows ADD COLUMN due_at DOUBLE PRECISION",
        "UPDATE flows SET due_at = updated_at WHERE state NOT IN "
        f"({', '.join(repr(name) for name in CLOSED_NAMES)}) "
        "AND NOT (state = 'RECEIVED' AND seq = 0)",
        "CREATE INDEX IF NOT EXISTS flows_due ON flows (due_at, id) WHERE due_at IS NOT NULL",
    ),
)

V7 = Migration(
    7,
    "each flow's last status check that found nothing new (NULL: none yet): such a check writes "
    "no record, only this time and the flow's due time (its next watch counts from the later of "
    "its last record and this). A flow's dossier is learnt from the request's own answer, at "
    "its next read: no data changes here",
    ("ALTER TABLE flows ADD COLUMN checked_at DOUBLE PRECISION",),
)
V8 = Migration(8, BATCHES_DESCRIPTION, BATCHES_STATEMENTS)
"""Batches (``firmaio send --manifest``): the statements are in :mod:`.batches`."""

V9 = Migration(
    9,
    "the console: indexes its lists page by (newest first, filtered by tenant, state, dossier or "
    "request), and its own tables: local and OpenID Connect accounts, each one's role per tenant "
    "(a password is kept only as its argon2id hash)",
    (
        "CREATE INDEX IF NOT EXISTS flows_listed ON flows (created_at, id)",
        "CREATE INDEX IF NOT EXISTS flows_listed_by_state ON flows (state, created_at, id)",
        "CREATE INDEX IF NOT EXISTS flows_listed_by_tenant ON flows (tenant, created_at, id)",
        "CREATE INDEX IF NOT EXISTS flows_listed_by_tenant_state "
        "ON flows (tenant, state, created_at, id)",
        "CREATE INDEX IF NOT EXISTS flows_listed_by_dossier ON flows (dossier_id, created_at, id)",
        "CREATE INDEX IF NOT EXISTS flows_by_request ON flows (request_id)",
        """CREATE TABLE IF NOT EXISTS console_users (
            name TEXT PRIMARY KEY,
            password_hash TEXT,
            oidc_issuer TEXT,
            oidc_subject TEXT,
            email TEXT,
            created_at DOUBLE PRECISION NOT NULL
        )""",
        "CREATE UNIQUE INDEX IF NOT EXISTS console_users_by_oidc "
        "ON console_users (oidc_issuer, oidc_subject)",
        "CREATE INDEX IF NOT EXISTS console_users_by_email ON console_users (email)",
        """CREATE TABLE IF NOT EXISTS console_roles (
            name TEXT NOT NULL REFERENCES console_users(name),
            tenant TEXT NOT NULL,
            role TEXT NOT NULL,
            PRIMARY KEY (name, tenant)
        )""",
    ),
)

V10 = Migration(
    10,
    "flows listed by their last change (`firmaio flows --since/--until`: updated since), the most "
    "recently changed first, alone or in one state: indexes only, no data changes",
    (
        "CREATE INDEX IF NOT EXISTS flows_changed ON flows (updated_at, id)",
        "CREATE INDEX IF NOT EXISTS flows_changed_by_state ON flows (state, updated_at, id)",
    ),
)


MIGRATIONS: tuple[Migration, ...] = (V1, V2, V3, V4, V5, V6, V7, V8, V9, V10)
"""Every migration, in order; the last one's version is this code's."""


def store_naming(found: int, version: int) -> list[tuple[str, tuple[str, ...]]]:
    """The statements that give a store moving from version ``found`` to ``version`` its id,
    in the transaction that makes its table: a random UUID, kept by every copy of the database
    (none when the store has its id already)."""
    if found < V3.version <= version:
        return [("INSERT INTO firmaio_store (id) VALUES (?)", (str(uuid.uuid4()),))]
    return []


VERSION_TABLE = "CREATE TABLE IF NOT EXISTS firmaio_schema (version INTEGER NOT NULL)"


def check_migrations(migrations: Sequence[Migration]) -> int:
    """The version ``migrations`` lead to; they must be numbered 1, 2, ... in order."""
    numbers = [m.version for m in migrations]
    if numbers != list(range(1, len(numbers) + 1)):
        raise ValueError(f"migrations must be numbered 1, 2, ... in order, not {numbers}")
    return len(numbers)


def stored_version(has_table: dict[str, bool], recorded: int | None) -> int:
    """The database's version from what it holds: the recorded one, 1 for a database made before
    versions were recorded, 0 for an empty one."""
    if recorded is not None:
        return recorded
    return 1 if has_table.get("flows") else 0


def pending(found: int, migrations: Sequence[Migration]) -> list[Migration]:
    """The migrations to apply to a database at version ``found``; refuses a newer database."""
    code = check_migrations(migrations)
    if found > code:
        raise SchemaTooNew(found=found, supported=code)
    return [m for m in migrations if m.version > found]
