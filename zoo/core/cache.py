"""zoo's cache folder and its own cache files (verified-file records, parameter counts), never trusted blindly."""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path
from typing import Any

from zoo.core.errors import warn

#: errors reading a cache file that say the file itself is damaged (or a folder), not that it is missing
_DAMAGED = {errno.EISDIR, errno.EIO, errno.EINVAL}


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
        if not stat.S_ISREG(path.stat().st_mode):  # a folder, or a FIFO that would block the read
            raise IsADirectoryError(errno.EISDIR, "not a file", str(path))
        data = json.loads(path.read_text("utf-8"))
    except OSError as exc:
        if exc.errno not in _DAMAGED:  # nothing there yet, or a cache folder that cannot be: writing it says so
            return {}
        data = None
    except (ValueError, RecursionError):  # bad JSON, not UTF-8, nested too deeply
        data = None
    if not isinstance(data, dict):
        warn(f"{path} is damaged or not a file: {consequence}", stacklevel=3)
        return {}
    return data
