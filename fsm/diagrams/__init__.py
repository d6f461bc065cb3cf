"""Diagrams of the table: the graph IR and its views (an overview, one view per trigger), the
renderers (Mermaid, DOT, SCXML, the manual's table) and the enumeration of every path."""

from .graph import View, overview, path_on, row_of
from .paths import paths
from .render import FILES, FORMATS, render, table_markdown, to_dot, to_mermaid
from .views import dot_files

__all__ = [
    "FILES",
    "FORMATS",
    "View",
    "dot_files",
    "overview",
    "path_on",
    "paths",
    "render",
    "row_of",
    "table_markdown",
    "to_dot",
    "to_mermaid",
]
