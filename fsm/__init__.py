"""firmaio-fsm: an explicit, audited finite-state machine for Firma con IO signature requests.

``fsm`` is the pure core: it never imports httpx, a database driver or ``adapters``. It is handed
an issuer-API port and a clock (:mod:`fsm.ports`); :mod:`fsm.testing` has fakes of both.
"""

from fsm.answers import Answer, Kind, Observation, RequestStatus
from fsm.audit import AuditRecord, Outcome, fold
from fsm.driver import Driver, PollingPolicy
from fsm.durable import DurableDriver
from fsm.engine import Engine, Flow, default_engine
from fsm.errors import (
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
from fsm.fallback import Fallback
from fsm.ports import Clock, FlowStore, SignatureApi, StoredFlow
from fsm.states import RESTING, TERMINAL, State, Trigger
from fsm.table import TABLE, Row

__all__ = [
    "RESTING",
    "TABLE",
    "TERMINAL",
    "Answer",
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
    "InvalidDefinition",
    "InvalidInput",
    "InvalidRequestId",
    "Kind",
    "Observation",
    "Outcome",
    "PollingPolicy",
    "RequestStatus",
    "Row",
    "SignatureApi",
    "StaleFlow",
    "State",
    "StoredFlow",
    "TransitionNotAllowed",
    "Trigger",
    "default_engine",
    "fold",
]
