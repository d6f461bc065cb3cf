"""The error tree drawn in fsm/errors.py's docstring and in docs/machine.md is the real one:
every FsmError subclass of firmaio.fsm and firmaio.adapters, under its own parent."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

from firmaio import adapters, fsm
from firmaio.fsm import errors
from firmaio.fsm.errors import FsmError

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
_BRANCH = re.compile(r"^(?P<indent>(?:[│ ]   )*)(?:[├└]── )?(?P<name>[A-Za-z]\w*)(?:\s|$)")


def drawn_tree(text: str) -> dict[str, str | None]:
    """Each class of the first tree drawn in ``text`` (the block that starts at ``FsmError``),
    with its parent's name (``None`` for the root)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "FsmError")
    margin = lines[start].index("FsmError")
    parents: dict[str, str | None] = {}
    stack: list[str] = []
    for line in lines[start:]:
        match = _BRANCH.match(line[margin:])
        if not line.strip() or match is None:
            break
        depth = len(match["indent"]) // 4 + (1 if line[margin:].lstrip("│ ")[:1] in "├└" else 0)
        name = match["name"]
        assert name not in parents, f"{name} is drawn twice"
        del stack[depth:]
        parents[name] = stack[-1] if stack else None
        stack.append(name)
    return parents


def library_errors() -> dict[str, str | None]:
    """Every FsmError subclass that firmaio.fsm and firmaio.adapters define (each module
    imported), with its parent in the tree."""
    for package in (fsm, adapters):
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if not module.name.endswith(".__main__"):  # running the command is not importing
                importlib.import_module(module.name)
    found: dict[str, str | None] = {"FsmError": None}
    pending = [FsmError]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            pending.append(sub)
            if sub.__module__.startswith(("firmaio.fsm.", "firmaio.adapters.")):
                assert sub.__name__ not in found, f"two errors are named {sub.__name__}"
                found[sub.__name__] = cls.__name__
    return found


TREES = {
    "fsm/errors.py": errors.__doc__ or "",
    "docs/machine.md": (ROOT / "docs" / "machine.md").read_text().split("## Errors", 1)[1],
}


def test_the_tree_reader_reads_nesting() -> None:
    """The reader itself: a third level under a second branch is placed under its parent."""
    text = "FsmError\n├── A  x\n│   └── B  y\n└── C  z\n    ├── D\n    │   └── E\n    └── F\n"
    assert drawn_tree(text) == {
        "FsmError": None,
        "A": "FsmError",
        "B": "A",
        "C": "FsmError",
        "D": "C",
        "E": "D",
        "F": "C",
    }


def test_the_library_s_errors_are_found() -> None:
    """The hierarchy is read from the classes, the adapters' included."""
    real = library_errors()
    assert real["InvalidRequestId"] == "InvalidInput"
    assert real["DownloadRefused"] == "ApiProtocolError"
    assert len(real) > 15


@pytest.mark.parametrize("where", sorted(TREES))
def test_the_drawn_error_tree_is_the_class_hierarchy(where: str) -> None:
    """Every error class is drawn, once, under its parent; nothing else is drawn."""
    drawn, real = drawn_tree(TREES[where]), library_errors()
    missing = sorted(set(real) - set(drawn))
    assert not missing, f"{where}'s error tree lacks {', '.join(missing)}: draw them"
    extra = sorted(set(drawn) - set(real))
    assert not extra, f"{where}'s error tree draws {', '.join(extra)}, which no module defines"
    misplaced = [f"{n} (under {drawn[n]}, is under {real[n]})" for n in real if drawn[n] != real[n]]
    assert not misplaced, f"{where}'s error tree misplaces {'; '.join(misplaced)}"
