"""zoo's cache folder and its own cache files (verified-file records, parameter counts), never trusted blindly."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from zoo.core.errors import warn


def cache_dir() -> Path:
    """zoo's cache folder: ZOO_CACHE_DIR, else $XDG_CACHE_HOME/zoo, else ~/.cache/zoo."""
    if os.environ.get("ZOO_CACHE_DIR"):
        return Path(os.environ["ZOO_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "zoo"


def read_cache(path: Path, consequence: str) -> dict[str, Any]:
    """The JSON object cached at `path`: {} when there is none, and {} with a warning saying `consequence` when the
    file is damaged, of the wrong shape or a folder, so the cache is rebuilt and never blocks a command."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, RecursionError):  # a folder, bad JSON, not UTF-8, nested too deeply
        data = None
    if not isinstance(data, dict):
        warn(f"{path} is damaged or not a file: {consequence}", stacklevel=3)
        return {}
    return data
