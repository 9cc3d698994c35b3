"""What every image adapter returns: uint8 image tensors N x 3 x H x W with labels, plus their metadata."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import TensorDataset

from zoo.plugin import Data, UsageError, ZooError

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def fingerprint(*tensors: torch.Tensor) -> str:
    digest = hashlib.sha256()
    for tensor in tensors:
        digest.update(tensor.contiguous().numpy().tobytes())
    return "sha256:" + digest.hexdigest()


def image_data(
    train: tuple[torch.Tensor, torch.Tensor],
    val: tuple[torch.Tensor, torch.Tensor] | None,
    labels: list[str],
    mean: tuple[float, ...],
    std: tuple[float, ...],
    **info: Any,
) -> Data:
    """Data with the preprocessing that training, evaluation and prediction all apply."""
    parts = [*train, *(val or ())]
    return Data(
        train=TensorDataset(*train),
        val=TensorDataset(*val) if val else None,
        info={
            "labels": labels,
            "preprocessing": preprocessing(int(train[0].shape[-1]), mean, std),
            "fingerprint": fingerprint(*parts),
            **info,
        },
    )


def preprocessing(size: int, mean: tuple[float, ...], std: tuple[float, ...]) -> dict[str, Any]:
    """What training, evaluation and prediction all apply to an image: a bilinear resize, then normalisation."""
    return {"size": size, "mean": [round(m, 4) for m in mean], "std": [round(s, 4) for s in std], "resize": "bilinear"}


def channel_stats(images: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of uint8 images, as fractions of 255."""
    x = images.float().div_(255).transpose(0, 1).reshape(3, -1)
    return tuple(x.mean(1).tolist()), tuple(x.std(1).clamp_min(1e-3).tolist())


def require_dir(data_dir: Path | None, name: str, hint: str) -> Path:
    if data_dir is None:
        raise UsageError(f"{name} needs --data-dir: {hint}")
    path = Path(data_dir)
    if not path.is_dir():
        raise UsageError(f"--data-dir {path} is not a folder: {hint}")
    return path


class ImageTooLarge(UsageError):
    """An image with more pixels than PIL's decompression-bomb limit (Image.MAX_IMAGE_PIXELS)."""


def read_rgb(path: str | Path, prepare: Callable[[Any], Any]) -> torch.Tensor:
    """An image file as uint8 3 x H x W: any mode (grayscale, CMYK, palette, alpha) converted to RGB, then
    `prepare` (a PIL image -> PIL image resize/crop); a file that won't decode is a ZooError naming it, one with
    more pixels than PIL's decompression-bomb limit an ImageTooLarge, refused before its pixels are decoded."""
    import warnings

    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            try:
                opened = Image.open(path)
            except (Image.DecompressionBombWarning, Image.DecompressionBombError):
                opened = None
        if opened is None or opened.width * opened.height > (Image.MAX_IMAGE_PIXELS or float("inf")):
            size = f" ({opened.width} x {opened.height})" if opened is not None else ""
            if opened is not None:
                opened.close()
            raise ImageTooLarge(
                f"the image {path}{size} has more than {Image.MAX_IMAGE_PIXELS:,} pixels, PIL's decompression-bomb "
                "limit: refused. Shrink it, or remove it from the data."
            )
        with opened as image:
            image = prepare(image.convert("RGB"))
            data = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ZooError(f"cannot read the image {path}: {exc}") from None
    return data.view(image.height, image.width, 3).permute(2, 0, 1).contiguous()


def load_image(path: str | Path, size: int) -> torch.Tensor:
    """An image file resized (bilinear) to uint8 3 x size x size."""
    from PIL import Image

    return read_rgb(path, lambda image: image.resize((size, size), Image.Resampling.BILINEAR))
