"""An answer read whole is let go when its call ends, not kept until the garbage collector runs.

httpx binds each response's stream to the response (a reference cycle), so every answer, its
body with it, outlived its call until the cyclic collector's next full pass: ``firmaio serve``,
whose watch pages through a dossier's listing every pass (30 kB a page), held the pages of its
passes meanwhile and its memory rose with them (bench/README.md, target 10). Here a listing of
three pages is read from the loopback sandbox with the collector off: no answer is still alive
once it is read.
"""

from __future__ import annotations

import asyncio
import gc

import httpx

from firmaio.adapters.client import IssuerClient
from firmaio.adapters.sandbox import DEMO_DOSSIER, Sandbox
from tests.sandbox_helpers import fiscal_code


def _answers_alive() -> int:
    return sum(1 for thing in gc.get_objects() if isinstance(thing, httpx.Response))


def test_a_listing_read_keeps_none_of_its_answers(sandbox: Sandbox) -> None:
    key = sandbox.issuer.keys["sandbox-key"]
    dossier = sandbox.issuer.create_dossier(key, DEMO_DOSSIER)["id"]
    made = set()
    for _ in range(250):
        code = fiscal_code()
        sandbox.issuer.add_citizen(code)
        made.add(sandbox.issuer.create_ready_request("sandbox-key", code, dossier))

    async def listed() -> tuple[list[str], int, int]:
        async with IssuerClient("sandbox-key", base_url=sandbox.url) as client:
            before = _answers_alive()
            ids = [
                item["id"]
                async for page in client.list_dossier_pages(dossier, limit=100)
                for item in page
            ]
            return ids, before, _answers_alive()

    gc.collect()
    gc.disable()
    try:
        ids, before, after = asyncio.run(listed())
    finally:
        gc.enable()
    assert set(ids) == made, "the listing's three pages were read whole"
    assert after == before, f"{after - before} answers still alive after their calls"
