"""The pure core stays pure: import boundaries checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

FSM = Path(__file__).resolve().parents[2] / "fsm"
FORBIDDEN = ("httpx", "adapters", "sqlite3", "psycopg", "starlette", "uvicorn", "redis", "aiohttp")


def imported_modules(path: Path, source: str | None = None) -> set[str]:
    """Every module ``path`` imports, named from the top: ``firmaio.`` is dropped, and a relative
    import that leaves fsm/ (``from ..adapters import x`` in fsm/, ``from ...adapters import x``
    in one of its rooms) is named as the sibling package of firmaio it reaches."""
    text = path.read_text() if source is None else source
    tree = ast.parse(text, filename=str(path))
    inside = path.parent.relative_to(FSM).parts if path.is_relative_to(FSM) else ()
    depth = len(inside) + 1  # fsm/ itself, then its rooms
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                names.add(node.module)
            elif node.level > depth:  # out of fsm/: a sibling package of firmaio
                names.update([node.module] if node.module else [alias.name for alias in node.names])
    return {name.removeprefix("firmaio.") for name in names}


def _py_files() -> list[Path]:
    return sorted(FSM.rglob("*.py"))


@pytest.mark.parametrize("path", _py_files(), ids=lambda p: str(p.relative_to(FSM)))
def test_fsm_module_imports_no_io_adapter(path: Path) -> None:
    """No module of fsm/ imports httpx, a database driver, a web framework or adapters/."""
    bad = {m for m in imported_modules(path) if m.split(".")[0] in FORBIDDEN}
    assert not bad, f"{path.name} imports {sorted(bad)}"


def test_only_the_engine_imports_transitions() -> None:
    """transitions stays behind one seam: fsm/driving/engine.py."""
    users = {
        p.name
        for p in _py_files()
        if any(m.split(".")[0] == "transitions" for m in imported_modules(p))
    }
    assert users == {"engine.py"}


def test_the_boundary_check_sees_imports(tmp_path: Path) -> None:
    """The checker itself finds a forbidden import in every spelling (so the tests above can
    fail)."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import httpx\nfrom adapters.cli import main\nfrom firmaio.adapters import client\n"
        "from ..adapters.store import open_store\nfrom .. import adapters\n"
    )
    found = imported_modules(bad)
    assert {"httpx", "adapters.cli", "adapters", "adapters.store"} <= found
    room = FSM / "machine" / "bad.py"  # never written: a room is one level deeper than fsm/
    in_room = imported_modules(room, "from ..trail import record\nfrom ...adapters import cli\n")
    assert in_room == {"adapters"}


SHIPPED = [p for top in ("fsm", "adapters") for p in (FSM.parent / top).rglob("*.py")]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(FSM.parent)))
def test_the_shipped_code_has_no_crash_switch(path: Path) -> None:
    """Killing the process at a step boundary is a test's business (tests/crashing_cli.py)."""
    text = path.read_text()
    assert not [word for word in ("SIGKILL", "FIRMAIO_CRASH_AT", "os.kill") if word in text]
