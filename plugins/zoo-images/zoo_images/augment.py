"""Augmentation and normalisation on whole batches, on the training device, in the main process.

Running here (not in DataLoader workers) keeps the randomness in the RNG the engine checkpoints, so a resumed
run augments exactly as an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def random_crop_flip(images: torch.Tensor, padding: int, flip: bool) -> torch.Tensor:
    """torchvision's RandomCrop(padding=p) (zero padding) and RandomHorizontalFlip, on a whole batch at once."""
    n, _, h, w = images.shape
    if padding:
        padded = torch.nn.functional.pad(images, (padding,) * 4)
        offsets = torch.randint(0, 2 * padding + 1, (n, 2)).tolist()
        out = torch.empty_like(images)
        for i, (y, x) in enumerate(offsets):  # n small slice copies beat one batch-sized index tensor
            out[i] = padded[i, :, y : y + h, x : x + w]
        images = out
    if flip:
        mirror = torch.rand(n, device=images.device) < 0.5
        images = torch.where(mirror[:, None, None, None], images.flip(-1), images)
    return images


def normalize(images: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """uint8 (or float 0..255) images to float, standardised per channel."""
    m = torch.tensor(mean, device=images.device).view(1, -1, 1, 1) * 255
    s = torch.tensor(std, device=images.device).view(1, -1, 1, 1) * 255
    return (images.float() - m) / s
