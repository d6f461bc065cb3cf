"""Driving flows: the engine that fires one trigger on one flow, the flow and what it has learned,
the call registry (how each API call is made), the driver that makes each step's one call, the
journal that writes every step to a store (a durable driver's), hooks, the notification's later
attempts, and the fallback a refused citizen is offered."""

from .calls import CALLS, Call, Port, Ports
from .collect import CollectPolicy
from .driver import RECOVERY_GRACE, Driver, PollingPolicy
from .durable import DriverOptions, DurableDriver
from .engine import DEFAULT_ACTIVATION_TIMEOUT, Engine, Flow, default_engine
from .fallback import IO_LINK_BASE, Fallback
from .hooks import Hooks
from .journal import Boundary, Journal
from .resend import ResendPolicy

__all__ = [
    "CALLS",
    "DEFAULT_ACTIVATION_TIMEOUT",
    "IO_LINK_BASE",
    "RECOVERY_GRACE",
    "Boundary",
    "Call",
    "CollectPolicy",
    "Driver",
    "DriverOptions",
    "DurableDriver",
    "Engine",
    "Fallback",
    "Flow",
    "Hooks",
    "Journal",
    "PollingPolicy",
    "Port",
    "Ports",
    "ResendPolicy",
    "default_engine",
]
