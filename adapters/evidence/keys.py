"""Ed25519 keys for checkpoints: a private key that signs, kept where the database's writers
cannot read it, and its public key, published beside the checkpoints so that anyone can check
them without holding anything that could forge one.

Keys are PEM files (PKCS#8 for the private key, SubjectPublicKeyInfo for the public one), the
files ``openssl genpkey -algorithm ed25519`` writes, or :func:`write_key_pair`. A key's id is the
SHA-256 of its 32 raw public bytes: the checkpoint names it, so a checkpoint signed with another
key is told apart from one altered. Needs the ``[evidence]`` extra (``cryptography``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from firmaio.fsm.errors import InvalidInput

from ..key_files import read_key_file

FIELD = "ed25519"
"""The checkpoint's field holding an Ed25519 signature (hex)."""
KEY_ID_FIELD = "ed25519_key_id"
"""The signed field naming the key: the SHA-256 of its raw public bytes (hex)."""


def key_id(public: Ed25519PublicKey) -> str:
    """The SHA-256 of the key's 32 raw bytes, hex: how checkpoints and bundles name it."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


class Ed25519Signer:
    """Signs checkpoints with an Ed25519 private key (:class:`firmaio.fsm.trail.Signer`)."""

    field = FIELD

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.key_id = key_id(private.public_key())

    def public_fields(self) -> dict[str, str]:
        return {KEY_ID_FIELD: self.key_id}

    def sign(self, message: bytes) -> str:
        return self._private.sign(message).hex()


class Ed25519Verifier:
    """Checks checkpoints with an Ed25519 public key (:class:`firmaio.fsm.trail.Verifier`)."""

    field = FIELD

    def __init__(self, public: Ed25519PublicKey) -> None:
        self._public = public
        self.key_id = key_id(public)

    def check(self, document: Mapping[str, Any], message: bytes, signature: str) -> str | None:
        named = str(document.get(KEY_ID_FIELD, ""))
        if named != self.key_id:
            return (
                f"it was signed with another key (key id {named[:16]}...; the public key given "
                f"is {self.key_id[:16]}...)"
            )
        try:
            self._public.verify(bytes.fromhex(signature), message)
        except (InvalidSignature, ValueError):
            return (
                "its Ed25519 signature does not hold under the public key given: the checkpoint "
                "was altered after it was signed, or signed with another key"
            )
        return None


def read_private_key(path: str) -> Ed25519Signer:
    """The Ed25519 private key in the PEM file ``path`` (refused if others may read it)."""
    data = read_key_file(path, "the signing key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise InvalidInput(
            f"the signing key {path!r} is not an unencrypted PEM private key "
            "(openssl genpkey -algorithm ed25519, or firmaio evidence keygen)"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInput(f"the signing key {path!r} is not an Ed25519 key")
    return Ed25519Signer(key)


def read_public_key(path: str) -> Ed25519Verifier:
    """The Ed25519 public key in the PEM file ``path``."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise InvalidInput(f"cannot read the public key {path!r}: {error.strerror}") from None
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise InvalidInput(f"{path!r} is not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInput(f"the public key {path!r} is not an Ed25519 key")
    return Ed25519Verifier(key)


def write_key_pair(private_path: str, public_path: str) -> str:
    """A new Ed25519 key pair: the private key written readable by its owner only, the public
    key beside it for publishing. Neither file is overwritten. Returns the key's id."""
    for path in (private_path, public_path):
        if Path(path).exists():
            raise InvalidInput(f"{path!r} exists; no key was written (keys are never replaced)")
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)
    public = private.public_key()
    Path(public_path).write_bytes(
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return key_id(public)
