"""The manual's webhook pages say what the code does: the retry table is the default schedule."""

from __future__ import annotations

import re
from pathlib import Path

from firmaio.adapters.webhooks import default_retries

DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"


def spoken(seconds: float) -> str:
    minutes = round(seconds / 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{hours} h"] if hours else []
    return " ".join([*parts, f"{minutes} min"] if minutes else parts) or "0"


def test_the_retry_table_is_the_default_schedule() -> None:
    text = DOC.read_text()
    table = text.split("### Retries", 1)[1].split("After the last attempt", 1)[0]
    rows = re.findall(r"^\| (\d+) \| (.*?) \| (.*?) \|$", table, re.M)
    retries = default_retries()
    assert [int(n) for n, _, _ in rows] == list(range(1, len(retries) + 2))
    assert [wait for _, wait, _ in rows[1:]] == [spoken(s) for s in retries]
    totals = [sum(retries[:n]) for n in range(1, len(retries) + 1)]
    assert [after for _, _, after in rows[1:]] == [spoken(s) for s in totals]
    assert f"{len(retries) + 1} attempts over about {round(totals[-1] / 3600)} hours" in text
