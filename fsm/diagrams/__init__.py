"""Diagrams of the table: the graph IR and the views built from it (an overview, one view per
trigger, the whole machine), the one DOT writer and its looks, the other renderers (Mermaid,
SCXML, the manual's tables of rows and of triggers) and the enumeration of every path."""

from .graph import View, path_on, row_of
from .looks import dot_files, to_dot
from .paths import paths
from .render import FILES, FORMATS, render, table_markdown, to_mermaid
from .triggers import triggers_markdown
from .views import overview

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
