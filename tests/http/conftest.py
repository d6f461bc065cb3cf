"""Fixtures of the blob-store tests: a sandbox per test module whose clock the tests move."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from firmaio.adapters.sandbox import Sandbox
from tests.http.blob_helpers import Box, box_over, served


@pytest.fixture(scope="module")
def sandbox_of_module() -> Iterator[Sandbox]:
    with served() as sandbox:
        yield sandbox


@pytest.fixture
def box(sandbox_of_module: Sandbox) -> Iterator[Box]:
    with box_over(sandbox_of_module) as ready:
        yield ready
