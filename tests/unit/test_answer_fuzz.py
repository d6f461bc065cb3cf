"""The same rule for every parser of an issuer answer: no input closes a flow unless it is the
documented answer for that closing.

Each parser (a status read, the notification, the cancel, each set-up call, the dossier listing,
the signed download) is fed answers made by Hypothesis: status codes, content types and bodies,
the documented ones among them (request views of every status, the service's problems, the
set-up's bodies) and others (a proxy's page, text, JSON of another shape, bytes). The step is
driven on a flow in the state it is fired from; it may record its answer, refuse it or fail,
but when the flow ends in a closing state, one of the answers served must be the service's word
for that closing, as the oracle here reads the notes (API-NOTES §1.3, §2, §3), apart from the
client's code. A bounded number of examples per parser keeps the lane fast
(``FIRMAIO_FUZZ_EXAMPLES``, 30 by default).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmaio.adapters import SlidingWindow
from firmaio.adapters.batching import DossierStatusReader
from firmaio.adapters.client import IssuerClient, IssuerSetup, RetryPolicy, order_from_pdf
from firmaio.fsm import ApiError, Driver, Flow, Outcome, State
from firmaio.fsm.machine.examples import (
    EXAMPLE_DOCUMENT_ID,
    EXAMPLE_DOSSIER_ID,
    EXAMPLE_NEW_REQUEST_ID,
    EXAMPLE_REQUEST_ID,
    EXAMPLE_SIGNER_ID,
)
from firmaio.fsm.machine.states import SETUP_ONLY, TERMINAL
from firmaio.fsm.testing import ManualClock, flow_in

BASE = "https://api.test/api/v1/sign"
UPLOAD_URL = "https://api.test/blobs/upload?sig=s"
NOW = 1_800_000_100.0
EXAMPLES = int(os.environ.get("FIRMAIO_FUZZ_EXAMPLES", "30"))
ONCE = RetryPolicy(attempts=1, wait_initial=0, wait_max=0, wait_jitter=0, notification_grace=0)
ASKED = "{asked}"
"""Stands for the id of the request the flow asks about, put in each body as it is served."""
DOCUMENTED_404S = [
    "The specified Signature Request does not exist.",
    "The specified dossier was not found",
    "User profile not found!",
    "Document",
]

# -- answers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Served:
    """One answer a mock serves: status, content type (None: no header), body."""

    status: int
    kind: str | None
    body: bytes

    def response(self, asked: str) -> httpx.Response:
        """The answer, its request id the one asked about (``asked``)."""
        headers = {} if self.kind is None else {"content-type": self.kind}
        body = self.body.replace(ASKED.encode(), asked.encode())
        if self.kind == "application/pdf":
            headers["content-length"] = str(len(body))
        return httpx.Response(self.status, headers=headers, content=body)


statuses = st.sampled_from(
    ["DRAFT", "READY", "WAIT_FOR_SIGNATURE", "SIGNED", "REJECTED", "CANCELLED", "WAIT_FOR_QTSP",
     "EXPIRED", "string", "", "signed"]
)  # fmt: skip
documents = st.lists(
    st.fixed_dictionaries(
        {
            "id": st.sampled_from([EXAMPLE_DOCUMENT_ID, "other"]),
            "status": st.sampled_from(
                ["WAIT_FOR_UPLOAD", "WAIT_FOR_VALIDATION", "READY", "REJECTED", "junk"]
            ),
            "metadata": st.just({"title": "Modulo"}),
        },
        optional={
            "reject_reason": st.text(max_size=20),
            "url": st.sampled_from(["https://api.test/blobs/doc.pdf", "javascript:x"]),
        },
    ),
    max_size=2,
)
views = st.fixed_dictionaries(
    {
        "id": st.sampled_from([ASKED, ASKED, ASKED, "01BX5ZZKBKACTAV9WEVGEMMVRZ", "../x", 7]),
        "status": statuses,
    },
    optional={
        "dossier_id": st.just(EXAMPLE_DOSSIER_ID),
        "signer_id": st.just(EXAMPLE_SIGNER_ID),
        "documents": documents,
        "expires_at": st.sampled_from(["2020-01-01T00:00:00Z", "2099-01-01T00:00:00Z", "x"]),
        "notification": st.fixed_dictionaries({"io_message_id": st.sampled_from(["01G7", ""])}),
        "qr_code_url": st.sampled_from(
            [
                f"https://continua.io.pagopa.it/qrcode.png?feat=firma&srid={EXAMPLE_REQUEST_ID}",
                f"https://continua.io.pagopa.it/qrcode.png?feat=firma&srid={EXAMPLE_REQUEST_ID}",
                "https://evil.example/qr.png",
            ]
        ),
    },
)
problems = st.fixed_dictionaries(
    {"detail": st.one_of(st.sampled_from(DOCUMENTED_404S), st.text(max_size=30), st.just(None))},
    optional={
        "title": st.sampled_from(["Bad Request", "Not Found", 5]),
        "status": st.sampled_from([400, 404, 409, 422, "404"]),
        "type": st.just("/problem/validation-error"),
        "violations": st.just(["Invalid value"]),
    },
)
set_up_bodies = st.one_of(
    st.fixed_dictionaries({"id": st.sampled_from([EXAMPLE_SIGNER_ID, EXAMPLE_DOSSIER_ID, "../"])}),
    st.fixed_dictionaries(
        {"is_valid": st.booleans()}, optional={"violations": st.lists(st.text(max_size=8))}
    ),
    st.fixed_dictionaries(
        {"items": st.lists(views, max_size=3)},
        optional={"continuation_token": st.sampled_from(["", "next"])},
    ),
    st.fixed_dictionaries({"io_message_id": st.sampled_from(["01G7VBM888NDGCMA84ZVZYJGZQ", ""])}),
    st.just(UPLOAD_URL),
    st.just("https://evil.example/u?sig=x"),
)
bodies = st.one_of(
    views.map(json.dumps).map(str.encode),
    problems.map(json.dumps).map(str.encode),
    set_up_bodies.map(json.dumps).map(str.encode),
    st.sampled_from(
        [
            b"",
            b"Not Found",
            b"<html><body>502 Bad Gateway</body></html>",
            b"%PDF-1.7\n%fake\n",
            b"<?xml version='1.0'?><Error><Code>AuthenticationFailed</Code></Error>",
            b'{"statusCode": 404, "message": "Resource not found"}',
            b"[1, 2]",
            b"\xff\xfe",
        ]
    ),
    st.binary(max_size=24),
)
anything = st.builds(
    Served,
    status=st.sampled_from(
        [200, 201, 204, 301, 307, 400, 401, 403, 404, 409, 413, 422, 429, 500, 503]
    ),
    kind=st.sampled_from(
        [
            "application/json",
            "application/problem+json",
            "text/plain",
            "text/html; charset=utf-8",
            "application/xml",
            "application/pdf",
            None,
        ]
    ),
    body=bodies,
)
"""Any status, any content type, any body: mostly not the service's."""


def _served(status: int, kind: str | None, body: object) -> Served:
    return Served(status, kind, json.dumps(body).encode())


documented = st.one_of(
    st.builds(_served, st.just(200), st.just("application/json"), views),
    st.builds(_served, st.sampled_from([200, 201]), st.just("application/json"), set_up_bodies),
    st.builds(
        lambda status, kind, detail: _served(
            status, kind, {"title": "Bad Request", "status": status, "detail": detail}
        ),
        st.sampled_from([400, 404, 409, 422]),
        st.sampled_from(["application/problem+json", "application/json"]),
        st.one_of(
            st.sampled_from(
                [
                    *DOCUMENTED_404S,
                    "It is not allowed to send a message to this user.",
                    "An error occurred while sending the message!",
                    "Invalid status",
                    "Signature Request is already in READY status",
                ]
            ),
            st.text(max_size=20),
        ),
    ),
    st.just(Served(204, None, b"")),
    st.builds(
        lambda status: Served(
            status, "application/xml", b"<?xml version='1.0'?><Error><Code>Refused</Code></Error>"
        ),
        st.sampled_from([400, 403, 404, 409, 413]),
    ),
)
"""The service's own answers: request views, the set-up's bodies, its problems, a 204, the blob
store's error."""

served = st.one_of(documented, anything)

# -- the oracle: what the notes say an answer is -------------------------------------------


def _json(answer: Served) -> Any:
    try:
        return json.loads(answer.body)
    except (ValueError, RecursionError):
        return None


def is_problem(answer: Served) -> bool:
    """The service's problem (API-NOTES §3.1): a 4xx in ``application/problem+json`` with a
    detail (title and status, if there, right), or ``application/json`` with all three; a 404
    only with a detail of the notes."""
    kind = (answer.kind or "").split(";")[0]
    body = _json(answer)
    if not 400 <= answer.status < 500 or not isinstance(body, dict):
        return False
    detail, title, status = body.get("detail"), body.get("title"), body.get("status")
    if kind not in ("application/problem+json", "application/json") or not isinstance(detail, str):
        return False
    if kind == "application/json" and (title is None or status is None):
        return False
    if (title is not None and not isinstance(title, str)) or (
        status is not None and status != answer.status
    ):
        return False
    return answer.status != 404 or detail in DOCUMENTED_404S


def words(answer: Served) -> set[str]:
    """What the service says with ``answer``, in the oracle's words."""
    said: set[str] = set()
    if is_problem(answer):
        said.add("problem")
    if 400 <= answer.status < 500 and b"<Error>" in answer.body and b"<Code>" in answer.body:
        said.add("blob-error")
    if answer.status == 204:
        said.add("no content")
    body = _json(answer)
    if 200 <= answer.status < 300 and isinstance(body, dict):
        said |= _body_words(body)
    return said


def _body_words(body: dict[str, Any]) -> set[str]:
    """What a 2xx JSON object says: a request's status (read, or listed), its documents'."""
    said: set[str] = set()
    if body.get("id") == ASKED and isinstance(body.get("status"), str):
        said.add(f"request {body['status']}")
        if body["status"] == "WAIT_FOR_SIGNATURE" and body.get("expires_at", "").startswith("2020"):
            said.add("request past its expiry")
        said |= {f"document {document.get('status')}" for document in body.get("documents") or []}
    if body.get("is_valid") is False:
        said.add("document invalid")
    if isinstance(body.get("items"), list):
        said.add("listing")
        for item in body["items"]:  # a listed request's status is the service's word too
            if isinstance(item, dict) and item.get("id") == ASKED:
                said.add(f"request {item.get('status')}")
    return said


CLOSING_WORDS: dict[State, set[str]] = {
    State.SIGNED: {"request SIGNED"},
    State.REJECTED: {"request REJECTED"},
    State.CANCELLED: {"request CANCELLED", "no content"},
    State.EXPIRED: {"request past its expiry"},
    State.DOCUMENT_REFUSED: {"document invalid", "document REJECTED"},
    State.FAILED: {"problem", "blob-error", "request DRAFT", "request READY", "listing"},
}
"""The words that may close a flow in each closing state (a 204 only to the cancel; a listing
only when it shows two requests a lost answer could have made)."""

# -- driving one step against served answers -----------------------------------------------


@dataclass(frozen=True)
class Case:
    """A parser: the state its step is fired from, the trigger, and which requests get the first
    answer (the others get the second)."""

    state: State
    trigger: str
    first: Callable[[httpx.Request], bool] = lambda _request: True
    listing: bool = False


def _api_put(request: httpx.Request) -> bool:
    return request.method == "PUT"


def _api(request: httpx.Request) -> bool:
    return "/blobs/" not in request.url.path


def _listing(request: httpx.Request) -> bool:
    return request.url.path.endswith("/signature-requests")


SET_UP_STATES = SETUP_ONLY

CASES = {
    "status: activation": Case(State.READY, "check_activation"),
    "status: after activation": Case(State.WAIT_FOR_SIGNATURE, "check_status"),
    "status: notified": Case(State.NOTIFIED, "check_status"),
    "status: read back": Case(State.WAIT_FOR_SIGNATURE, "recover_notification"),
    "notification": Case(State.WAIT_FOR_SIGNATURE, "notify", _api_put),
    "cancel": Case(State.NOTIFIED, "cancel", _api_put),
    "listing: activation": Case(State.READY, "check_activation", _listing, listing=True),
    "set-up: signer": Case(State.RECEIVED, "find_signer"),
    "set-up: document check": Case(State.SIGNER_FOUND, "check_document"),
    "set-up: dossier": Case(State.DOCUMENT_CHECKED, "open_dossier"),
    "set-up: request": Case(State.DOSSIER_CHOSEN, "create_request"),
    "set-up: lost request, listed": Case(State.DOSSIER_CHOSEN, "recover_request", _listing),
    "set-up: upload URL": Case(State.DRAFT_CREATED, "get_upload_url"),
    "set-up: upload": Case(State.UPLOAD_URL_ISSUED, "upload_document", _api_put),
    "set-up: validation": Case(State.DOCUMENT_UPLOADED, "check_validation"),
    "set-up: ready": Case(State.DOCUMENT_VALIDATED, "mark_ready"),
    "signed download": Case(State.SIGNED, "fetch_documents", _api),
}


class Bench:
    """One client on one event loop for every example of a parser: a mock serving the answers
    of the example, and the step driven on a fresh flow."""

    def __init__(self, pdf: Path, signed: Path) -> None:
        self.runner = asyncio.Runner()
        self.answers: tuple[Served, Served] = (Served(500, None, b""), Served(500, None, b""))
        self.case = CASES["status: activation"]
        self.client = IssuerClient(
            "k",
            base_url=BASE,
            transport=httpx.MockTransport(self.serve),
            retry=ONCE,
            rate_limit=SlidingWindow(1_000_000, 5.0),  # the mock has no gateway to spare
        )
        self.setup = IssuerSetup(self.client, signed)
        self.order = order_from_pdf(
            pdf,
            fields=[
                {
                    "attrs": {"unique_name": "firma"},
                    "clause": {"title": "Firma del richiedente", "type": "REQUIRED"},
                }
            ],
            document_title="Modulo",
            dossier_title="Pratiche",
        ).with_fiscal_code("RSSMRA80A01H501U")

    def serve(self, request: httpx.Request) -> httpx.Response:
        first, second = self.answers
        asked = EXAMPLE_NEW_REQUEST_ID if self.case.state in SET_UP_STATES else EXAMPLE_REQUEST_ID
        return (first if self.case.first(request) else second).response(asked)

    def drive(self, case: Case, answers: tuple[Served, Served]) -> Flow:
        self.case, self.answers = case, answers
        flow = flow_in(case.state, order=self.order, now=NOW - 60)
        flow.upload_url = UPLOAD_URL
        reader = DossierStatusReader(self.client, EXAMPLE_DOSSIER_ID, window=0)
        driver = Driver(
            self.client,
            ManualClock(NOW),
            setup=self.setup,
            status_reader=reader if case.listing else None,
        )
        with contextlib.suppress(ApiError):  # no usable answer: an error record, no change
            self.runner.run(driver.step(flow, case.trigger))
        return flow

    def files(self) -> set[Path]:
        """Every file under the folder of signed documents."""
        return {path for path in self.setup.documents_dir.rglob("*") if path.is_file()}

    def close(self) -> None:
        self.runner.run(self.client.aclose())
        self.runner.close()


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    folder = tmp_path_factory.mktemp("fuzz")
    pdf = folder / "modulo.pdf"
    pdf.write_bytes(b"%PDF-1.7\n%made up\n")
    made = Bench(pdf, folder / "signed")
    yield made
    made.close()


@pytest.mark.parametrize("parser", list(CASES))
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(first=served, second=served)
def test_no_answer_closes_a_flow_unless_it_is_the_service_s_word_for_it(
    bench: Bench, parser: str, first: Served, second: Served
) -> None:
    case = CASES[parser]
    files = bench.files()
    flow = bench.drive(case, (first, second))
    if case.state in TERMINAL:  # the signed download: SIGNED it stays, whatever it got, and
        assert flow.state is case.state  # a download not taken leaves no file behind
        if flow.history[-1].outcome is not Outcome.ACCEPTED:
            assert bench.files() == files
        return
    if flow.state not in TERMINAL:
        return
    said = words(first) | words(second)
    allowed = CLOSING_WORDS[flow.state] - ({"no content"} if case.trigger != "cancel" else set())
    assert said & allowed, (
        f"{case.trigger} closed the flow {flow.state} on {first} / {second} ({sorted(said)})"
    )


def test_the_oracle_knows_the_service_s_problem_from_a_proxy_s_page() -> None:
    """The oracle's own check: the service's 404 and a proxy's are told apart."""
    service = json.dumps({"title": "Not Found", "status": 404, "detail": DOCUMENTED_404S[0]})
    assert is_problem(Served(404, "application/problem+json", service.encode()))
    assert not is_problem(Served(404, "text/plain", b"Not Found"))
    assert not is_problem(Served(404, "application/json", b'{"statusCode": 404, "message": "x"}'))
    assert not is_problem(Served(404, "application/problem+json", b'{"detail": "No route"}'))
