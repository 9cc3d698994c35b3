"""Options and completions that several commands share."""

from __future__ import annotations

from typing import Annotated

import typer

import zoo
from zoo.core.errors import ZooError

HubOption = Annotated[
    str | None, typer.Option("--hub", help="A local hub folder or a Hub URL (default: ZOO_HUB, else HF_ENDPOINT).")
]


def complete_models(incomplete: str) -> list[str]:
    try:
        return [n for n in zoo.list_models() if n.startswith(incomplete)]
    except ZooError:
        return []


JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
