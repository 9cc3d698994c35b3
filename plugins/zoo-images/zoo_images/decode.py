"""Decoding whole batches on the training device (`--set decode=device`): nvJPEG on CUDA through torchvision.

The DataLoader's workers then only read each file's bytes; the main process decodes a batch's JPEGs in one
`torchvision.io.decode_jpeg(..., device=...)` call and resizes them there, which frees the CPU cores that decoding
would take on a GPU machine. Other formats (and a JPEG that call refuses) decode one by one on the CPU. The pixels
are close to, not identical with, the CPU path's (PIL's bilinear resize against torch's antialiased one).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import torch

from zoo.plugin import ZooError, warn
from zoo_images.common import read_rgb

DECODE_MODES = ("cpu", "device")


class EncodedBatch(list):
    """A batch's images as their files' bytes (uint8 1-D CPU tensors), decoded on the device by `decode_batch`."""


def read_bytes(path: str) -> torch.Tensor:
    """An image file's bytes as a uint8 tensor; an unreadable or empty file is a ZooError naming it."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise ZooError(f"cannot read the image {path}: {exc}") from None
    if not data:
        raise ZooError(f"cannot read the image {path}: the file is empty")
    return torch.frombuffer(bytearray(data), dtype=torch.uint8)


def collate_encoded(batch: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[EncodedBatch, torch.Tensor]:
    """(file bytes, label) samples -> (EncodedBatch, labels)."""
    return EncodedBatch(data for data, _ in batch), torch.stack([label for _, label in batch])


def _is_jpeg(data: torch.Tensor) -> bool:
    return len(data) > 3 and int(data[0]) == 0xFF and int(data[1]) == 0xD8


def _decode_one(data: torch.Tensor) -> torch.Tensor | None:
    """One image on the CPU, as uint8 3 x H x W: torchvision's decoders, else PIL (BMP, TIFF, PPM); None if neither."""
    from torchvision.io import ImageReadMode, decode_image

    try:
        return decode_image(data, mode=ImageReadMode.RGB)
    except (RuntimeError, ValueError):
        pass
    try:  # the CPU path's reader, on the bytes: any mode to RGB, the decompression-bomb limit kept
        return read_rgb(io.BytesIO(data.numpy().tobytes()), lambda image: image)
    except ZooError:
        return None


def decode_batch(encoded: Sequence[torch.Tensor], size: int, device: torch.device | str) -> torch.Tensor:
    """Files' bytes -> uint8 N x 3 x size x size on `device`. A file that decodes nowhere is warned about and the
    batch's previous good image (else its next) stands in for it, as the CPU path's next image does."""
    from torchvision.io import ImageReadMode, decode_jpeg
    from torchvision.transforms.v2.functional import resize

    images: list[torch.Tensor | None] = [None] * len(encoded)
    jpegs = [i for i, data in enumerate(encoded) if _is_jpeg(data)]
    if jpegs:
        try:
            decoded = decode_jpeg([encoded[i] for i in jpegs], mode=ImageReadMode.RGB, device=device)
        except RuntimeError:  # one damaged file fails the whole call: the loop below decodes them one by one
            decoded = [None] * len(jpegs)
        for i, image in zip(jpegs, decoded, strict=True):
            images[i] = image
    for i, image in enumerate(images):
        if image is None:
            one = _decode_one(encoded[i])
            images[i] = one.to(device, non_blocking=True) if one is not None else None
    good = [i for i, image in enumerate(images) if image is not None]
    if not good:
        raise ZooError(f"none of the {len(encoded)} images of a batch decode: check the folder's files")
    if len(good) < len(images):
        warn(f"{len(images) - len(good)} image(s) of a batch won't decode: a neighbour in the batch stands in")
    out = []
    for i in range(len(images)):
        image = images[i] if images[i] is not None else images[max([g for g in good if g < i], default=good[0])]
        out.append(resize(image, [size, size], antialias=True))
    return torch.stack(out)
