"""The package as the index shows it: its metadata, its page, its version in one place."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

import firmaio.fsm
from tests import pypi_readme

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_the_index_page_is_the_readme_rendered_for_the_index() -> None:
    """README.pypi.md is README.md with the Mermaid block as an image and absolute links: on a
    mismatch, run `make readme` and commit."""
    page = (ROOT / "README.pypi.md").read_text(encoding="utf-8")
    assert page == pypi_readme.expected(), "README.pypi.md drifted: run `make readme`"
    assert "```mermaid" not in page
    assert "](docs/" not in page
    assert "(https://raw.githubusercontent.com/" in page


def test_links_become_absolute_and_code_and_anchors_stay() -> None:
    readme = (
        "See [the machine](docs/machine.md#rows) and [below](#install), ![d](./diagrams/a.svg).\n"
        "```sh\n[not a link](docs/x.md)\n```\n"
        "<!-- BEGIN generated:mermaid -->\n```mermaid\nA-->B\n```\n<!-- END generated:mermaid -->\n"
    )
    page = pypi_readme.render(readme, "https://github.com/o/r")
    assert "[the machine](https://github.com/o/r/blob/main/docs/machine.md#rows)" in page
    assert "[below](#install)" in page
    assert "![d](https://raw.githubusercontent.com/o/r/main/diagrams/a.svg)" in page
    assert "[not a link](docs/x.md)" in page
    assert "A-->B" not in page
    assert "![The transition table, drawn](https://raw.githubusercontent.com/o/r/main/" in page


def test_the_metadata_says_what_a_user_looks_for() -> None:
    classifiers = set(PROJECT["classifiers"])
    for python in ("3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {python}" in classifiers
    assert {"Natural Language :: Italian", "Intended Audience :: Developers"} <= classifiers
    assert any(c.startswith("Development Status ::") for c in classifiers)
    assert PROJECT["license"] == "MIT"
    assert "MIT License" in (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert {"Source", "Documentation", "Issues", "Changelog"} <= set(PROJECT["urls"])
    assert PROJECT["keywords"]
    assert PROJECT["authors"]


def test_the_development_tools_are_a_group_not_a_published_extra() -> None:
    extras = PROJECT["optional-dependencies"]
    assert "dev" not in extras
    groups = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    tools = " ".join(groups["dependency-groups"]["dev"])
    for tool in ("pytest", "mypy", "ruff", "playwright", "twine"):
        assert tool in tools, tool


def test_the_version_is_written_once_and_read_from_the_metadata() -> None:
    assert firmaio.fsm.__version__ == PROJECT["version"] == metadata.version("firmaio-fsm")
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## [{PROJECT['version']}]" in changelog
    assert "## [Unreleased]" in changelog
