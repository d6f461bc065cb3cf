"""README.pypi.md, the package index's page: README.md as the index can render it.

The index renders neither Mermaid nor links relative to a repository: the Mermaid block becomes
the overview diagram as an image, and every relative link an absolute one into the repository
named by ``[project.urls] Source`` (images on its raw host). ``make readme`` (and ``make
diagrams``) write it; ``tests/unit/test_packaging.py`` fails, saying so, when it drifts.

    python -m tests.pypi_readme            # writes README.pypi.md beside README.md
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MERMAID = re.compile(
    r"<!-- BEGIN generated:mermaid -->\n.*?<!-- END generated:mermaid -->", re.DOTALL
)
LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s]+)\)")
DIAGRAM = "diagrams/overview.svg"


def source_url(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """The repository's URL, as the package's metadata names it (``[project.urls] Source``)."""
    urls = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["urls"]
    return str(urls["Source"]).rstrip("/")


def render(readme: str, source: str, branch: str = "main") -> str:
    """``readme`` with the Mermaid block as an image and every relative link absolute."""
    raw = source.replace("https://github.com/", "https://raw.githubusercontent.com/")
    image = f"![The transition table, drawn]({raw}/{branch}/{DIAGRAM})"
    text = MERMAID.sub(lambda _m: image, readme)

    def absolute(match: re.Match[str]) -> str:
        bang, label, target = match.groups()
        if re.match(r"[a-z][a-z0-9+.-]*:|#", target):  # a URL, a mailto: or an anchor
            return match.group(0)
        base = f"{raw}/{branch}" if bang else f"{source}/blob/{branch}"
        return f"{bang}[{label}]({base}/{target.removeprefix('./')})"

    out: list[str] = []
    fenced = False
    for line in text.splitlines(keepends=True):
        if line.startswith("```"):
            fenced = not fenced
        out.append(line if fenced else LINK.sub(absolute, line))
    header = "<!-- generated from README.md by `make readme`: edit README.md -->\n"
    return header + "".join(out)


def expected() -> str:
    return render((ROOT / "README.md").read_text(encoding="utf-8"), source_url())


def main() -> int:
    (ROOT / "README.pypi.md").write_text(expected(), encoding="utf-8")
    print("wrote README.pypi.md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
