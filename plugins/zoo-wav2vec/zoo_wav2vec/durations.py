"""Audio durations for length bucketing, read from the headers once and cached in zoo's cache folder.

A LibriSpeech-sized dataset has tens of thousands of files; opening each one's header at every start costs
minutes on a network disk. The cache holds one JSON file per dataset folder: path -> [size, mtime_ns, seconds].
An entry counts only while the file's size and mtime are the ones recorded, so an edited file is read again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from zoo.plugin import atomic_write_text, cache_dir, read_cache
from zoo_wav2vec import audio


def cache_file(root: Path) -> Path:
    """Where the durations of the files under `root` are cached."""
    key = hashlib.sha256(str(root.resolve()).encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return cache_dir() / "audio-durations" / f"{key}.json"


def _valid(entry: object) -> bool:
    return (
        isinstance(entry, list)
        and len(entry) == 3
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in entry)
        and 0 <= entry[2] < float("inf")
    )


def durations(paths: Sequence[Path], root: Path) -> list[float]:
    """Seconds of audio in each file (headers only), from the cache where the file has not changed since."""
    where = cache_file(root)
    cached = read_cache(where, "audio durations are read from the headers again")
    out, fresh = [], {}
    for path in paths:
        key = str(path)
        stat = path.stat()
        entry = cached.get(key)
        if _valid(entry) and entry[0] == stat.st_size and entry[1] == stat.st_mtime_ns:
            seconds = float(entry[2])
        else:
            seconds = audio.duration(path)
        fresh[key] = [stat.st_size, stat.st_mtime_ns, seconds]
        out.append(seconds)
    if fresh != {k: cached.get(k) for k in fresh}:  # something was read: keep it for the next start
        with contextlib.suppress(OSError):  # a read-only cache folder costs the next start time, never this one
            atomic_write_text(where, json.dumps({**cached, **fresh}, separators=(",", ":")))
    return out
