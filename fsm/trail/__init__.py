"""The trail: audit records, the hash chain that links them, checkpoints of the chains' heads
signed with a key held outside the store, and the reading of trails written by older tables."""

from .chain import BrokenChain, ChainLink, canonical, chain_hash, genesis, verify_chain
from .checkpoint import (
    Checkpoint,
    HmacKey,
    Signer,
    Verifier,
    against_checkpoint,
    check_key,
    heads_digest,
    read_checkpoint,
)
from .events import StoredEvent, cloud_event, event_type
from .reading import migration_note, older_versions, read_fields, read_state
from .record import AuditRecord, Outcome, fold, from_event_dict, unknown_status

__all__ = [
    "AuditRecord",
    "BrokenChain",
    "ChainLink",
    "Checkpoint",
    "HmacKey",
    "Outcome",
    "Signer",
    "StoredEvent",
    "Verifier",
    "against_checkpoint",
    "canonical",
    "chain_hash",
    "check_key",
    "cloud_event",
    "event_type",
    "fold",
    "from_event_dict",
    "genesis",
    "heads_digest",
    "migration_note",
    "older_versions",
    "read_checkpoint",
    "read_fields",
    "read_state",
    "unknown_status",
    "verify_chain",
]
