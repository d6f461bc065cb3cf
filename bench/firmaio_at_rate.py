"""``firmaio`` whose key window is raised to ``FIRMAIO_BENCH_RATE_CALLS`` calls per 5 s, for the
benchmarks only (never shipped): the shipped command keeps the service's real limit, 150 calls
per 5 s (:class:`~firmaio.adapters.settings.Settings`' ``rate_calls``, which no option changes),
and a benchmark that sends thousands of flows against a sandbox at a raised limit raises the
client's to the same. Everything else is the shipped ``main``. Run as ``python -m
bench.firmaio_at_rate ARGS``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os

from firmaio.adapters import cli
from firmaio.adapters.cli import Wiring, main
from firmaio.adapters.settings import Settings

_shipped = cli.settings_from_args


def _raised(args: argparse.Namespace, wiring: Wiring) -> Settings:
    settings = _shipped(args, wiring)
    return dataclasses.replace(settings, rate_calls=int(os.environ["FIRMAIO_BENCH_RATE_CALLS"]))


if __name__ == "__main__":
    cli.settings_from_args = _raised  # main makes the command's settings with it, once
    raise SystemExit(main())
