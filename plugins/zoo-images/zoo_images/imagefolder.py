"""An image folder: one sub-folder per class, either under train/ and val/ or split by a ratio."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from zoo.plugin import UsageError, ZooError
from zoo_images.common import ImageTooLarge, channel_stats, image_data, load_image, require_dir

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm"}
HINT = "a folder with one sub-folder of images per class (or train/ and val/ folders laid out that way)"


def _classes(root: Path) -> list[str]:
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise UsageError(f"no class folders in {root}: expected {HINT}")
    return classes


def _scan(root: Path, classes: list[str], size: int, warnings: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode every image once; files that won't decode are skipped and counted, other files ignored."""
    images, labels, bad, other = [], [], [], 0
    for index, name in enumerate(classes):
        folder = root / name
        if not folder.is_dir():
            raise UsageError(f"{root} has no folder for class '{name}' (the training set has it)")
        files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
        found = 0
        for path in files:
            if path.suffix.lower() not in EXTENSIONS:
                other += 1
                continue
            try:
                images.append(load_image(path, size))
            except ImageTooLarge:
                raise
            except ZooError:
                bad.append(path)
                continue
            labels.append(index)
            found += 1
        if not found:
            raise UsageError(f"the class folder {folder} has no readable images: add some, or remove the folder")
    if bad:
        shown = ", ".join(str(p) for p in bad[:3]) + (" ..." if len(bad) > 3 else "")
        warnings.append(f"skipped {len(bad)} image(s) in {root} that won't decode: {shown}")
    if other:
        warnings.append(f"ignored {other} non-image file(s) in {root}")
    return torch.stack(images), torch.tensor(labels, dtype=torch.long)


def load(
    data_dir: Path | None = None,
    download: bool = False,  # noqa: ARG001 - every image adapter takes it; a folder has nothing to download
    size: int = 32,
    val_split: float = 0.2,
    seed: int = 0,
    **_: Any,
):
    """Images resized to `size`, held in memory as uint8; val from val/ when it exists, else `val_split` of train."""
    root = require_dir(data_dir, "imagefolder", HINT)
    if not 0 <= val_split < 1:
        raise UsageError(f"val_split must be in [0, 1), got {val_split}")
    train_root = root / "train" if (root / "train").is_dir() else root
    classes = _classes(train_root)
    warnings: list[str] = []
    x, y = _scan(train_root, classes, size, warnings)
    if (root / "val").is_dir() and train_root != root:
        val = _scan(root / "val", classes, size, warnings)
        train = (x, y)
    elif val_split > 0:
        order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
        cut = max(1, round(len(y) * val_split))
        if cut >= len(y):
            raise UsageError(f"{train_root} has {len(y)} image(s): too few to hold out {val_split:.0%} for validation")
        val, train = (x[order[:cut]], y[order[:cut]]), (x[order[cut:]], y[order[cut:]])
    else:
        val, train = None, (x, y)
    mean, std = channel_stats(train[0])
    return image_data(
        train,
        val,
        classes,
        mean,
        std,
        source=str(root),
        warnings=warnings,
        augment={"crop_padding": 4 * size // 32, "flip": True},
    )
