"""What ``firmaio serve`` did: its report, and its one line per pass."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class ServeReport:
    """What a service did until it stopped."""

    passes: int = 0
    driven: int = 0
    later_attempts: int = 0
    checks: int = 0
    quiet: int = 0
    """Of the checks, those that found nothing new: no record written."""
    errors: int = 0
    collected: int = 0
    """SIGNED flows whose documents were fetched."""


def said(log: Any, tenant: str, now: ServeReport, before: ServeReport) -> None:
    """One line per pass, at info: what it did (``now`` less ``before``)."""
    log.info(
        "firmaio.serve.pass", tenant=tenant, passes=now.passes,
        driven=now.driven - before.driven, later_attempts=now.later_attempts -
        before.later_attempts, checks=now.checks - before.checks,
        errors=now.errors - before.errors, collected=now.collected - before.collected,
    )  # fmt: skip
