"""The machine, declared once: states and triggers, the transition table (the page's spine, the
issuer's set-up, the steps beside the page), guards, reasons, each trigger's step and the
validator that checks them against each other, and the table's version with the migrations that
read the trails of earlier ones.

Nothing here calls anything: guards read an :class:`Observation`, rows are data, and everything
else (the ``transitions`` machine, diagrams, paths) is derived from :data:`TABLE` and
:data:`STEPS`.
"""

from .answers import (
    Answer,
    Kind,
    Observation,
    RequestStatus,
    answer_of,
    document_answer,
    is_known,
)
from .order import (
    DEFAULT_ACTIVATION_TIMEOUT,
    DEFAULT_VALIDATION_TIMEOUT,
    Order,
    OrderDocument,
    check_expiry,
    check_fields,
    check_fiscal_code,
    default_title,
    signature_field,
)
from .states import ENTRIES, INITIAL, ISSUER_INITIAL, SETUP_ONLY, TERMINAL, State, Trigger
from .steps import DEFAULT_STEPS, RESTING, STEPS, ApiCall, Step, Steps
from .table import BASIS, TABLE, TABLE_VERSION
from .types import Basis, Guard, Row, witness_of, witnessed_by
from .validate import validate
from .versions import MIGRATIONS, VERSIONS, TableMigration, TableVersions

__all__ = [
    "BASIS",
    "DEFAULT_ACTIVATION_TIMEOUT",
    "DEFAULT_STEPS",
    "DEFAULT_VALIDATION_TIMEOUT",
    "ENTRIES",
    "INITIAL",
    "ISSUER_INITIAL",
    "MIGRATIONS",
    "RESTING",
    "SETUP_ONLY",
    "STEPS",
    "TABLE",
    "TABLE_VERSION",
    "TERMINAL",
    "VERSIONS",
    "Answer",
    "ApiCall",
    "Basis",
    "Guard",
    "Kind",
    "Observation",
    "Order",
    "OrderDocument",
    "RequestStatus",
    "Row",
    "State",
    "Step",
    "Steps",
    "TableMigration",
    "TableVersions",
    "Trigger",
    "answer_of",
    "check_expiry",
    "check_fields",
    "check_fiscal_code",
    "default_title",
    "document_answer",
    "is_known",
    "signature_field",
    "validate",
    "witness_of",
    "witnessed_by",
]
