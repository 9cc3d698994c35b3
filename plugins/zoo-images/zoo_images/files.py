"""Image files decoded when a batch asks for them, in the DataLoader's workers, for folders larger than memory.

Decoding is deterministic (a resize to `size`) and augmentation runs on whole batches in the main process
(zoo_images.augment), so a streamed run, a cached run and a resumed run all see the same pixels. The optional
cache is one shared-memory uint8 tensor that the workers fill as they decode: the first epoch streams, the later
ones read memory, and the time to the first step does not depend on the folder's size.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from zoo.plugin import UsageError, ZooError, warn
from zoo_images.common import ImageTooLarge, load_image
from zoo_images.decode import read_bytes

CACHE_MODES = ("auto", "memory", "none")
# A file that won't decode is replaced by the next one (as timm's ImageDataset does); this many in a row is an error.
RETRIES = 20


def memory_budget() -> int:
    """Bytes the decoded-image cache may take when cache=auto: a quarter of the machine's memory."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 4
    except (ValueError, OSError, AttributeError):  # a platform without these names
        return 1 << 30


def shared_memory_free() -> int | None:
    """Free bytes in /dev/shm, where the cache lives (Docker gives it 64 MB unless --shm-size says otherwise);
    None where there is no such folder (macOS)."""
    try:
        stat = os.statvfs("/dev/shm")
    except (OSError, AttributeError):
        return None
    return stat.f_bavail * stat.f_frsize


def use_cache(mode: str, images: int, size: int) -> bool:
    """Whether to keep decoded images in memory: `mode` is auto (when they fit the budget), memory or none."""
    if mode not in CACHE_MODES:
        raise UsageError(f"cache must be one of {', '.join(CACHE_MODES)}, got '{mode}'")
    need, shm = images * 3 * size * size, shared_memory_free()
    if mode == "memory" and shm is not None and need > shm:
        # Past the end of /dev/shm a worker's write is a SIGBUS ("bus error"), not a Python error: refuse first.
        raise UsageError(
            f"cache=memory needs {need / 2**30:.2f} GiB of shared memory and /dev/shm has {shm / 2**30:.2f} GiB "
            "free: enlarge it (docker run --shm-size), or use cache=none"
        )
    return mode == "memory" or (mode == "auto" and need <= min(memory_budget(), shm if shm is not None else need))


class ImageFiles(Dataset):
    """(uint8 3 x size x size image, label) per file, decoded on first use; kept in shared memory when `cache`."""

    #: return each file's bytes instead (decode=device: zoo_images.decode decodes whole batches on the device)
    encoded = False

    def __init__(self, paths: Sequence[str], labels: Sequence[int], size: int, cache: bool) -> None:
        # Paths as one byte buffer with offsets, not a list of str: forked workers that touch Python objects copy
        # their pages (refcounts), and a million paths would then be copied once per worker.
        encoded = [os.fsencode(p) for p in paths]
        self._offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(b) for b in encoded], out=self._offsets[1:])
        self._names = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        self.labels = torch.tensor(list(labels), dtype=torch.long)
        self.size = size
        self.cached = cache
        n = len(encoded)
        self._pixels = torch.empty((n, 3, size, size) if cache else (0,), dtype=torch.uint8).share_memory_()
        self._filled = torch.zeros(n if cache else 0, dtype=torch.bool).share_memory_()

    def __len__(self) -> int:
        return len(self.labels)

    def path(self, i: int) -> str:
        return os.fsdecode(self._names[self._offsets[i] : self._offsets[i + 1]].tobytes())

    def _image(self, i: int) -> torch.Tensor:
        if self.encoded:
            return read_bytes(self.path(i))
        if self.cached and self._filled[i]:
            return self._pixels[i]
        image = load_image(self.path(i), self.size)
        if self.cached:
            self._pixels[i] = image
            self._filled[i] = True  # after the pixels: a reader that sees the flag sees the whole image
        return image

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        for step in range(RETRIES):
            j = (i + step) % len(self)
            try:
                return self._image(j), self.labels[j]
            except ImageTooLarge:
                raise
            except ZooError as exc:
                warn(f"{exc}: skipped, the next image stands in for it")
        raise ZooError(
            f"{RETRIES} images in a row from {self.path(i)} on won't decode: check the folder's files "
            "(a full disk, a broken copy?)"
        )
