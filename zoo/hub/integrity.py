"""File digests (sha256 and git blob id in one pass) and a record of files already verified.

A verified file is not hashed again while its size and modification time are unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from contextlib import suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from zoo.core.atomic import write_text
from zoo.core.cache import cache_dir, read_cache
from zoo.core.errors import ZooError, warn

CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class Digests:
    sha256: str
    #: git's blob id: sha1 of b"blob <size>\0" + content, what the Hub reports for regular files (None: not computed)
    git_sha1: str | None
    size: int


class VerificationError(ZooError):
    """A file's content differs from what the catalog pins or the Hub reports."""


def hash_file(path: Path, git_sha1: bool = True) -> Digests:
    """sha256 and (unless not needed, as for LFS files, whose reference is a sha256) git's blob id, in one pass."""
    size = path.stat().st_size
    sha256, sha1 = hashlib.sha256(), hashlib.sha1(f"blob {size}\0".encode()) if git_sha1 else None
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as fh:
        while n := fh.readinto(buffer):
            sha256.update(view[:n])
            if sha1 is not None:
                sha1.update(view[:n])
    return Digests(sha256.hexdigest(), sha1.hexdigest() if sha1 is not None else None, size)


class FollowingDigest(threading.Thread):
    """The sha256 of a file that another writer (huggingface_hub, downloading it) appends to, computed as its bytes
    land, so a large download is verified without reading it a second time. Any sign that the writer went back
    (the file shrank, the download restarted, another file took its place) voids it: the file is then hashed
    again after the download, as every file is."""

    def __init__(self, folder: Path, pattern: str) -> None:
        super().__init__(daemon=True)
        self.folder, self.pattern = folder, pattern
        self.finished = threading.Event()
        self.void = False
        self.inode: int | None = None
        self.size = 0
        self._sha256 = hashlib.sha256()

    def rewound(self) -> None:
        """The writer went back in the file (a restarted download): what was hashed is not the file."""
        self.void = True

    def _open(self) -> Any:
        while not self.finished.is_set():
            found = list(self.folder.glob(self.pattern))
            if len(found) > 1:
                return None  # two downloads of one blob: which one lands is unknown
            if found:
                with suppress(FileNotFoundError):
                    return open(found[0], "rb")
            time.sleep(0.001)
        return None  # nothing was downloaded (the file was in the cache), or under a name not foreseen

    def run(self) -> None:
        fh = self._open()
        if fh is None:
            return
        with fh:
            self.inode = os.fstat(fh.fileno()).st_ino
            while not self.void:
                chunk = fh.read(CHUNK)
                if chunk:
                    self._sha256.update(chunk)
                    self.size += len(chunk)
                elif os.fstat(fh.fileno()).st_size < self.size:
                    self.void = True
                elif self.finished.is_set():
                    if not fh.read(1):  # the writer is done and every byte is hashed
                        return
                    self.void = True
                else:
                    time.sleep(0.001)

    def result(self, final: Path) -> Digests | None:
        """The digests of `final` (the downloaded file, moved into place), or None if they cannot be vouched for."""
        self.finished.set()
        self.join()
        try:
            stat = os.stat(final)
        except OSError:
            return None
        if self.void or stat.st_ino != self.inode or stat.st_size != self.size:
            return None
        return Digests(self._sha256.hexdigest(), None, self.size)


class VerifiedRecords:
    """ZOO_CACHE_DIR/verified.json: real path -> digests, size and mtime of files that passed verification."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or cache_dir() / "verified.json"
        self.dirty = False
        data = read_cache(self.path, "every file will be hashed again and the record rebuilt")
        self.data: dict[str, dict] = {k: v for k, v in data.items() if _valid_record(v)}
        if len(self.data) != len(data):
            warn(f"{self.path} held {len(data) - len(self.data)} damaged records: rebuilt")
            self.dirty = True

    @staticmethod
    def _key(path: Path) -> str:
        return os.path.realpath(path)

    def lookup(self, path: Path) -> Digests | None:
        """The recorded digests if the file is unchanged since it was verified."""
        record = self.data.get(self._key(path))
        if record is None:
            return None
        stat = os.stat(path)
        if (record["size"], record["mtime_ns"]) != (stat.st_size, stat.st_mtime_ns):
            return None
        return Digests(record["sha256"], record["git_sha1"], record["size"])

    def add(self, path: Path, digests: Digests, expected: str) -> None:
        stat = os.stat(path)
        self.data[self._key(path)] = {**asdict(digests), "mtime_ns": stat.st_mtime_ns, "expected": expected}
        self.dirty = True

    def forget(self, path: Path) -> None:
        self.dirty |= self.data.pop(self._key(path), None) is not None

    def expected(self, path: Path) -> str | None:
        """The reference digest ('sha256:…' or 'git-sha1:…') a file was verified against, for offline checks."""
        record = self.data.get(self._key(path))
        return record.get("expected") if record else None

    def save(self) -> None:
        """Write the record; a cache that cannot be written costs only re-hashing next time, never the pull."""
        if not self.dirty or self.path.is_dir():
            return
        try:
            write_text(self.path, json.dumps(self.data))
        except OSError as exc:
            warn(f"cannot write {self.path} ({exc.strerror or exc}): files will be hashed again")
        self.dirty = False


def _valid_record(record: object) -> bool:
    return (
        isinstance(record, dict)
        and all(isinstance(record.get(k), str) for k in ("sha256", "expected"))
        and isinstance(record.get("git_sha1"), (str, type(None)))
        and all(isinstance(record.get(k), int) and not isinstance(record.get(k), bool) for k in ("size", "mtime_ns"))
    )


def matches(digests: Digests, expected: str) -> bool:
    """Does a file match 'sha256:<hex>' or 'git-sha1:<hex>'?"""
    algorithm, _, value = expected.partition(":")
    return {"sha256": digests.sha256, "git-sha1": digests.git_sha1}.get(algorithm) == value


def actual(digests: Digests, expected: str) -> str:
    """The file's digest in the algorithm of `expected`, for error messages."""
    algorithm = expected.partition(":")[0]
    return f"{algorithm}:{digests.git_sha1 if algorithm == 'git-sha1' else digests.sha256}"


def verify(path: Path, repo_path: str, expected: str, records: VerifiedRecords, size: int | None = None) -> Digests:
    """Check one file (its size first when the Hub listed one, then its digest); on a mismatch delete it (and
    forget it) and raise VerificationError naming both values."""
    if size is not None and (found := os.stat(path).st_size) != size:
        records.forget(path)
        _remove_from_cache(path)
        raise VerificationError(
            f"{repo_path} failed verification: the Hub lists {size} bytes, {found} arrived. The file was removed "
            "from the cache; pull again, and report it to the repository's owner if it happens again."
        )
    digests = records.lookup(path)
    if digests is None or records.expected(path) != expected:
        digests = hash_file(path, git_sha1=expected.startswith("git-sha1:"))
        if not matches(digests, expected):
            records.forget(path)
            _remove_from_cache(path)
            raise VerificationError(
                f"{repo_path} failed verification: expected {expected}, got {actual(digests, expected)}. "
                "The file was removed from the cache; pull again, and report it if it happens again."
            )
        records.add(path, digests, expected)
    return digests


def _remove_from_cache(path: Path) -> None:
    """Delete a file; in the Hugging Face cache that is the snapshot link and the blob it points to."""
    target = Path(os.path.realpath(path))
    for item in {path, target}:
        item.unlink(missing_ok=True)
