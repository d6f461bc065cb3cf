"""Set-up helpers for tests over the sandbox."""

from __future__ import annotations

import itertools

from firmaio.adapters.pytest_plugin import AsgiSandbox
from firmaio.adapters.sandbox import Sandbox
from firmaio.fsm.diagrams.paths import path_to
from firmaio.fsm.machine.states import ISSUER_INITIAL, State

AnySandbox = Sandbox | AsgiSandbox
"""The sandbox on loopback, or in-process over ASGI: both have ``issuer`` and ``state``."""

_serial = itertools.count(1)
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def fiscal_code(first: str = "R") -> str:
    """A fresh, well-formed fiscal code; one starting with X has messages off by convention."""
    n = next(_serial)
    name = first + "SS" + _LETTERS[n % 26] + _LETTERS[(n // 26) % 26] + "A"
    return f"{name}80A01H{n % 1000:03d}U"


def ready_request(sandbox: AnySandbox, first: str = "R", **citizen: bool) -> str:
    """A READY request for a new citizen (declared with ``citizen`` settings)."""
    code = fiscal_code(first)
    sandbox.issuer.add_citizen(code, **citizen)
    return sandbox.issuer.create_ready_request("sandbox-key", code)


def fault(sandbox: AnySandbox, operation: str, kind: str, **options: object) -> None:
    """Queue a fault (the same as POST /__sandbox/faults)."""
    from firmaio.adapters.sandbox import Fault

    sandbox.state.faults.append(Fault(operation=operation, kind=kind, **options))  # type: ignore[arg-type]


SET_UP_TRIGGERS: list[str] = [
    str(row.trigger) for row in path_to(State.READY, start=ISSUER_INITIAL)
]
"""The set-up's steps in the order a flow from a PDF fires them (from the table): find_signer,
check_document, ..., mark_ready."""
