"""Evidence an outside auditor verifies without our secrets: checkpoints signed with Ed25519
(:mod:`.keys`), a bundle per flow (:mod:`.bundle`), and its check (:mod:`.verify`); the
per-request evidence document is the report's (:mod:`firmaio.adapters.report.evidence`).
Needs the ``[evidence]`` extra."""
