"""Each image file's SHA-256, streamed in chunks (folders larger than memory), on a few threads (hashlib releases
the GIL), and remembered in zoo's cache for as long as the file's stat says it is unchanged.

The cache is keyed on (device, inode) and trusted only while the size, mtime and ctime are those recorded. The
ctime is what keeps the digest following content: an edit in place at the same size whose mtime is set back (touch
-d, os.utime) still moves the ctime, which the kernel sets on every write and every utime and which no call can set
back. A copy has another inode and is hashed again: the same bytes give the same digest. As git does with its
index, a file changed within RACY_NS of being hashed is not remembered: the clock's tick could hide a later edit.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from zoo.plugin import cache_dir, warn

THREADS = 8
CACHE_FILE = "image-digests.sqlite"
RACY_NS = 2_000_000_000
UNREADABLE = "-"  # a file gone or unreadable since the listing: training skips it too

#: (st_dev, st_ino) -> (st_size, st_mtime_ns, st_ctime_ns)
Stamp = tuple[int, int, int]


def cache_path() -> Path:
    return cache_dir() / CACHE_FILE


def stamp(stat: os.stat_result) -> Stamp:
    return stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns


def file_digest(path: str) -> str:
    """The SHA-256 of a file's bytes, read in chunks; UNREADABLE when it cannot be read."""
    try:
        with open(path, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError:
        return UNREADABLE


def digests(paths: Sequence[str], stats: Sequence[os.stat_result]) -> list[str]:
    """Each file's SHA-256; `stats` are the files' stats taken before they are read, so a file changed while it is
    hashed is hashed again next time."""
    with _cache() as db:
        known = _known(db)
        out: dict[int, str] = {}
        for i, s in enumerate(stats):
            record = known.get((s.st_dev, s.st_ino))
            if record is not None and record[0] == stamp(s):
                out[i] = record[1]
        todo = [i for i in range(len(paths)) if i not in out]
        with ThreadPoolExecutor(min(THREADS, max(1, len(todo)))) as pool:
            out.update(zip(todo, pool.map(file_digest, [paths[i] for i in todo]), strict=True))
        settled = time.time_ns() - RACY_NS
        fresh = [
            (stats[i].st_dev, stats[i].st_ino, *stamp(stats[i]), out[i])
            for i in todo
            if out[i] != UNREADABLE and max(stats[i].st_mtime_ns, stats[i].st_ctime_ns) < settled
        ]
        _remember(db, fresh)
    return [out[i] for i in range(len(paths))]


@contextlib.contextmanager
def _cache() -> Iterator[sqlite3.Connection | None]:
    """zoo's digest cache, or None when it cannot be opened: the files are then all hashed, never refused."""
    path = cache_path()
    db = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, timeout=60)  # the ranks of a distributed run share it
        db.execute(
            "CREATE TABLE IF NOT EXISTS digests (dev INTEGER, ino INTEGER, size INTEGER, mtime_ns INTEGER, "
            "ctime_ns INTEGER, sha256 TEXT, PRIMARY KEY (dev, ino))"
        )
    except (OSError, sqlite3.Error) as exc:
        warn(f"cannot use the image digest cache {path} ({exc}): every image is hashed")
        if db is not None:
            db.close()
        db = None
    try:
        yield db
    finally:
        if db is not None:
            db.close()


def _known(db: sqlite3.Connection | None) -> dict[tuple[int, int], tuple[Stamp, str]]:
    if db is None:
        return {}
    try:
        rows = db.execute("SELECT dev, ino, size, mtime_ns, ctime_ns, sha256 FROM digests").fetchall()
    except sqlite3.Error:
        return {}
    return {(dev, ino): ((size, mtime, ctime), sha) for dev, ino, size, mtime, ctime, sha in rows}


def _remember(db: sqlite3.Connection | None, rows: list[tuple[int, int, int, int, int, str]]) -> None:
    if db is None or not rows:
        return
    try:
        with db:
            db.executemany("INSERT OR REPLACE INTO digests VALUES (?, ?, ?, ?, ?, ?)", rows)
    except sqlite3.Error as exc:  # a full disk or a locked file costs only hashing again next time
        warn(f"cannot update the image digest cache ({exc}): the images will be hashed again next time")
