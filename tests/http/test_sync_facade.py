"""The sync facade: plain threads notify requests and drive a batch through one client."""

from __future__ import annotations

import asyncio
import getpass
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from firmaio.adapters import AsyncFirmaio, Firmaio
from firmaio.adapters.cli.demo import sample_pdf
from firmaio.adapters.sandbox import Sandbox
from firmaio.adapters.settings import Settings
from firmaio.fsm import Hooks, InvalidInput, State, Trigger
from tests.conftest import FAST_RETRY
from tests.sandbox_helpers import fault, fiscal_code, ready_request

FLOW = "01JFACADESEND0000000000001"


def fast(sandbox: Sandbox) -> Settings:
    """The sandbox's URL, and retries that do not wait."""
    return Settings(base_url=sandbox.url, retry=FAST_RETRY)


def test_threads_share_one_facade_and_each_citizen_gets_one_message(sandbox: Sandbox) -> None:
    ids = {ready_request(sandbox, messages_on=n % 3 != 0): n % 3 != 0 for n in range(9)}
    hooks, resting = Hooks(), []
    hooks.subscribe(lambda flow, _record: resting.append(flow.id), target=State.NOTIFIED)
    facade = Firmaio("sandbox-key", settings=fast(sandbox), hooks=hooks)
    with facade as firmaio, ThreadPoolExecutor(max_workers=4) as pool:
        flows = list(pool.map(firmaio.notify, ids))
    for flow in flows:
        expected = State.NOTIFIED if ids[flow.id] else State.FALLBACK_SUGGESTED
        assert flow.state is expected
        assert sandbox.issuer.messages_sent(flow.id) == (1 if ids[flow.id] else 0)
    assert sorted(resting) == sorted(i for i, on in ids.items() if on)


def test_a_batch_and_then_one_request_on_the_same_store(sandbox: Sandbox, tmp_path: Path) -> None:
    ids = [ready_request(sandbox) for _ in range(5)]
    db = str(tmp_path / "flows.sqlite")
    with Firmaio("sandbox-key", db=db, settings=fast(sandbox)) as firmaio:
        report = firmaio.run(ids, concurrency=3)
        assert report.driven == 5
        assert dict(report.counts) == {"NOTIFIED": 5}
        calls = sum(sandbox.state.calls.values())
        again = firmaio.notify(ids[0])  # at rest in the store: nothing to call
        assert again.state is State.NOTIFIED
        assert sum(sandbox.state.calls.values()) == calls
        with pytest.warns(DeprecationWarning, match="the parameter is flow_id"):
            cancelled = firmaio.cancel(request_id=ids[1])  # its former name still works
        assert cancelled.state is State.CANCELLED
        assert cancelled.history[-1].actor == f"{getpass.getuser()} (Firmaio)"


def test_errors_reach_the_calling_thread_and_a_closed_facade_refuses(sandbox: Sandbox) -> None:
    firmaio = Firmaio("sandbox-key", settings=fast(sandbox))
    with pytest.raises(InvalidInput, match="signature request id"):
        firmaio.notify("no/such..id")
    with pytest.raises(InvalidInput, match="needs a store"):
        firmaio.run(["01ARZ3NDEKTSV4RRFFQ69G5FAV"])
    firmaio.close()
    firmaio.close()  # twice is harmless
    with pytest.raises(InvalidInput, match="closed"):
        firmaio.notify("01ARZ3NDEKTSV4RRFFQ69G5FAV")


def test_a_timeout_never_cuts_a_notification_off_and_a_second_call_joins_it(
    sandbox: Sandbox,
) -> None:
    """A slow service: the first call times out, the work goes on; calling again (from two
    threads at once, here) waits for that work: one message, never two."""
    request_id = ready_request(sandbox)
    fault(sandbox, "sendNotification", "latency", seconds=1.5)
    firmaio = Firmaio("sandbox-key", settings=fast(sandbox))
    try:
        with pytest.raises(TimeoutError, match="the work goes on"):
            firmaio.notify(request_id, timeout=0.5)
        with ThreadPoolExecutor(max_workers=2) as pool:
            flows = list(pool.map(firmaio.notify, [request_id, request_id]))
    finally:
        firmaio.close()
    assert flows[0] is flows[1]
    assert flows[0].state is State.NOTIFIED
    assert sandbox.issuer.messages_sent(request_id) == 1


def test_close_waits_for_the_work_under_way(sandbox: Sandbox) -> None:
    request_id = ready_request(sandbox)
    fault(sandbox, "sendNotification", "latency", seconds=1.0)
    firmaio = Firmaio("sandbox-key", settings=fast(sandbox))
    calls = sandbox.state.calls
    before = calls.get("sendNotification", 0)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(firmaio.notify, request_id)
        deadline = time.monotonic() + 10
        while calls.get("sendNotification", 0) == before:  # until the call is under way
            assert time.monotonic() < deadline, "the notification never reached the sandbox"
            time.sleep(0.01)
        firmaio.close()
        assert pending.result(timeout=10).state is State.NOTIFIED
    assert sandbox.issuer.messages_sent(request_id) == 1


def test_a_pdf_is_sent_fetched_once_signed_and_a_fallback_recorded_as_delivered(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Every flow of the command from Python: send (a PDF to NOTIFIED), fetch before and after
    the citizen signs, check, and a refused citizen's fallback recorded as delivered."""
    settings = Settings(base_url=sandbox.url, retry=FAST_RETRY, signed_dir=str(tmp_path / "s"))
    code, refused = fiscal_code(), fiscal_code("X")  # X...: messages off
    with Firmaio("sandbox-key", db=str(tmp_path / "flows.sqlite"), settings=settings) as firmaio:
        flow = firmaio.send(sample_pdf(), code, fields=["firma_richiedente"], flow_id=FLOW)
        assert (flow.id, flow.state) == (FLOW, State.NOTIFIED)
        assert sandbox.issuer.messages_sent(flow.request_id) == 1
        again = firmaio.send(sample_pdf(), code, fields=["firma_richiedente"], flow_id=FLOW)
        assert again.request_id == flow.request_id  # resumed: no second request or message
        assert sandbox.issuer.messages_sent(flow.request_id) == 1
        early = firmaio.fetch(FLOW)
        assert early.state is State.NOTIFIED
        assert not (tmp_path / "s").exists()  # nothing downloaded before it is signed
        sandbox.issuer.close(flow.request_id, "SIGNED")
        signed = firmaio.fetch(FLOW)
        assert signed.state is State.SIGNED
        [kept] = (tmp_path / "s" / flow.request_id).glob("*.pdf")
        assert kept.read_bytes().startswith(b"%PDF")
        assert firmaio.check([FLOW]) == 1
        other = firmaio.send(sample_pdf(), refused, fields=["firma_richiedente"])
        assert other.state is State.FALLBACK_SUGGESTED
        reached = firmaio.delivered(other.id, "letter", "raccomandata")
        assert reached.history[-1].trigger == Trigger.DELIVER_FALLBACK
        assert dict(reached.history[-1].facts or ()).get("channel") == "letter"
        assert reached.history[-1].actor == f"{getpass.getuser()} (Firmaio)"
        with pytest.raises(InvalidInput, match="not a PDF"):
            firmaio.send(Path(__file__), code, fields=["firma_richiedente"])


def test_without_a_store_fetch_and_delivered_say_what_they_need(sandbox: Sandbox) -> None:
    with Firmaio("sandbox-key", settings=fast(sandbox)) as firmaio:
        with pytest.raises(InvalidInput, match="fetch needs a store"):
            firmaio.fetch(FLOW)
        with pytest.raises(InvalidInput, match="check needs a store"):
            firmaio.check([FLOW])
        with pytest.raises(InvalidInput, match="delivered needs a store"):
            firmaio.delivered(FLOW, "letter")


def test_the_facade_warns_when_a_coroutine_calls_it(sandbox: Sandbox) -> None:
    """Called from a running event loop, the facade blocks every task of it: it says so, and
    names the async API to await instead; the call still works."""
    request_id = ready_request(sandbox)
    with Firmaio("sandbox-key", settings=fast(sandbox)) as firmaio:

        async def handler() -> State:
            with pytest.warns(RuntimeWarning, match="AsyncFirmaio"):
                return firmaio.notify(request_id).state

        assert asyncio.run(handler()) is State.NOTIFIED
        assert sandbox.issuer.messages_sent(request_id) == 1


def test_the_async_api_sends_a_pdf_and_notifies_a_request(sandbox: Sandbox) -> None:
    request_id = ready_request(sandbox)

    async def main() -> tuple[State, State]:
        async with await AsyncFirmaio.open("sandbox-key", settings=fast(sandbox)) as firmaio:
            sent = await firmaio.send(sample_pdf(), fiscal_code(), fields=["firma_richiedente"])
            notified = await firmaio.notify(request_id)
            return sent.state, notified.state

    assert asyncio.run(main()) == (State.NOTIFIED, State.NOTIFIED)
