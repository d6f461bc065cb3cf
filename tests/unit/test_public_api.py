"""The public surface of fsm is small and pinned."""

from __future__ import annotations

from firmaio import fsm


def test_all_is_sorted_and_complete() -> None:
    """Every name in __all__ exists, and the list is sorted (constants first)."""
    assert sorted(fsm.__all__, key=lambda n: (not n.isupper(), n)) == fsm.__all__
    for name in fsm.__all__:
        assert hasattr(fsm, name), name


def test_public_names_are_pinned() -> None:
    """Adding or removing a public name is a decision, made here."""
    assert set(fsm.__all__) == {
        "RESTING", "STEPS", "TABLE", "TERMINAL", "Answer", "ApiCall", "ApiConfigurationError",
        "ApiError",
        "ApiProtocolError", "ApiRefused", "ApiUnavailable", "AuditRecord", "Clock", "Driver",
        "DurableDriver", "Engine", "Fallback", "Flow", "FlowStore", "FsmError", "Hooks",
        "InvalidDefinition", "InvalidInput", "InvalidRequestId", "Kind", "Observation", "Order",
        "Outcome",
        "PollingPolicy", "RequestStatus", "ResendPolicy", "Row", "SignatureApi", "StaleFlow",
        "State", "Step", "Steps", "StoredFlow", "TransitionNotAllowed", "Trigger",
        "default_engine", "fold",
    }  # fmt: skip


def test_every_error_is_in_one_tree() -> None:
    """All library errors derive from FsmError; InvalidInput is also a ValueError."""
    for name in fsm.__all__:
        obj = getattr(fsm, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, fsm.FsmError), name
    assert issubclass(fsm.InvalidRequestId, ValueError)


def test_the_adapters_public_names_are_pinned() -> None:
    """The adapters' public names, also a decision made here; each one exists."""
    from firmaio import adapters

    assert set(adapters.__all__) == {
        "DEFAULT_BASE_URL", "AsyncFirmaio", "AsyncStore", "BatchRun", "DossierStatusReader",
        "Firmaio",
        "IssuerClient", "RetryPolicy", "RunReport", "Sandbox", "SlidingWindow", "SystemClock",
        "follow_events", "open_async_store", "open_store", "order_from_pdf",
    }  # fmt: skip
    assert sorted(adapters.__all__, key=lambda n: (not n.isupper(), n)) == adapters.__all__
    for name in adapters.__all__:
        assert getattr(adapters, name) is not None, name
