"""firmaio-fsm: an explicit, audited finite-state machine for Firma con IO signature requests.

``fsm`` is the pure core: it never imports httpx, a database driver or ``adapters``. It is handed
an issuer-API port and a clock (:mod:`fsm.ports`); :mod:`fsm.testing` has fakes of both.

``__version__`` is the installed package's version, read from its metadata: the one place it is
written is ``pyproject.toml`` (``firmaio`` itself is a namespace package, with no module to hold
it).
"""

from importlib import metadata as _metadata

from .driving import (
    Driver,
    DurableDriver,
    Engine,
    Fallback,
    Flow,
    Hooks,
    PollingPolicy,
    ResendPolicy,
    default_engine,
)
from .errors import (
    ApiConfigurationError,
    ApiError,
    ApiProtocolError,
    ApiRefused,
    ApiUnavailable,
    FsmError,
    InvalidDefinition,
    InvalidInput,
    InvalidRequestId,
    StaleFlow,
    TransitionNotAllowed,
)
from .machine import (
    RESTING,
    STEPS,
    TABLE,
    TERMINAL,
    Answer,
    ApiCall,
    Kind,
    Observation,
    Order,
    RequestStatus,
    Row,
    State,
    Step,
    Steps,
    Trigger,
)
from .ports import Clock, FlowStore, SignatureApi, StoredFlow
from .trail import AuditRecord, Outcome, fold

try:
    __version__ = _metadata.version("firmaio-fsm")
except _metadata.PackageNotFoundError:  # pragma: no cover - a source tree never installed
    __version__ = "0+unknown"

__all__ = [
    "RESTING",
    "STEPS",
    "TABLE",
    "TERMINAL",
    "Answer",
    "ApiCall",
    "ApiConfigurationError",
    "ApiError",
    "ApiProtocolError",
    "ApiRefused",
    "ApiUnavailable",
    "AuditRecord",
    "Clock",
    "Driver",
    "DurableDriver",
    "Engine",
    "Fallback",
    "Flow",
    "FlowStore",
    "FsmError",
    "Hooks",
    "InvalidDefinition",
    "InvalidInput",
    "InvalidRequestId",
    "Kind",
    "Observation",
    "Order",
    "Outcome",
    "PollingPolicy",
    "RequestStatus",
    "ResendPolicy",
    "Row",
    "SignatureApi",
    "StaleFlow",
    "State",
    "Step",
    "Steps",
    "StoredFlow",
    "TransitionNotAllowed",
    "Trigger",
    "default_engine",
    "fold",
]
