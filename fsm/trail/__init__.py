"""The trail: audit records, the hash chain that links them, and checkpoints of the chains' heads
signed with a key held outside the store."""

from .chain import BrokenChain, ChainLink, canonical, chain_hash, genesis, verify_chain
from .checkpoint import Checkpoint, against_checkpoint, check_key, heads_digest, read_checkpoint
from .record import AuditRecord, Outcome, fold, from_event_dict, unknown_status

__all__ = [
    "AuditRecord",
    "BrokenChain",
    "ChainLink",
    "Checkpoint",
    "Outcome",
    "against_checkpoint",
    "canonical",
    "chain_hash",
    "check_key",
    "fold",
    "from_event_dict",
    "genesis",
    "heads_digest",
    "read_checkpoint",
    "unknown_status",
    "verify_chain",
]
