"""The transition table: every path of the flow, declared once, as data.

Everything else is derived from :data:`TABLE`: the ``transitions`` machine
(:mod:`fsm.driving.engine`),
the diagrams (:mod:`fsm.diagrams.render`), the path enumeration (:mod:`fsm.diagrams.paths`) and the
manual's table;
each trigger's step (its API call, when the driver fires it) is declared beside it
(:mod:`fsm.machine.steps`).
Rows are tried in order for a (source, trigger); their guards are mutually exclusive, so the order
never decides the outcome (the validator refuses rows that could be confused).

Each row names its basis: the sentence of the documentation page it implements
(``tramite-messaggio-su-io.md``), or the fact of the issuer API that makes it needed beyond the
page (``API-NOTES.md``). :data:`BASIS` holds the texts.

The table has a version, :data:`TABLE_VERSION`: a release that renames or removes a state, a
trigger, a guard or a row raises it and declares how the trails stored before read in the new
table (:mod:`fsm.machine.versions`).
"""

from __future__ import annotations

from .beside_rows import AFTER_SIGNED_ROWS, BESIDE_BASIS, DELIVERY_ROWS
from .setup_rows import SETUP_BASIS, SETUP_ROWS
from .spine_rows import SPINE_BASIS, SPINE_ROWS
from .types import Basis, Row

__all__ = ["BASIS", "TABLE", "TABLE_VERSION", "Basis", "Row"]

TABLE_VERSION = 2
"""The version of :data:`TABLE`. Raise it by one, with a migration in :mod:`fsm.machine.versions`,
in the release that renames a state, a trigger or a guard, or removes a row; every record carries
the version of the table that wrote it, and every stored flow the version it started on. Version 2
removed ``READY --check_activation [has_unexpected_status]--> FAILED`` (issue #26)."""


BASIS: dict[str, Basis] = {**SPINE_BASIS, **SETUP_BASIS, **BESIDE_BASIS}
"""The texts every row's basis names, by key."""

TABLE: tuple[Row, ...] = (*SETUP_ROWS, *SPINE_ROWS, *DELIVERY_ROWS, *AFTER_SIGNED_ROWS)
"""The one transition table: the issuer's set-up (:mod:`~fsm.machine.setup_rows`), the page's
spine (:mod:`~fsm.machine.spine_rows`) and the steps beside it (:mod:`~fsm.machine.beside_rows`).
Order within a (source, trigger) is the order guards are tried."""
