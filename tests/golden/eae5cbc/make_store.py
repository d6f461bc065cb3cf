"""Write the store the code of commit eae5cbc (before table versions and before issue #26) left
with a flow through a row issue #26 removed: ``READY --check_activation [has_unexpected_status]-->
FAILED``. tests/store/test_old_store.py reads it with the current code.

It runs that commit's own ``firmaio`` (its installed venv, given as the first argument) as real
processes: ``firmaio sandbox`` on a free loopback port, then ``firmaio run`` against it. No code of
this checkout is imported: only the standard library. From the repository's root::

    /work/before/.venv/bin/python tests/golden/eae5cbc/make_store.py /work/before/.venv/bin/firmaio

Two flows: a request created through the API and never marked READY (it reads DRAFT, which the
old table failed as an unexpected status), and one of the sandbox's READY requests, driven to
NOTIFIED (records the later tables still have). It leaves ``flows.sqlite`` (schema version 2, no
``table_version`` anywhere) and ``flows.json`` (the flows' ids, states and record counts) in this
folder. The fiscal code is made up, of the sandbox's own pattern; the store never holds it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
KEY = "sandbox-key"
FISCAL_CODE = "RSSMRA80A01H501U"
DOCUMENT = {
    "title": "Modulo",
    "signature_fields": [
        {"attrs": {"unique_name": "Firma"}, "clause": {"title": "Firma", "type": "REQUIRED"}}
    ],
}


def call(url: str, body: dict[str, Any], key: str | None = KEY) -> dict[str, Any]:
    """POST ``body`` as JSON to ``url``; the answer's JSON."""
    headers = {"content-type": "application/json"}
    if key is not None:
        headers["Ocp-Apim-Subscription-Key"] = key
    request = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        loaded: dict[str, Any] = json.loads(answer.read())
        return loaded


def free_port() -> int:
    """A loopback port nobody listens on now (that commit's sandbox prints 0 for ``--port 0``)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def main(firmaio: str) -> None:
    port = free_port()
    sandbox = subprocess.Popen(
        [firmaio, "sandbox", "--port", str(port), "--activation-delay", "0", "--key", KEY],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        root = f"http://127.0.0.1:{port}"
        api = f"{root}/api/v1/sign"
        deadline = time.monotonic() + 30
        while True:  # wait until it answers
            try:
                urllib.request.urlopen(f"{root}/__sandbox/stats", timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        dossier = call(f"{api}/dossiers", {"title": "Modulo", "documents_metadata": [DOCUMENT]})
        signer = call(f"{api}/signers", {"fiscal_code": FISCAL_CODE})
        draft = call(
            f"{api}/signature-requests", {"dossier_id": dossier["id"], "signer_id": signer["id"]}
        )
        ready = call(f"{root}/__sandbox/ready-requests", {"count": 1, "key": KEY}, key=None)
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "flows.sqlite"
            env = {**os.environ, "FIRMAIO_API_KEY": KEY, "FIRMAIO_BASE_URL": api}
            flows = []
            for why, request_id in (
                ("a request read DRAFT while it activates: has_unexpected_status", draft["id"]),
                ("a READY request activated and notified", ready["ids"][0]),
            ):
                ran = subprocess.run(
                    [firmaio, "run", request_id, "--db", str(db), "--json"],
                    env=env, capture_output=True, text=True, timeout=60, check=True,
                )  # fmt: skip
                [flow] = json.loads(ran.stdout)["flows"]
                flows.append({"id": flow["id"], "why": why, **flow})
            wal = db.with_name(f"{db.name}-wal")
            assert not wal.exists(), "firmaio left a write-ahead log: the file alone is not all"
            (HERE / "flows.sqlite").write_bytes(db.read_bytes())
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)
    manifest = {
        "made_by": "tests/golden/eae5cbc/make_store.py, running the firmaio of commit eae5cbc",
        "commit": "eae5cbc",
        "schema_version": 2,
        "table_version": None,
        "flows": flows,
    }
    (HERE / "flows.json").write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/work/before/.venv/bin/firmaio")
