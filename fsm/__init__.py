"""firmaio-fsm: an explicit, audited finite-state machine for Firma con IO signature requests.

``fsm`` is the pure core: it never imports httpx, a database driver or ``adapters``. It is handed
an issuer-API port and a clock (:mod:`fsm.ports`); :mod:`fsm.testing` has fakes of both.
"""

from .answers import Answer, Kind, Observation, RequestStatus
from .audit import AuditRecord, Outcome, fold
from .driver import Driver, PollingPolicy
from .durable import DurableDriver
from .engine import Engine, Flow, default_engine
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
from .fallback import Fallback
from .hooks import Hooks
from .ports import Clock, FlowStore, SignatureApi, StoredFlow
from .resend import ResendPolicy
from .states import TERMINAL, State, Trigger
from .steps import RESTING, STEPS, ApiCall, Step, Steps
from .table import TABLE, Row

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
