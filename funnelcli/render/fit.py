"""Tables that never cut a figure: whole when they fit, stacked when they do not.

rich squeezes a table wider than its console by truncating cells (``$12,167`` for
$12,167.89, sometimes without an ellipsis). A ``Fitted`` table is drawn as it is when its
natural width fits; otherwise its columns are split over several tables, each repeating the
label columns, so every cell keeps its whole text at any terminal width.
"""

from __future__ import annotations

from collections.abc import Iterator

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

UNBOUNDED = 100_000


def natural_width(console: Console, options: ConsoleOptions, renderable: RenderableType) -> int:
    """The width ``renderable`` takes when nothing limits it."""
    return Measurement.get(console, options.update_width(UNBOUNDED), renderable).maximum


class Fitted:
    """``table`` whole, or stacked in column groups that each fit (see the module doc)."""

    def __init__(self, table: Table, keep: int = 1) -> None:
        self.table = table
        self.keep = keep

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.table)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        every = list(range(len(self.table.columns)))
        if _needed(console, options, self.table, every) <= options.max_width:
            yield self.table
            return
        for i, part in enumerate(self._parts(console, options)):
            if i:
                yield Text("")
            yield part

    def _parts(self, console: Console, options: ConsoleOptions) -> Iterator[Table]:
        keep = list(range(min(self.keep, len(self.table.columns))))
        chunk: list[int] = []
        for index in range(len(keep), len(self.table.columns)):
            wider = [*keep, *chunk, index]
            if chunk and _needed(console, options, self.table, wider) > options.max_width:
                yield _sub(self.table, [*keep, *chunk])
                chunk = []
            chunk.append(index)
        if chunk or not keep:
            yield _sub(self.table, [*keep, *chunk])


def _needed(console: Console, options: ConsoleOptions, table: Table, columns: list[int]) -> int:
    """The least width at which these columns show every cell whole: wrapping columns
    (prose such as a rule's text) may fold down to their ``min_width``; the others, the
    figures, need their whole width."""
    return natural_width(console, options, _sub(table, columns, squeeze=True))


def _sub(table: Table, columns: list[int], *, squeeze: bool = False) -> Table:
    """A table of the given columns of ``table``, same look, same rows; ``squeeze``: its
    wrapping columns at their least width."""
    part = Table(
        box=table.box,
        pad_edge=table.pad_edge,
        show_edge=table.show_edge,
        show_header=table.show_header,
        title=table.title,
    )
    cells = []
    for i in columns:
        col = table.columns[i]
        part.add_column(
            col.header,
            justify=col.justify,
            no_wrap=col.no_wrap,
            min_width=col.min_width,
            max_width=col.min_width if squeeze and not col.no_wrap else col.max_width,
            overflow=col.overflow,
            style=col.style,
        )
        cells.append(list(col.cells))
    for r, row in enumerate(table.rows):
        part.add_row(*[c[r] for c in cells], style=row.style, end_section=row.end_section)
    return part
