"""Text tables for terminals and CI logs, laid out by rich: aligned columns, nothing cut or wrapped, so a line
stays greppable whatever the terminal's width."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence


def render(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """`headers` then `rows`, column by column, without trailing spaces."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for header in headers:
        table.add_column(header, no_wrap=True)
    for row in rows:
        table.add_row(*(Text(str(cell)) for cell in row))  # Text: a message's "[unchecked]" is not markup
    out = io.StringIO()
    Console(file=out, width=100_000, color_system=None, highlight=False, emoji=False).print(table)
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines())
