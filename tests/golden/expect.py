"""What a replay of a golden store must find (tests/golden/replay.py): a store whose flows rest in
every state of its release's table but RECEIVED and hold each of its intents open; every chain
intact before and after; every flow that needed driving counted; each flow at its true outcome,
with one message per notified request, one request per signer, and each upload made once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from firmaio.fsm.machine import DEFAULT_STEPS, TERMINAL


def check_replay(
    manifest: Mapping[str, Any], results: Mapping[str, Any], renamed: Mapping[str, str] = {}
) -> None:
    """Assert ``results`` are the true outcomes of ``manifest``'s flows (states named as the
    release that replayed them names them: ``renamed``, old name to new)."""
    flows = manifest["flows"]

    def now(state: str) -> str:
        return renamed.get(state, state)

    rests = {flow["rests_in"] for flow in flows}
    assert rests == set(manifest["states"]) - {"RECEIVED"}, "a state no golden flow rests in"
    held = {flow["intent"] for flow in flows} - {None}
    assert held == set(manifest["intents"]), "an intent of the release no flow holds open"
    before = results["verified_before"]
    assert before["intact"], before["broken"]
    assert (before["flows"], before["records"]) == (len(flows), sum(f["records"] for f in flows))
    driven = {now(str(state)) for state in DEFAULT_STEPS.driven}
    to_drive = [f for f in flows if now(f["rests_in"]) in driven or f["intent"] is not None]
    assert results["pending"] == len(to_drive)
    for flow in flows:
        got = results["flows"][flow["id"]]
        where = f"flow {flow['id']} ({flow['why']})"
        assert got["state"] == now(flow["expect"]), f"{where}: {got}"
        assert got["intent"] is None, f"{where}: {got}"
        for count in ("messages", "uploads"):
            if count in flow:
                assert got[count] == flow[count], f"{where}: {count} {got}"
        if "requests" in flow:
            assert got["requests"] == flow["requests"], f"{where}: {got}"
        if now(flow["rests_in"]) in {now(str(state)) for state in TERMINAL}:
            assert got["records"] == flow["records"], f"{where}: a closed flow was driven"
    after = results["verified_after"]
    assert after["intact"], after["broken"]
    assert after["records"] > before["records"]
