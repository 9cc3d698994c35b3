"""How the CLI shows results: plain lines, JSON on stdout, and borderless Rich tables; foreign text escaped."""

from __future__ import annotations

import json
import sys
from typing import Any

from zoo.core.text import printable


def echo(text: str) -> None:
    """Print a line to stdout; names and messages from repos, catalogs and files may carry control characters."""
    sys.stdout.write(printable(text) + "\n")


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


def human(count: int | None) -> str:
    if count is None:
        return "?"
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if count >= size:
            return f"{count / size:.1f}{unit}"
    return str(count)


def table(*columns: str):
    """A borderless Rich table; the last column gives way first on a narrow terminal."""
    from rich.table import Table

    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in columns[:-1]:
        table.add_column(column, no_wrap=True)
    table.add_column(columns[-1], overflow="fold", ratio=1)
    return table


def add_row(table: Any, *values: Any) -> None:
    """Add cells as plain text: names and descriptions come from plugins and must not be read as markup."""
    from rich.text import Text

    table.add_row(*(v if isinstance(v, Text) else Text(printable(str(v))) for v in values))


def console():
    from rich.console import Console

    return Console()


def short_revision(target: str | None) -> str | None:
    """ORG/NAME@<40 hex> as ORG/NAME@<first 8>, as git shows commits."""
    if target is None or "@" not in target:
        return target
    repo, _, revision = target.rpartition("@")
    return f"{repo}@{revision[:8]}"
