"""Bulk sending from a manifest: every row checked before anything is sent, bad rows reported
with their lines and reasons, good rows sent as flows of one batch, the same manifest again
creating nothing new, and ``firmaio batch status``.

The big manifest is checked with ``--dry-run`` (nothing is called); sending goes through the
library on the in-process sandbox with a fake clock (seconds), and the command over loopback."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

from firmaio.adapters.batch_send import BatchSent, send_batch
from firmaio.adapters.cli import main
from firmaio.adapters.client import IssuerSetup
from firmaio.adapters.manifest import Defaults, Manifest, check_character, read_manifest
from firmaio.adapters.pytest_plugin import AsgiSandbox
from firmaio.adapters.ratelimit import SlidingWindow
from firmaio.adapters.sandbox import Sandbox
from firmaio.adapters.store import open_async_store
from firmaio.fsm.driving import DurableDriver
from firmaio.fsm.testing import ManualClock
from tests.conftest import FAST_RETRY
from tests.multidoc_helpers import pdf_copies, valid_fiscal_code, write_manifest

FIELD = ("firma_richiedente:Firma del modulo",)


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_the_check_character_is_the_one_of_known_fiscal_codes() -> None:
    assert check_character("RSSMRA85T10A562") == "S"
    assert check_character("MRTMTT25D09F205") == "Z"


def big_manifest(folder: Path, size: int, every: int = 100) -> tuple[Path, dict[int, str]]:
    """A manifest of ``size`` rows, every ``every``-th row bad (a wrong check character, a missing
    file, a PDF without the named field, the same fiscal code as the line before, in turn);
    the bad lines, with what each must say."""
    [form, other] = pdf_copies(folder, "modulo.pdf", "altro.pdf")
    rows: list[dict[str, str]] = []
    bad: dict[int, str] = {}
    for n in range(size):
        line = n + 2  # the header is line 1
        code, pdf, fields = valid_fiscal_code(n), form.name, ""
        if n % every == every - 1:
            kind = (n // every) % 4
            if kind == 0:
                code = code[:15] + ("A" if code[15] != "A" else "B")
                bad[line] = "the fiscal code's check character is wrong"
            elif kind == 1:
                pdf = "assente.pdf"
                bad[line] = "cannot read assente.pdf: No such file"
            elif kind == 2:
                pdf, fields = other.name, "firma_assente:Firma mancante"
                bad[line] = "altro.pdf has no signature field firma_assente"
            else:
                code = valid_fiscal_code(n - 1)
                bad[line] = f"the same fiscal code as line {line - 1}"
        reference = f"pratica-{n}"
        rows.append({"fiscal_code": code, "pdf": pdf, "fields": fields, "reference": reference})
    return write_manifest(folder / "batch.csv", rows), bad


def test_a_2000_row_manifest_reports_exactly_its_20_bad_rows_and_sends_nothing_in_a_dry_run(
    tmp_path: Path,
) -> None:
    path, bad = big_manifest(tmp_path, 2000)
    status, out = run("send", "--manifest", str(path), "--field", *FIELD, "--dry-run", "--json")
    assert status == 2, out
    shown = json.loads(out)
    assert shown["rows"] == 2000
    assert shown["good"] == 1980
    assert {row["line"] for row in shown["bad"]} == set(bad)
    for row in shown["bad"]:
        assert any(bad[row["line"]] in reason for reason in row["reasons"]), row
    assert shown["states"] == {}
    for n in range(2000):
        assert valid_fiscal_code(n) not in out  # no reason repeats a fiscal code


def send(
    asgi: AsgiSandbox, clock: ManualClock, db: str, manifest: Manifest, on_boundary: Any = None
) -> BatchSent:
    async def go() -> BatchSent:
        store = open_async_store(db)
        try:
            asgi.state.rate_calls = 10**6  # the key's limit is not the point here
            unlimited = SlidingWindow(10**6, 5.0)
            async with asgi.client(retry=FAST_RETRY, rate_limit=unlimited) as client:
                setup = IssuerSetup(client, Path(db).parent / "signed")
                driver = DurableDriver(
                    client, clock, store, setup=setup, recovery_grace=0.0, on_boundary=on_boundary
                )
                return await send_batch(manifest, store, driver, concurrency=20)
        finally:
            await store.close()

    return asyncio.run(go())


def test_the_good_rows_are_sent_once_and_the_same_manifest_again_creates_nothing_new(
    asgi: AsgiSandbox, clock: ManualClock, tmp_path: Path
) -> None:
    path, bad = big_manifest(tmp_path, 40, every=10)  # 4 bad rows, one of each kind
    db = str(tmp_path / "flows.sqlite")
    defaults = Defaults(fields=FIELD)
    manifest = read_manifest(path, defaults)
    assert {row.line for row in manifest.bad} == set(bad)

    sent = send(asgi, clock, db, manifest)
    assert sent.errors == {}
    assert sent.states == {"NOTIFIED": 36}
    requests = dict(asgi.issuer.requests)
    assert len(requests) == 36
    assert sum(asgi.issuer.messages_sent(r) for r in requests) == 36

    again = send(asgi, clock, db, read_manifest(path, defaults))
    assert again.states == {"NOTIFIED": 36}
    assert asgi.issuer.requests.keys() == requests.keys()  # nothing new
    assert sum(asgi.issuer.messages_sent(r) for r in requests) == 36

    status, out = run("batch", "status", manifest.batch_id, "--db", db, "--json")
    assert status == 0, out
    shown: dict[str, Any] = json.loads(out)
    assert shown["rows"] == 40
    assert shown["counts"] == {"NOTIFIED": 36}
    assert [row["line"] for row in shown["refused"]] == sorted(bad)
    assert shown["failed"] == []


def test_the_command_sends_a_manifest_of_several_documents_and_batch_status_counts(
    api_env: Sandbox, tmp_path: Path, db: str
) -> None:
    """On SQLite, and on PostgreSQL (each flow driven holding its lock, as ``run`` does)."""
    pdf_copies(tmp_path, "contratto.pdf", "allegato.pdf")
    off = valid_fiscal_code(9001)
    api_env.issuer.add_citizen(off, has_profile=False)
    path = write_manifest(
        tmp_path / "batch.csv",
        [
            {"fiscal_code": valid_fiscal_code(9000), "pdf": "contratto.pdf|allegato.pdf",
             "fields": "contratto.pdf:firma_richiedente|allegato.pdf:firma_richiedente",
             "reference": "pratica-1"},
            {"fiscal_code": off, "pdf": "contratto.pdf", "fields": "firma_richiedente",
             "reference": "pratica-2"},
            {"fiscal_code": "NONVALIDO", "pdf": "contratto.pdf", "fields": "firma_richiedente",
             "reference": "pratica-3"},
        ],
    )  # fmt: skip
    status, out = run("send", "--manifest", str(path), "--db", db, "--batch", "giugno", "--json")
    assert status == 2, out  # a bad row: said, not sent; the others sent
    shown = json.loads(out)
    assert shown["states"] == {"FAILED": 1, "NOTIFIED": 1}
    assert [row["line"] for row in shown["bad"]] == [4]

    status, out = run("batch", "status", "giugno", "--db", db)
    assert status == 14, out  # a row failed: the citizen is not on IO
    assert "NOTIFIED" in out
    assert "line 3: FAILED" in out
    assert "line 4: refused, not sent" in out

    events = io.StringIO()
    main(["events", "--db", db, "--json", "--limit", "1000"], out=events)
    assert '"batch_id": "giugno"' in events.getvalue()


class Crash(BaseException):
    """Stands for SIGKILL: nothing after it runs in this 'process'."""


def test_a_batch_killed_twice_at_random_boundaries_then_run_again_gives_one_of_each(
    asgi: AsgiSandbox, clock: ManualClock, tmp_path: Path
) -> None:
    """Killed at two boundaries drawn at random (seeded: the failure names them), then run
    again from the same manifest: every citizen has exactly one request and one message."""
    import random

    seed = random.randrange(10**6)
    draw = random.Random(seed)
    path, _bad = big_manifest(tmp_path, 24, every=1000)
    db = str(tmp_path / "flows.sqlite")
    defaults = Defaults(fields=FIELD)
    for stop in (draw.randrange(20, 120), draw.randrange(20, 120)):
        seen = {"n": 0}

        def hook(
            _at: str, _flow: object, _fired: str, stop: int = stop, seen: dict[str, int] = seen
        ) -> None:
            seen["n"] += 1
            if seen["n"] == stop:
                raise Crash(stop)

        try:
            send(asgi, clock, db, read_manifest(path, defaults), on_boundary=hook)
        except Crash:
            pass
        else:
            raise AssertionError(f"seed {seed}: the run ended before boundary {stop}")
    sent = send(asgi, clock, db, read_manifest(path, defaults))
    assert sent.states == {"NOTIFIED": 24}, f"seed {seed}"
    by_signer: dict[str, list[str]] = {}
    for request in asgi.issuer.requests.values():
        by_signer.setdefault(request.signer_id, []).append(request.id)
    assert len(by_signer) == 24, f"seed {seed}"
    for ids in by_signer.values():
        assert len(ids) == 1, f"seed {seed}"
        assert asgi.issuer.messages_sent(ids[0]) == 1, f"seed {seed}"
        assert asgi.issuer.uploads_received(ids[0]) == 1, f"seed {seed}"


def test_a_json_lines_manifest_with_several_documents_per_row_is_checked(tmp_path: Path) -> None:
    pdf_copies(tmp_path, "contratto.pdf", "allegato.pdf")
    rows = [
        {"fiscal_code": valid_fiscal_code(1), "pdf": ["contratto.pdf", "allegato.pdf"],
         "fields": ["contratto.pdf:firma_richiedente", "allegato.pdf:firma_richiedente"],
         "reference": "a-1", "expires_at": "2099-01-01T00:00:00Z"},
        {"fiscal_code": valid_fiscal_code(2), "pdf": ["contratto.pdf", "allegato.pdf"],
         "fields": ["firma_richiedente"]},
        {"fiscal_code": valid_fiscal_code(3), "pdf": "contratto.pdf", "reference": "a-1"},
        ["not", "an", "object"],
        {"fiscal_code": valid_fiscal_code(4), "pdf": "contratto.pdf", "titel": "Contratto"},
    ]  # fmt: skip
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    manifest = read_manifest(path, Defaults(fields=FIELD))
    [good] = manifest.good
    assert good.line == 1
    assert good.order is not None
    assert len(good.order.documents) == 2
    reasons = {row.line: "; ".join(row.problems) for row in manifest.bad}
    assert "with several PDFs, name the PDF first" in reasons[2]
    assert "the same reference as line 1" in reasons[3]
    assert reasons[4] == "not a JSON object"
    assert reasons[5].startswith("unknown keys: titel (known: fiscal_code, pdf,"), reasons[5]
