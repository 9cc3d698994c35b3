"""scikit-learn's bundled digits: 1,797 real 8x8 handwritten digits, no download, upsampled to RGB."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from zoo_images.common import channel_stats, image_data

VAL = 360  # a fixed 80/20 split


def load(data_dir: Path | None = None, download: bool = False, size: int = 32, **_: Any):  # noqa: ARG001
    """Digits 0-9 as uint8 3 x size x size images; the same split every time."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    gray = torch.tensor(digits.images, dtype=torch.float32)[:, None] * (255 / 16)
    images = torch.nn.functional.interpolate(gray, size=(size, size), mode="bilinear", align_corners=False)
    images = images.round_().clamp_(0, 255).to(torch.uint8).expand(-1, 3, -1, -1).contiguous()
    labels = torch.tensor(digits.target, dtype=torch.long)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))
    train, val = order[VAL:], order[:VAL]
    mean, std = channel_stats(images[train])
    return image_data(
        (images[train], labels[train]),
        (images[val], labels[val]),
        [str(i) for i in range(10)],
        mean,
        std,
        source="sklearn.datasets.load_digits",
        augment={"crop_padding": max(1, size // 16), "flip": False},
    )
