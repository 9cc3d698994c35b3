"""The file system's refusals as one-line errors that name the path: a name too long, a file where a folder must be
(or a folder where a file must be), a folder that cannot be made or written."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from zoo.core.errors import UsageError, ZooError

#: errors in the path the user gave (exit 2); any other OSError is a runtime failure (exit 1)
_PATH_ERRNOS = {
    errno.ENAMETOOLONG, errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.ENOENT, errno.ELOOP,
    errno.EACCES, errno.EPERM, errno.EROFS,
}  # fmt: skip
_REASONS = {
    errno.ENOENT: "no such file or folder",
    errno.EISDIR: "it is a folder, not a file",
    errno.EEXIST: "it is a file, not a folder",
    errno.ELOOP: "it goes round a loop of symbolic links",
    errno.EACCES: "permission denied: choose a folder you can write",
    errno.EPERM: "the operation is not permitted there: choose a folder you can write",
    errno.EROFS: "the file system is read-only: choose a folder you can write",
    errno.ENOSPC: "no space is left on the device",
}
_LONGEST_SHOWN = 40


class _PathProblem(OSError):
    """An OSError whose text is zoo's one line; errno, strerror (the reason) and filename as OSError's, so code that
    tolerates a failed write (a cache, a note) still does."""

    def __init__(self, message: str, code: int | None = None, reason: str = "", path: object = None) -> None:
        super().__init__(message)
        self.errno, self.strerror, self.filename = code, reason or None, path

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class PathRefused(_PathProblem, UsageError):
    """The path the user gave cannot be used: exit 2."""


class PathFailed(_PathProblem, ZooError):
    """Reading or writing a path failed for a reason outside the path itself, such as a full disk: exit 1."""


def shown(path: str | os.PathLike[str] | bytes) -> str:
    """`path` as a message shows it: each name over 40 characters cut short, with its length; a path over 160
    characters by its start and end."""
    text = os.fsdecode(path)
    parts = [
        part if len(part) <= _LONGEST_SHOWN else f"{part[:24]}...({len(os.fsencode(part))} bytes)"
        for part in text.split(os.sep)
    ]
    text = os.sep.join(parts)
    return text if len(text) <= 4 * _LONGEST_SHOWN else f"{text[:_LONGEST_SHOWN]}...{text[-2 * _LONGEST_SHOWN :]}"


def os_error_line(exc: OSError) -> str:
    """Any OSError as one line: the file names it carries and errno's reason (the CLI's last line of defence)."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    names = [shown(name) for name in (exc.filename, exc.filename2) if name is not None]
    if not names:
        return reason
    return f"{' -> '.join(names)}: {reason}. Check the path, or run again with --debug for the traceback."


def path_error(exc: OSError, what: str, path: str | os.PathLike[str]) -> PathRefused | PathFailed:
    """The one-line error for `exc`, raised using `path`: `WHAT PATH: reason` (WHAT: '--out', 'cannot write')."""
    return _error(exc.errno, what, Path(path), exc.strerror or str(exc))


def _error(code: int | None, what: str, path: Path, strerror: str = "") -> PathRefused | PathFailed:
    reason = _REASONS.get(code or 0, strerror or "failed")
    if code == errno.ENAMETOOLONG:
        reason = _too_long(path) or "the path is longer than the file system allows: use a shorter one"
    elif code == errno.ENOTDIR:
        blocker = _file_above(path)
        reason = f"{shown(blocker)} is a file, not a folder" if blocker else "it is a file, not a folder"
    kind = PathRefused if code in _PATH_ERRNOS else PathFailed
    return kind(f"{what} {shown(path)}: {reason}", code, reason, str(path))


def _limit(path: Path, name: str, default: int) -> int:
    """The file system's limit `name` (PC_NAME_MAX, PC_PATH_MAX) where `path` is, from its nearest folder."""
    for folder in (path, *path.parents):
        with contextlib.suppress(OSError, ValueError):
            if folder.is_dir():
                return os.pathconf(folder, name)
    return default


def _too_long(path: Path) -> str | None:
    """What is too long in `path` for its file system, or None."""
    limit = _limit(path, "PC_NAME_MAX", 255)
    for part in path.parts:
        size = len(os.fsencode(part))
        if size > limit:
            name = "the name" if part == str(path) else f"the name {shown(part)!r}"
            return f"{name} is {size} bytes long, more than the file system allows ({limit})"
    size, limit = len(os.fsencode(os.path.abspath(path))), _limit(path, "PC_PATH_MAX", 4096)
    if size >= limit:
        return f"the path is {size} bytes long, more than the file system allows ({limit - 1})"
    return None


def _file_above(path: Path) -> Path | None:
    """The first folder on the way to `path` that exists and is not a folder, or None."""
    for folder in reversed(path.parents):
        try:
            if not folder.is_dir() and folder.exists():
                return folder
        except OSError:
            return None
    return None


def check_length(path: str | os.PathLike[str], what: str) -> Path:
    """`path` as a Path, or a PathRefused `WHAT PATH: reason` when a name in it, or the whole of it, is longer than
    the file system allows (for an argument that may name a file or something else, such as a model)."""
    target = Path(path)
    too_long = _too_long(target)
    if too_long:
        reason = f"{too_long}: use a shorter name"
        raise PathRefused(f"{what} {shown(target)}: {reason}", errno.ENAMETOOLONG, reason, str(target))
    return target


def check_path(path: str | os.PathLike[str], what: str) -> Path:
    """`path` as a Path, or a PathRefused `WHAT PATH: reason` when no file or folder could ever be there: a name
    longer than the file system allows, or a file where one of its folders should be."""
    target = check_length(path, what)
    blocker = _file_above(target)
    if blocker is not None:
        reason = f"{shown(blocker)} is a file, not a folder"
        raise PathRefused(f"{what} {shown(target)}: {reason}", errno.ENOTDIR, reason, str(target))
    return target


def check_folder(path: str | os.PathLike[str], what: str) -> Path:
    """As `check_path`, and a PathRefused when `path` is there but is not a folder."""
    target = check_path(path, what)
    with refusals(what, target):
        if target.exists() and not target.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "a file", str(target))
    return target


def check_writable(path: str | os.PathLike[str], what: str) -> Path:
    """As `check_folder`, and a PathRefused when the folder could not be made or written: a folder that exists is
    asked (its files stay untouched); a missing one is found out by making its first missing folder and removing it
    at once."""
    target = check_folder(path, what)
    missing = next((p for p in (*reversed(target.parents), target) if not p.exists()), None)
    with refusals(what, target):
        if missing is None:
            if not os.access(target, os.W_OK | os.X_OK):
                raise PermissionError(errno.EACCES, "not writable", str(target))
            with tempfile.TemporaryFile(dir=target):  # root passes os.access where a read-only mount still refuses
                pass
            return target
        try:
            os.mkdir(missing)
        except FileExistsError:  # made by another process meanwhile: it is there to write to
            return target
        with contextlib.suppress(OSError):  # another process may have begun to fill it: then it stays
            os.rmdir(missing)
    return target


def make_folder(path: str | os.PathLike[str], what: str) -> Path:
    """Make the folder `path` (and its parents) if it is not there; any refusal is a one-line error naming it."""
    target = check_folder(path, what)
    with refusals(what, target):
        target.mkdir(parents=True, exist_ok=True)
    return target


@contextlib.contextmanager
def refusals(what: str, path: str | os.PathLike[str]) -> Iterator[None]:
    """Inside, an OSError becomes the one-line error `WHAT PATH: reason` (one already such passes as it is)."""
    try:
        yield
    except _PathProblem:
        raise
    except OSError as exc:
        raise path_error(exc, what, path) from None
