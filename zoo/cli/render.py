"""How the CLI shows results: plain lines, JSON on stdout, and borderless tables that fit the terminal.

Every value may come from a file, a repo or a server: each line and each cell is escaped (zoo.core.text.printable,
newlines and tabs included), so no value can add a line, a row or a column, or reach the terminal as a control."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from zoo.core.text import printable

#: the space between two columns of a borderless table (one cell's right padding and the next one's left)
GAP = 2


def echo(text: str) -> None:
    """Print one line to stdout: a newline, a tab or another control character in `text` is shown escaped."""
    sys.stdout.write(printable(text, keep_newlines=False) + "\n")


def echo_lines(text: str) -> None:
    """Print zoo's own multi-line text (a catalog entry, a report) line by line, each line as `echo` does."""
    for line in text.split("\n"):
        echo(line)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


def human(count: int | None) -> str:
    if count is None:
        return "?"
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if count >= size:
            return f"{count / size:.1f}{unit}"
    return str(count)


@dataclass(frozen=True)
class Column:
    """A table column, and how it gives way when the table is wider than the terminal."""

    header: str
    #: the narrowest it may become (its cells then end in an ellipsis); None: always shown whole
    shorten_to: int | None = None
    #: when shortening is not enough, columns are dropped in this order (1 first); None: never dropped
    drop: int | None = None
    #: shortened by wrapping at spaces instead (multi-word text: an error, a value); a word too long still ends in …
    wrap: bool = False


def fit(columns: Sequence[Column], natural: Sequence[int], width: int) -> list[int | None]:
    """Each column's width in a table at most `width` wide (None: dropped): shortenable columns give way first,
    the widest first, down to their minimum; then columns are dropped in their order until the rest fits."""
    widths: list[int | None] = list(natural)

    def excess() -> int:
        shown = [w for w in widths if w is not None]
        return sum(shown) + GAP * (len(shown) - 1) - width

    for i in sorted(range(len(columns)), key=lambda i: -natural[i]):
        floor = columns[i].shorten_to
        if excess() > 0 and floor is not None and natural[i] > floor:
            widths[i] = max(floor, natural[i] - excess())
    for i in sorted((i for i, c in enumerate(columns) if c.drop is not None), key=lambda i: columns[i].drop):
        if excess() <= 0:
            break
        widths[i] = None
    return widths


def print_table(columns: Sequence[Column | str], rows: Iterable[Sequence[Any]], header: bool = True) -> None:
    """Print rows as a borderless table that fits the terminal. Cells are plain text (foreign names are never read
    as markup) or rich Text, and never split mid-word: see `fit`."""
    from rich.cells import cell_len
    from rich.console import Console
    from rich.table import Table

    specs = [c if isinstance(c, Column) else Column(c) for c in columns]
    cells = [[_cell(v) for v in row] for row in rows]
    headers = [_cell(spec.header) for spec in specs]
    natural = [
        max([cell_len(headers[i].plain) if header else 0, *(cell_len(row[i].plain) for row in cells)])
        for i, spec in enumerate(specs)
    ]
    console = Console()
    widths = fit(specs, natural, console.width)
    shown = [i for i, w in enumerate(widths) if w is not None]
    table = Table(box=None, header_style="bold", pad_edge=False, show_header=header)
    for i in shown:
        table.add_column(headers[i], width=widths[i], no_wrap=not specs[i].wrap, overflow="ellipsis")
    for row in cells:
        table.add_row(*(row[i] for i in shown))
    console.print(table)


def _cell(value: Any) -> Any:
    """A table cell as rich Text, escaped to one line (a header too: a plain string would be read as markup)."""
    from rich.text import Text

    text = value.plain if isinstance(value, Text) else str(value)
    shown = printable(text, keep_newlines=False)
    if isinstance(value, Text) and shown == text:
        return value
    return Text(shown, style=value.style if isinstance(value, Text) else "")


def print_fields(rows: Iterable[tuple[str, Any]]) -> None:
    """Print `field  value` lines as a headerless two-column table; a long value wraps at its spaces."""
    print_table([Column("Field"), Column("Value", shorten_to=20, wrap=True)], rows, header=False)


def print_heading(name: str, rest: str = "") -> None:
    """A line naming what follows: `name` in bold, then `rest`."""
    from rich.console import Console
    from rich.text import Text

    Console().print(Text.assemble((printable(name, keep_newlines=False), "bold"), printable(rest, keep_newlines=False)))


def short_revision(target: str | None) -> str | None:
    """ORG/NAME@<40 hex> as ORG/NAME@<first 8>, as git shows commits."""
    if target is None or "@" not in target:
        return target
    repo, _, revision = target.rpartition("@")
    return f"{repo}@{revision[:8]}"
