"""Evidence an outside auditor verifies without our secrets: checkpoints signed with Ed25519
(:mod:`.keys`), a bundle per flow (:mod:`.bundle`), its check (:mod:`.verify`), and the
per-request evidence document as PDF/A (:mod:`.document`). Needs the ``[evidence]`` extra."""
