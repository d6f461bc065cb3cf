"""A 2,000-row manifest with 20 bad rows, its ``firmaio send --manifest`` process SIGKILLed twice
at random, then run to the end and run again (issue #25's "done when"): ``python -m
bench.manifest_bench --kills [ROWS] [RATE]``; ``make bench``'s line 14b.

The manifest (a one-page PDF per row, default 2,000 rows) has 20 bad rows planted at random lines
(seeded): 5 with a wrong check character, 5 naming a PDF that is not there, 5 naming a signature
field the PDF lacks, 5 repeating an earlier good row's fiscal code. The command runs as a real
process (:mod:`bench.firmaio_at_rate`: the shipped ``main``, the client's key window raised to
the sandbox's) against the sandbox in its own process, whose gateway allows RATE calls per 5 s
(default 1,500), with ``--recovery-grace 0``: a killed process has no call under way, so an open
intent is read back at once. The first run is SIGKILLed from outside when the sandbox has sent a
random number of IO messages (in the first half), the second (the same command, resuming) again
(in the second half); the third runs to the end, the fourth is the same command once more.

Printed, each checked (``AssertionError`` if not so): the bad rows the third run reported (the
20 planted, each at its line, for its reason), the flows sent (every good row NOTIFIED), the
requests, uploads and messages per citizen (from the sandbox's own records, ``GET
/__sandbox/requests``: exactly 1 each, and none for a bad row's citizen), what the fourth run
created (new requests, messages, flows: 0), the two kill points, each run's seconds, and
``audit verify`` over the store.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.http_bench import KEY, sandbox_process
from firmaio.adapters.sandbox.records import SIGNER_NAMESPACE
from firmaio.adapters.sandbox.samples import SAMPLE_PDF

KINDS = ("checksum", "missing file", "missing field", "duplicate")
REASON = {
    "checksum": "the fiscal code's check character is wrong",
    "missing file": "cannot read absent-",
    "missing field": "has no signature field firma_assente",
    "duplicate": "the same fiscal code as line ",
}
"""What the command must say of each kind of bad row (a part of its reason)."""


@dataclass(frozen=True, slots=True)
class Planted:
    """The manifest written: each good row's fiscal code, each bad row's kind (by line)."""

    path: Path
    good: dict[int, str]
    bad: dict[int, str]
    duplicate_of: dict[int, int]


def plant(folder: Path, rows: int, rng: random.Random) -> Planted:
    """A manifest of ``rows`` rows with 5 bad rows of each kind at random lines (the header is
    line 1, row n is line n + 2)."""
    from bench.manifest_bench import code

    (folder / "modulo.pdf").write_bytes(SAMPLE_PDF)
    spots = rng.sample(range(1, rows), 5 * len(KINDS))
    kind_at = {n: KINDS[i // 5] for i, n in enumerate(spots)}
    lines = ["fiscal_code,pdf,fields,reference"]
    good: dict[int, str] = {}
    bad: dict[int, str] = {}
    duplicate_of: dict[int, int] = {}
    for n in range(rows):
        line, fiscal, pdf, fields = n + 2, code(n), "modulo.pdf", ""
        kind = kind_at.get(n)
        if kind == "checksum":
            right = fiscal[15]
            fiscal = fiscal[:15] + ("A" if right != "A" else "B")
        elif kind == "missing file":
            pdf = f"absent-{n}.pdf"
        elif kind == "missing field":
            fields = "firma_assente:Firma mancante"
        elif kind == "duplicate":
            earlier = rng.choice(sorted(good))
            fiscal, duplicate_of[line] = good[earlier], earlier
        if kind is None:
            good[line] = fiscal
        else:
            bad[line] = kind
        lines.append(f"{fiscal},{pdf},{fields},r{n}")
    path = folder / "batch.csv"
    path.write_text("\n".join(lines) + "\n")
    return Planted(path, good, bad, duplicate_of)


@dataclass(slots=True)
class Run:
    """One run of the command: its exit code, its JSON envelope, its seconds."""

    code: int
    shown: dict[str, Any]
    seconds: float
    killed_at: tuple[int, int] | None = None
    """Killed: the sandbox's (API calls, IO messages) when it was."""


@dataclass(slots=True)
class Measured:
    rows: int
    planted: Planted
    runs: list[Run] = field(default_factory=list)
    per_citizen: Counter[tuple[int, int, int]] = field(default_factory=Counter)
    """(requests, uploads, messages) of each good row's citizen: how many citizens had each."""
    bad_citizens_with_requests: int = 0
    new_requests: int = 0
    new_messages: int = 0
    new_flows: int = 0
    verified: str = ""


def _stats(root: str) -> tuple[int, int]:
    stats = httpx.get(f"{root}/__sandbox/stats").json()
    return sum(stats["calls"].values()), int(stats["calls"].get("sendNotification", 0))


def _requests(root: str) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = httpx.get(f"{root}/__sandbox/requests", timeout=60).json()
    return listed


def _command(root: str, rate: int, *args: str) -> tuple[list[str], dict[str, str]]:
    env = {
        **os.environ,
        "FIRMAIO_API_KEY": KEY,
        "FIRMAIO_BASE_URL": f"{root}/api/v1/sign",
        "FIRMAIO_BENCH_RATE_CALLS": str(rate),
        "PYTHONPATH": str(Path(__file__).parents[1]),
    }
    return [sys.executable, "-m", "bench.firmaio_at_rate", *args], env


def send(root: str, rate: int, folder: Path, kill_at: int | None = None) -> Run:
    """``firmaio send --manifest`` to the end, or SIGKILLed once the sandbox has sent
    ``kill_at`` IO messages in all."""
    argv, env = _command(
        root, rate,
        "send", "--manifest", "batch.csv", "--db", "flows.sqlite", "--field",
        "firma_richiedente:Firma del richiedente", "--concurrency", "50",
        "--recovery-grace", "0", "--json",
    )  # fmt: skip
    started = time.perf_counter()
    with (folder / "out.json").open("w") as out, (folder / "err.log").open("a") as err:
        child = subprocess.Popen(argv, env=env, cwd=folder, stdout=out, stderr=err)
        killed_at = None
        while child.poll() is None:
            if kill_at is not None:
                calls, messages = _stats(root)
                if messages >= kill_at:
                    child.send_signal(signal.SIGKILL)
                    child.wait()
                    killed_at = (calls, messages)
                    break
            time.sleep(0.02)
    seconds = time.perf_counter() - started
    if kill_at is not None:
        assert killed_at is not None, f"the run ended (exit {child.returncode}) before its kill"
        return Run(child.returncode, {}, seconds, killed_at)
    return Run(child.returncode, json.loads((folder / "out.json").read_text()), seconds)


def _check_reported(got: Run, planted: Planted) -> None:
    bad = {row["line"]: "; ".join(row["reasons"]) for row in got.shown["bad"]}
    assert set(bad) == set(planted.bad), sorted(set(bad) ^ set(planted.bad))
    for line, kind in planted.bad.items():
        assert REASON[kind] in bad[line], (line, kind, bad[line])
        if kind == "duplicate":
            assert bad[line].endswith(f"line {planted.duplicate_of[line]}"), bad[line]
    assert got.code == 2, got.code  # rows refused: the usage error, after the good rows went


def _flows(folder: Path) -> int:
    with sqlite3.connect(folder / "flows.sqlite") as db:
        found: int = db.execute("SELECT count(*) FROM flows").fetchone()[0]
    return found


def measure(rows: int = 2000, rate: int = 1500, seed: int = 25) -> Measured:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="manifest-kills-") as tmp:
        folder = Path(tmp)
        planted = plant(folder, rows, rng)
        got = Measured(rows, planted)
        good = len(planted.good)
        kills = rng.randint(good // 20, good // 2), rng.randint(good // 2 + 1, good * 19 // 20)
        with sandbox_process(activation_delay=0.0, rate_calls=rate) as root:
            for kill_at in kills:
                got.runs.append(send(root, rate, folder, kill_at))
            got.runs.append(send(root, rate, folder))
            finished = got.runs[-1]
            _check_reported(finished, planted)
            assert finished.shown["states"] == {"NOTIFIED": good}, finished.shown["states"]
            assert finished.shown["errors"] == [], finished.shown["errors"]
            listed, flows = _requests(root), _flows(folder)
            signer_of = {
                line: str(uuid.uuid5(SIGNER_NAMESPACE, fiscal))
                for line, fiscal in planted.good.items()
            }
            by_signer: dict[str, list[dict[str, Any]]] = {}
            for request in listed:
                by_signer.setdefault(request["signer_id"], []).append(request)
            for signer in signer_of.values():
                made = by_signer.get(signer, [])
                key = (len(made), sum(r["uploads"] for r in made), sum(r["messages"] for r in made))
                got.per_citizen[key] += 1
            got.bad_citizens_with_requests = len(set(by_signer) - set(signer_of.values()))
            again = send(root, rate, folder)
            got.runs.append(again)
            _check_reported(again, planted)
            relisted = _requests(root)
            got.new_requests = len(relisted) - len(listed)
            got.new_messages = sum(r["messages"] for r in relisted) - sum(
                r["messages"] for r in listed
            )
            got.new_flows = _flows(folder) - flows
        verify = subprocess.run(
            [sys.executable, "-m", "firmaio.adapters.cli", "audit", "verify", "--db",
             str(folder / "flows.sqlite")],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert verify.returncode == 0, verify.stdout + verify.stderr
        got.verified = verify.stdout.strip().splitlines()[-1] if verify.stdout.strip() else ""
    return got


def report(got: Measured) -> list[str]:
    """The lines printed (and checked: every figure the issue asks is asserted first)."""
    planted = got.planted
    good = len(planted.good)
    assert got.per_citizen == Counter({(1, 1, 1): good}), got.per_citizen
    assert got.bad_citizens_with_requests == 0
    assert (got.new_requests, got.new_messages, got.new_flows) == (0, 0, 0)
    kinds = Counter(planted.bad.values())
    runs = got.runs
    killed = [r.killed_at for r in runs if r.killed_at is not None]
    return [
        f"manifest: {got.rows} rows, {len(planted.bad)} bad planted "
        f"({', '.join(f'{kinds[k]} {k}' for k in KINDS)}); the run reported exactly those "
        f"{len(runs[-2].shown['bad'])} at their lines, each for its reason: "
        + ", ".join(f"{line} {kind}" for line, kind in sorted(planted.bad.items())),
        f"flows sent: {runs[-2].shown['states']} ({good} good rows), errors "
        f"{len(runs[-2].shown['errors'])}",
        f"per citizen (the sandbox's records): {good} citizens with exactly 1 request, 1 upload, "
        f"1 message ({dict(got.per_citizen)}); bad rows' citizens with a request: "
        f"{got.bad_citizens_with_requests}",
        f"run again: {got.new_requests} new requests, {got.new_messages} new messages, "
        f"{got.new_flows} new flows (exit {runs[-1].code}, the 20 reported again)",
        "killed (SIGKILL from outside) at: "
        + "; ".join(f"{calls} API calls, {messages} messages sent" for calls, messages in killed),
        "runs: "
        + ", ".join(f"{r.seconds:.0f} s" + (" (killed)" if r.killed_at else "") for r in runs),
        f"audit verify: {got.verified}",
    ]
