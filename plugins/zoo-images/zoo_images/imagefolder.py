"""An image folder: one sub-folder per class, either under train/ and val/ or split by a ratio.

Images are listed, not decoded, before training starts: they stream through the DataLoader's workers
(zoo_images.files), and stay in memory after their first decode when the decoded set fits (cache=auto).
"""

from __future__ import annotations

import hashlib
import os
import random
from pathlib import Path
from typing import Any

import torch

from zoo.plugin import Data, UsageError, ZooError
from zoo_images.common import ImageTooLarge, channel_stats, load_image, preprocessing, require_dir
from zoo_images.decode import DECODE_MODES, collate_encoded
from zoo_images.digests import digests
from zoo_images.files import ImageFiles, use_cache

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm"}
HINT = "a folder with one sub-folder of images per class (or train/ and val/ folders laid out that way)"
# Training images decoded up front: the channel statistics come from them, and their bad files are dropped. A
# folder this small is checked whole; a larger one meets its bad files while training (warned, then replaced).
PROBE = 256


def _classes(root: Path) -> list[str]:
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise UsageError(f"no class folders in {root}: expected {HINT}")
    return classes


def _walk(folder: str) -> list[tuple[list[str], str, os.stat_result | None]]:
    """(sort key, path, stat, or None for what is not a regular file) of each non-hidden name below `folder`,
    sub-folders' contents included, in path order; os.scandir, as an ImageNet-sized folder needs."""
    out, todo = [], [folder]
    while todo:
        with os.scandir(todo.pop()) as entries:
            for entry in entries:
                try:
                    if entry.is_dir():
                        todo.append(entry.path)
                    elif not entry.name.startswith("."):
                        stat = entry.stat() if entry.is_file() else None
                        out.append((entry.path.split(os.sep), entry.path, stat))
                except OSError:  # gone or unreadable since the listing: not an image to train on
                    continue
    return sorted(out)


Listing = tuple[list[Path], list[int], list[os.stat_result]]


def _list(root: Path, classes: list[str], warnings: list[str]) -> Listing:
    """Image paths, their class indices and their stats; other files are ignored and counted."""
    paths, labels, stats, other = [], [], [], 0
    for index, name in enumerate(classes):
        folder = root / name
        if not folder.is_dir():
            raise UsageError(f"{root} has no folder for class '{name}' (the training set has it)")
        found = 0
        for _, path, stat in _walk(str(folder)):
            if os.path.splitext(path)[1].lower() not in EXTENSIONS:
                other += stat is not None
            elif stat is not None:
                paths.append(Path(path))
                labels.append(index)
                stats.append(stat)
                found += 1
        if not found:
            raise UsageError(f"the class folder {folder} has no readable images: add some, or remove the folder")
    if other:
        warnings.append(f"ignored {other} non-image file(s) in {root}")
    return paths, labels, stats


def _probe(
    paths: list[Path], size: int, seed: int, root: Path, warnings: list[str]
) -> tuple[set[int], dict[int, torch.Tensor]]:
    """Decode a seeded sample of PROBE images: (indices that won't decode, decoded images by index)."""
    picked = sorted(random.Random(seed).sample(range(len(paths)), min(PROBE, len(paths))))
    bad, good = set(), {}
    for i in picked:
        try:
            good[i] = load_image(paths[i], size)
        except ImageTooLarge:
            raise
        except ZooError:
            bad.add(i)
    if bad:
        names = [str(paths[i]) for i in sorted(bad)]
        shown = ", ".join(names[:3]) + (" ..." if len(names) > 3 else "")
        warnings.append(f"skipped {len(bad)} image(s) in {root} that won't decode: {shown}")
    return bad, good


def _fingerprint(root: Path, parts: dict[str, Listing]) -> str:
    """What the run trained on: per split, each file's path below `root`, class and the SHA-256 of its bytes. The
    same bytes under another root, or touched later, give the same fingerprint; an edited byte another one."""
    rows = [(split, *row) for split, part in parts.items() for row in zip(*part, strict=True)]
    contents = digests([str(row[1]) for row in rows], [row[3] for row in rows])  # one pass over the cache
    digest = hashlib.sha256()
    for (split, path, label, _), content in zip(rows, contents, strict=True):
        digest.update(f"{split}\t{path.relative_to(root).as_posix()}\t{label}\t{content}\n".encode())
    return "sha256:" + digest.hexdigest()


def _take(listing: Listing, rows: list[int]) -> Listing:
    paths, labels, stats = listing
    return [paths[i] for i in rows], [labels[i] for i in rows], [stats[i] for i in rows]


def load(
    data_dir: Path | None = None,
    download: bool = False,  # noqa: ARG001 - every image adapter takes it; a folder has nothing to download
    size: int = 32,
    val_split: float = 0.2,
    seed: int = 0,
    cache: str = "auto",
    decode: str = "cpu",
    **_: Any,
) -> Data:
    """Images resized to `size`, decoded per batch; val from val/ when it exists, else `val_split` of train.
    `cache`: auto (keep decoded images in memory when they fit a quarter of it), memory, or none. `decode`: cpu
    (in the DataLoader's workers), or device (the workers read bytes; the recipe decodes batches on its device)."""
    if decode not in DECODE_MODES:
        raise UsageError(f"decode must be one of {', '.join(DECODE_MODES)}, got '{decode}'")
    root = require_dir(data_dir, "imagefolder", HINT)
    if not 0 <= val_split < 1:
        raise UsageError(f"val_split must be in [0, 1), got {val_split}")
    train_root = root / "train" if (root / "train").is_dir() else root
    classes = _classes(train_root)
    warnings: list[str] = []
    listing = _list(train_root, classes, warnings)
    bad, probed = _probe(listing[0], size, seed, train_root, warnings)
    kept = [i for i in range(len(listing[0])) if i not in bad]
    unreadable = sorted(set(listing[1]) - {listing[1][i] for i in kept})  # classes whose every image is bad
    if unreadable:
        folder = train_root / classes[unreadable[0]]
        raise UsageError(f"the class folder {folder} has no readable images: add some, or remove the folder")
    if not probed:
        raise ZooError(f"none of the {len(bad)} images sampled from {train_root} decode: {warnings[-1]}")
    val_listing = None
    if (root / "val").is_dir() and train_root != root:
        val_listing, train_rows = _list(root / "val", classes, warnings), kept
    elif val_split > 0:
        order = torch.randperm(len(kept), generator=torch.Generator().manual_seed(seed)).tolist()
        cut = max(1, round(len(kept) * val_split))
        if cut >= len(kept):
            raise UsageError(
                f"{train_root} has {len(kept)} image(s): too few to hold out {val_split:.0%} for validation"
            )
        val_listing = _take(listing, [kept[i] for i in order[:cut]])
        train_rows = [kept[i] for i in order[cut:]]
    else:
        train_rows = kept
    train_listing = _take(listing, train_rows)
    in_train = set(train_rows)
    sample = [image for i, image in probed.items() if i in in_train] or [*probed.values()]
    mean, std = channel_stats(torch.stack(sample))
    count = len(train_rows) + (len(val_listing[0]) if val_listing else 0)
    cached = use_cache(cache, count, size) and decode == "cpu"

    def dataset(part: Listing) -> ImageFiles:
        files = ImageFiles([str(p) for p in part[0]], part[1], size, cached)
        files.encoded = decode == "device"
        return files

    splits = {"train": train_listing, **({"val": val_listing} if val_listing else {})}
    return Data(
        train=dataset(train_listing),
        val=dataset(val_listing) if val_listing else None,
        collate=collate_encoded if decode == "device" else None,
        info={
            "labels": classes,
            "preprocessing": preprocessing(size, mean, std),
            "fingerprint": _fingerprint(root, splits),
            "source": str(root),
            "warnings": warnings,
            "augment": {"crop_padding": 4 * size // 32, "flip": True},
            "cache": "memory" if cached else "none",
            "decode": decode,
        },
    )
