"""Diagrams of the table: the graph IR and its views (an overview, one view per trigger), the
renderers (Mermaid, DOT, SCXML, the manual's tables of rows and of triggers) and the
enumeration of every path."""

from .graph import View, overview, path_on, row_of
from .paths import paths
from .render import FILES, FORMATS, render, table_markdown, to_dot, to_mermaid
from .triggers import triggers_markdown
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
    "triggers_markdown",
]
