"""What every image adapter returns: uint8 image tensors N x 3 x H x W with labels, plus their metadata."""

from __future__ import annotations

import contextlib
import hashlib
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import torch
from torch.utils.data import TensorDataset

from zoo.plugin import Data, UsageError, ZooError
from zoo_images import header
from zoo_images.header import ImageTooLarge

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


def read_rgb(path: str | Path | BinaryIO, prepare: Callable[[Any], Any]) -> torch.Tensor:
    """An image file as uint8 3 x H x W: any mode (grayscale, CMYK, palette, alpha) converted to RGB, then
    `prepare` (a PIL image -> PIL image resize/crop); a file that won't decode is a ZooError naming it, one with
    more pixels than PIL's decompression-bomb limit an ImageTooLarge, refused from its header, before any pixel."""
    from PIL import Image, UnidentifiedImageError

    try:
        with open(path, "rb") if isinstance(path, (str, Path)) else contextlib.nullcontext(path) as fp:
            header.check(path, fp)  # PNG and JPEG, with their size in the refusal
            with _open_within_limit(path, fp) as image:
                image = prepare(image.convert("RGB"))
                data = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8)
    except UnidentifiedImageError:  # PIL's own text names its file object, not the user's file
        raise ZooError(f"cannot read the image {path}: not an image format Pillow reads (PNG, JPEG, ...)") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ZooError(f"cannot read the image {path}: {exc}") from None
    return data.view(image.height, image.width, 3).permute(2, 0, 1).contiguous()


def check_size(name: object, data: bytes) -> None:
    """Refuse an image file's bytes when their header states more pixels than the limit, in any format PIL reads,
    without decoding them; bytes that are no image pass (their decoding fails later, naming the file)."""
    from PIL import UnidentifiedImageError

    if header.check_bytes(name, data) is None:
        with contextlib.suppress(UnidentifiedImageError, OSError, ValueError, SyntaxError):
            _open_within_limit(name, io.BytesIO(data)).close()


def _open_within_limit(path: object, fp: BinaryIO) -> Any:
    """PIL's lazy open (the header only) of every other format, refused past the decompression-bomb limit."""
    import warnings

    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # this function refuses those itself
        try:
            image = Image.open(fp)
        except Image.DecompressionBombError as exc:  # twice the limit: PIL does not say the size
            raise ImageTooLarge(
                f"the image {path} has more than twice the {header.max_pixels():,} pixels that zoo decodes (PIL's "
                f"decompression-bomb limit; {exc}): refused. Shrink it, or remove it from the data."
            ) from None
    limit = header.max_pixels()
    if limit is not None and image.width * image.height > limit:
        image.close()
        raise header.too_large(path, image.width, image.height)
    return image


def load_image(path: str | Path, size: int) -> torch.Tensor:
    """An image file resized (bilinear) to uint8 3 x size x size."""
    from PIL import Image

    return read_rgb(path, lambda image: image.resize((size, size), Image.Resampling.BILINEAR))
