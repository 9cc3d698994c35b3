"""Options and completions that several commands share."""

from __future__ import annotations

import os
import re
from typing import Annotated

import typer

import zoo
from zoo.core.errors import ZooError
from zoo.core.fs import check_folder, check_length, check_path, check_writable

HubOption = Annotated[
    str | None, typer.Option("--hub", help="A local hub folder or a Hub URL (default: ZOO_HUB, else HF_ENDPOINT).")
]


def complete_models(incomplete: str) -> list[str]:
    try:
        return [n for n in zoo.list_models() if n.startswith(incomplete)]
    except ZooError:
        return []


JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]


def check_paths(**paths: str | os.PathLike[str] | None) -> None:
    """Refuse, before any work, a path argument no file or folder could be at (a name longer than the file system
    allows, a file where a folder should be), naming its flag: `check_paths(**{"--out": out})`."""
    for flag, path in paths.items():
        if path is not None:
            check_path(path, flag)


def check_folders(**paths: str | os.PathLike[str] | None) -> None:
    """As `check_paths`, and each path that exists must be a folder."""
    for flag, path in paths.items():
        if path is not None:
            check_folder(path, flag)


def check_outputs(**paths: str | os.PathLike[str] | None) -> None:
    """As `check_folders`, and each folder must be one zoo can make or write (nothing is left behind)."""
    for flag, path in paths.items():
        if path is not None:
            check_writable(path, flag)


def check_target(target: str, what: str) -> None:
    """A MODEL|RUN_DIR argument: a model's name or a folder, so only its length can be checked up front."""
    check_length(target, what)


def check_hub(hub: str | None, write: bool = False) -> None:
    """A local hub folder given with --hub or ZOO_HUB (a URL is the Hub's business): as `check_folders`, or as
    `check_outputs` when zoo will `write` to it."""
    location = hub if hub is not None else os.environ.get("ZOO_HUB") or None
    if location is not None and not re.match(r"^https?://", location):
        (check_outputs if write else check_folders)(**{"--hub" if hub is not None else "ZOO_HUB": location})
