"""The house stays legible: docs/development.md's Layout lists every module of fsm/ and
adapters/, one line each, and no module grows past 350 lines."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
PAGE = ROOT / "docs" / "development.md"
PACKAGES = ("fsm", "adapters")
MODULE_LIMIT = 350


def listed(text: str) -> list[str]:
    """The paths the Layout's block names, built from each line's indentation (two spaces a
    level): ``fsm/``, ``fsm/errors.py``, ``fsm/machine/``..."""
    block = text.split("## Layout", 1)[1].split("```", 2)[1]
    paths: list[str] = []
    stack: list[str] = []
    for line in block.splitlines()[1:]:
        if not line.strip():
            continue
        depth = (len(line) - len(line.lstrip(" "))) // 2
        name = line.split()[0]
        del stack[depth:]
        paths.append("".join(stack) + name)
        if name.endswith("/"):
            stack.append(name)
    return paths


def modules() -> dict[str, Path]:
    """Each module of fsm/ and adapters/ as the Layout names it: a ``.py`` by its path, a
    package by its folder (its ``__init__.py``)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            name = f"{relative.parent}/" if path.name == "__init__.py" else str(relative)
            found[name] = path
    return found


def _summary(path: Path) -> str:
    """The first sentence of a module's docstring: a draft of its line."""
    doc = ast.get_docstring(ast.parse(path.read_text())) or "(no docstring: say what it does)"
    return " ".join(doc.split("\n\n")[0].split(". ")[0].split()).rstrip(".")


def test_the_layout_reader_follows_the_indentation() -> None:
    text = "## Layout\n\n```\nfsm/   core\n  a.py  x\n  room/  y\n    b.py  z\n  c.py\ndocs/\n```\n"
    assert listed(text) == ["fsm/", "fsm/a.py", "fsm/room/", "fsm/room/b.py", "fsm/c.py", "docs/"]


def test_the_layout_lists_every_module_once() -> None:
    """A module missing from the Layout fails, with the lines to add; so does a line naming a
    module that does not exist, or one named twice."""
    paths = listed(PAGE.read_text())
    real = modules()
    problems = []
    missing = [name for name in real if name not in paths]
    if missing:
        problems.append(
            f"it lacks {len(missing)} module(s); add one line each, under its folder:\n"
            + "\n".join(f"  {name:<34} {_summary(real[name])}" for name in missing)
        )
    ours = tuple(f"{package}/" for package in PACKAGES)
    gone = [p for p in paths if (p.startswith(ours) and p not in real) or not (ROOT / p).exists()]
    if gone:
        problems.append(f"it names what does not exist: {', '.join(sorted(set(gone)))}")
    twice = sorted({p for p in paths if paths.count(p) > 1})
    if twice:
        problems.append(f"it names more than once: {', '.join(twice)}")
    assert not problems, "docs/development.md's Layout: " + "\n".join(problems)


def test_no_module_is_over_350_lines() -> None:
    """Each module does one job; past 350 lines it is doing two: split it."""
    long = {
        str(path.relative_to(ROOT)): lines
        for path in modules().values()
        if (lines := len(path.read_text().splitlines())) > MODULE_LIMIT
    }
    assert not long, f"modules over {MODULE_LIMIT} lines: {long}"
