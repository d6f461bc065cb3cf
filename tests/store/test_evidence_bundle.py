"""Evidence an outside auditor verifies with the published public key alone: a flow's bundle
checks out by ``firmaio evidence verify`` and by the standalone script as docs/evidence.md prints
it; a record changed and re-chained (in the store, before the bundle is written), a record
dropped, a checkpoint re-signed with another Ed25519 key, and a wrong public key are each
caught by both."""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from firmaio.adapters.cli import main
from firmaio.fsm.trail.chain import chain_hash, genesis
from tests.store.test_checkpoint_tamper import NOTIFIED, REFUSED, _drive, rewrite_and_rechain

pytest.importorskip("cryptography", reason="the evidence bundles need the [evidence] extra")

ROOT = Path(__file__).resolve().parents[2]


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def printed_script(tmp: Path) -> Path:
    """The verifier exactly as docs/evidence.md prints it."""
    page = (ROOT / "docs" / "evidence.md").read_text()
    found = re.search(r"<!-- verifica.py -->\n```python\n(.*?)```", page, re.S)
    assert found is not None, "docs/evidence.md prints no verifica.py block"
    script = tmp / "verifica.py"
    script.write_text(found.group(1))
    return script


class Auditor:
    """The published public key, the printed script, and the two ways to verify."""

    def __init__(self, work: Path, public: Path) -> None:
        self.public = public
        self.script = printed_script(work)

    def command(self, bundle: Path, public: Path | None = None) -> tuple[int, str]:
        key = str(public or self.public)
        return _run("evidence", "verify", str(bundle), "--public-key", key)

    def script_says(self, bundle: Path, public: Path | None = None) -> tuple[int, str]:
        done = subprocess.run(
            [sys.executable, str(self.script), str(bundle), str(public or self.public)],
            capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip
        return done.returncode, done.stdout + done.stderr


def _keys(work: Path, name: str) -> tuple[Path, Path]:
    private, public = work / f"{name}.pem", work / f"{name}-public.pem"
    code, shown = _run("evidence", "keygen", str(private), str(public))
    assert code == 0, shown
    return private, public


def _bundles(db: str, work: Path, private: Path, public: Path) -> Path:
    checkpoint = work / "checkpoint.json"
    code, shown = _run("audit", "verify", "--db", db, "--signing-key", str(private),
                       "--write-checkpoint", str(checkpoint))  # fmt: skip
    assert code == 0, shown
    out = work / "evidence"
    code, shown = _run("evidence", NOTIFIED, REFUSED, "--db", db, "--checkpoint",
                       str(checkpoint), "--public-key", str(public), "--out", str(out),
                       "--no-pdf")  # fmt: skip
    assert code == 0, shown
    return out


@pytest.fixture
def made(tmp_path: Path) -> tuple[str, Path, Auditor, Path]:
    db = str(tmp_path / "flows.sqlite")
    _drive(db)
    private, public = _keys(tmp_path, "issuer")
    return db, _bundles(db, tmp_path, private, public), Auditor(tmp_path, public), private


def test_a_bundle_holds_by_the_command_and_by_the_printed_script(made: tuple) -> None:
    _db, out, auditor, _private = made
    bundle = out / NOTIFIED
    assert sorted(p.name for p in bundle.iterdir()) == [
        "LEGGIMI.txt", "checkpoint.json", "documents.json", "trail.jsonl",
    ]  # fmt: skip
    code, shown = auditor.command(bundle)
    assert code == 0, shown
    assert f"verified {NOTIFIED}: " in shown
    code, said = auditor.script_says(bundle)
    assert code == 0, said
    assert f"VERIFIED {NOTIFIED}: " in said
    records = len((bundle / "trail.jsonl").read_text().splitlines())
    assert f"{records} records, the first {records} signed" in said


def test_a_record_changed_in_the_store_and_rechained_is_caught(made: tuple, tmp_path: Path) -> None:
    """An insider rewrites a record and recomputes the whole chain and head in the database,
    then exports the evidence: the chain checks out, the signed head does not (the export
    itself says so, exiting 20, as the auditor's two checks do)."""
    db, _out, auditor, private = made
    rewrite_and_rechain(db, NOTIFIED)
    checkpoint = tmp_path / "checkpoint.json"
    out = tmp_path / "after"
    public = str(auditor.public)
    code, shown = _run("evidence", NOTIFIED, "--db", db, "--checkpoint", str(checkpoint),
                       "--public-key", public, "--out", str(out), "--no-pdf")  # fmt: skip
    assert code == 20, shown  # written for the auditor to see, and said at once
    assert f"NOT VERIFIED {NOTIFIED}: " in shown
    assert "01HZZZZZZZZZZZZZZZZZZZZZZZ" in (out / NOTIFIED / "trail.jsonl").read_text()
    code, shown = auditor.command(out / NOTIFIED)
    assert code == 20
    assert "rewritten and re-chained" in shown
    code, said = auditor.script_says(out / NOTIFIED)
    assert code == 1
    assert "NOT VERIFIED: the trail is not the one the checkpoint signed" in said
    assert private.exists()


def _rechain(bundle: Path, lines: list[dict]) -> None:
    prev = genesis(json.loads(lines[0]["record"])["flow_id"])
    for link in lines:
        link["prev_hash"], link["hash"] = prev, chain_hash(prev, link["record"])
        prev = link["hash"]
    text = "".join(json.dumps(link, sort_keys=True) + "\n" for link in lines)
    (bundle / "trail.jsonl").write_text(text)


def _copy(out: Path, tmp_path: Path, name: str, flow_id: str = NOTIFIED) -> Path:
    return Path(shutil.copytree(out / flow_id, tmp_path / name))


def test_a_dropped_record_is_caught(made: tuple, tmp_path: Path) -> None:
    _db, out, auditor, _private = made
    last = _copy(out, tmp_path, "last")
    lines = (last / "trail.jsonl").read_text().splitlines(keepends=True)
    (last / "trail.jsonl").write_text("".join(lines[:-1]))
    middle = _copy(out, tmp_path, "middle", REFUSED)
    three = (middle / "trail.jsonl").read_text().splitlines(keepends=True)
    assert len(three) == 3
    (middle / "trail.jsonl").write_text("".join(three[:1] + three[2:]))
    assert auditor.command(last)[0] == 20
    assert (
        f"signed {len(lines)} records; the bundle has {len(lines) - 1}" in auditor.command(last)[1]
    )
    assert "NOT VERIFIED: the checkpoint signed" in auditor.script_says(last)[1]
    code, shown = auditor.command(middle)
    assert code == 20
    assert "record #2: not the flow's record #2" in shown
    assert "NOT VERIFIED: record #2 moved" in auditor.script_says(middle)[1]


def test_a_checkpoint_resigned_with_another_key_is_caught(made: tuple, tmp_path: Path) -> None:
    """A forger edits a record, re-chains the bundle's trail, writes the new head into the
    checkpoint and signs it with their own Ed25519 key (naming the published key's id, or
    theirs): the published public key refuses both."""
    from firmaio.adapters.evidence.keys import KEY_ID_FIELD, read_private_key
    from firmaio.fsm.trail.checkpoint import signed_message

    _db, out, auditor, _private = made
    forger, _ = _keys(tmp_path, "forger")
    for claimed in ("published", "own"):
        bundle = _copy(out, tmp_path, claimed)
        lines = [json.loads(line) for line in (bundle / "trail.jsonl").read_text().splitlines()]
        record = json.loads(lines[-1]["record"])
        record["io_message_id"] = "01HZZZZZZZZZZZZZZZZZZZZZZZ"
        lines[-1]["record"] = json.dumps(record, sort_keys=True, separators=(",", ":"))
        _rechain(bundle, lines)
        document = json.loads((bundle / "checkpoint.json").read_text())
        document["heads"][NOTIFIED] = [len(lines), lines[-1]["hash"]]
        signer = read_private_key(str(forger))
        if claimed == "own":
            document[KEY_ID_FIELD] = signer.key_id
        heads = sorted(document["heads"].items())
        document["digest"] = hashlib.sha256(
            "".join(f"{f}:{s}:{h}\n" for f, (s, h) in heads).encode()
        ).hexdigest()
        document["ed25519"] = signer.sign(signed_message(document))
        (bundle / "checkpoint.json").write_text(json.dumps(document, indent=2))
        code, shown = auditor.command(bundle)
        assert code == 20, shown
        why = "signed with another key" if claimed == "own" else "does not hold under the public"
        assert why in shown
        code, said = auditor.script_says(bundle)
        assert code == 1
        assert "NOT VERIFIED: the checkpoint was altered, or signed with another key" in said
        if claimed == "own":  # a well-made forgery: only the key gives it away
            assert auditor.command(bundle, tmp_path / "forger-public.pem")[0] == 0


def test_a_wrong_public_key_verifies_nothing(made: tuple, tmp_path: Path) -> None:
    _db, out, auditor, _private = made
    _, other = _keys(tmp_path, "other")
    code, shown = auditor.command(out / REFUSED, other)
    assert code == 20
    assert "signed with another key" in shown
    assert auditor.script_says(out / REFUSED, other)[0] == 1


def test_the_evidence_command_refuses_a_checkpoint_that_does_not_hold(
    made: tuple, tmp_path: Path
) -> None:
    db, _out, _auditor, _private = made
    _, other = _keys(tmp_path, "other")
    out = tmp_path / "refused"
    code, _shown = _run("evidence", NOTIFIED, "--db", db, "--checkpoint",
                        str(tmp_path / "checkpoint.json"), "--public-key", str(other),
                        "--out", str(out), "--no-pdf")  # fmt: skip
    assert code == 2
    assert not out.exists()
