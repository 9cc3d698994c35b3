"""zoo's own cache files (verified-file records, parameter counts): read, and never trusted blindly."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from zoo.errors import ZooWarning


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
        warnings.warn(f"{path} is damaged or not a file: {consequence}", ZooWarning, 3)
        return {}
    return data
