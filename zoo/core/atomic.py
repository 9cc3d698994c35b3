"""Writing files whole or not at all: a temporary file in the same folder, renamed over the target.

Temporary names carry the writer's process id (`.zoo-tmp-<pid>-...`), so a later run can tell the leftovers of a
killed process from the files of one still writing, and clean only the former.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from zoo.core.fs import check_path, refusals

PREFIX = ".zoo-tmp-"
_OWNER = re.compile(rf"{re.escape(PREFIX)}(\d+)-")
WHAT = "cannot write"


def _default_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def temp_name() -> str:
    return f"{PREFIX}{os.getpid()}-"


@contextlib.contextmanager
def replacing(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path beside `path`; when the block succeeds it replaces `path`, keeping the old file's permission
    bits (a new file gets the umask's); when it fails, the temporary file is removed and `path` is untouched. A path
    the file system refuses is a one-line error naming it (zoo.core.fs), and still an OSError."""
    target = check_path(path, WHAT)
    with refusals(WHAT, target):
        target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(target.parent)
    with refusals(WHAT, target):
        if target.is_dir():
            raise IsADirectoryError(errno.EISDIR, "a folder", str(target))
        mode = target.stat().st_mode & 0o7777 if target.is_file() else _default_mode()
        fd, tmp = tempfile.mkstemp(prefix=temp_name(), dir=target.parent)
        os.close(fd)
    try:
        yield Path(tmp)
        with refusals(WHAT, target):
            os.chmod(tmp, mode)
            os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    with replacing(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    with replacing(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def clean_stale(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporary files and folders that killed zoo processes left in `folder`; return what went."""
    removed = []
    with contextlib.suppress(OSError):
        for entry in Path(folder).iterdir():
            match = _OWNER.match(entry.name)
            if match is None or _alive(int(match.group(1))):
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed
