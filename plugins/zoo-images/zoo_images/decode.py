"""Decoding whole batches on the training device (`--set decode=device`): nvJPEG on CUDA through torchvision.

The DataLoader's workers then only read each file's bytes; the main process decodes a batch's JPEGs in one
`torchvision.io.decode_jpeg(..., device=...)` call and resizes them there, which frees the CPU cores that decoding
would take on a GPU machine. PNGs decode one by one with torchvision, other formats (and a JPEG that call refuses)
with PIL, on the CPU. The pixels are close to, not identical with, the CPU path's (PIL's bilinear resize against
torch's antialiased one). Every image's size is checked against its header before it is decoded: by the worker that
reads the file (naming it), and again here for bytes from anywhere else.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import torch

from zoo.plugin import ZooError, warn
from zoo_images import header
from zoo_images.common import ImageTooLarge, check_size, read_rgb

DECODE_MODES = ("cpu", "device")


class EncodedBatch(list):
    """A batch's images as their files' bytes (uint8 1-D CPU tensors), decoded on the device by `decode_batch`."""


def read_bytes(path: str) -> torch.Tensor:
    """An image file's bytes as a uint8 tensor; an unreadable or empty file is a ZooError naming it, one whose
    header states more pixels than the limit an ImageTooLarge naming it and its size."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise ZooError(f"cannot read the image {path}: {exc}") from None
    if not data:
        raise ZooError(f"cannot read the image {path}: the file is empty")
    check_size(path, data)
    return torch.frombuffer(bytearray(data), dtype=torch.uint8)


def collate_encoded(batch: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[EncodedBatch, torch.Tensor]:
    """(file bytes, label) samples -> (EncodedBatch, labels)."""
    return EncodedBatch(data for data, _ in batch), torch.stack([label for _, label in batch])


def _format(data: torch.Tensor) -> str | None:
    """'jpeg' or 'png' when the bytes' header states a size within the limit (torchvision decodes those); None for
    other formats and damaged headers (PIL decodes those, checking the size itself)."""
    raw = data.numpy().tobytes()
    if header.check_bytes("of the batch", raw) is None:
        return None
    return "png" if raw.startswith(header.PNG_SIGNATURE) else "jpeg"


def _decode_one(data: torch.Tensor, kind: str | None) -> torch.Tensor | None:
    """One image on the CPU, as uint8 3 x H x W: torchvision's decoder for a checked PNG or JPEG, else PIL (BMP,
    GIF, WebP, TIFF, PPM: the first frame, the size checked); None if neither decodes it."""
    from torchvision.io import ImageReadMode, decode_image

    if kind is not None:
        try:
            return decode_image(data, mode=ImageReadMode.RGB)
        except (RuntimeError, ValueError):
            pass
    try:  # the CPU path's reader, on the bytes: any mode to RGB, the decompression-bomb limit kept
        return read_rgb(io.BytesIO(data.numpy().tobytes()), lambda image: image)
    except ImageTooLarge:
        raise
    except ZooError:
        return None


def decode_batch(encoded: Sequence[torch.Tensor], size: int, device: torch.device | str) -> torch.Tensor:
    """Files' bytes -> uint8 N x 3 x size x size on `device`. A file that decodes nowhere is warned about and the
    batch's previous good image (else its next) stands in for it, as the CPU path's next image does."""
    from torchvision.io import ImageReadMode, decode_jpeg
    from torchvision.transforms.v2.functional import resize

    images: list[torch.Tensor | None] = [None] * len(encoded)
    kinds = [_format(data) for data in encoded]
    jpegs = [i for i, kind in enumerate(kinds) if kind == "jpeg"]
    if jpegs:
        try:
            decoded = decode_jpeg([encoded[i] for i in jpegs], mode=ImageReadMode.RGB, device=device)
        except RuntimeError:  # one damaged file fails the whole call: the loop below decodes them one by one
            decoded = [None] * len(jpegs)
        for i, image in zip(jpegs, decoded, strict=True):
            images[i] = image
    for i, image in enumerate(images):
        if image is None:
            one = _decode_one(encoded[i], kinds[i])
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
