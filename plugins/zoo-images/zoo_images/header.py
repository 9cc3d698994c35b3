"""An image's width and height read from its file header, before any pixel is decoded or allocated: every decode
path (PIL in the workers, torchvision's decoders on the batch's device) refuses an image too large by its header."""

from __future__ import annotations

import io
import struct
from typing import BinaryIO

from zoo.plugin import UsageError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# JPEG's start-of-frame markers (every coding process); C4, C8 and CC are other segments.
SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
# Markers that stand alone, with no length field.
STANDALONE = {0x01, *range(0xD0, 0xD9)}


class ImageTooLarge(UsageError):
    """An image with more pixels than PIL's decompression-bomb limit (Image.MAX_IMAGE_PIXELS)."""


def max_pixels() -> int | None:
    """The most pixels zoo decodes in one image: PIL's decompression-bomb limit (None: no limit)."""
    from PIL import Image

    return Image.MAX_IMAGE_PIXELS


def too_large(name: object, width: int, height: int) -> ImageTooLarge:
    limit = max_pixels()
    return ImageTooLarge(
        f"the image {name} is {width} x {height} ({width * height:,} pixels), more than the {limit:,} that zoo "
        "decodes (PIL's decompression-bomb limit): refused. Shrink it, or remove it from the data."
    )


def check(name: object, fp: BinaryIO) -> tuple[int, int] | None:
    """The header's (width, height) of a PNG or JPEG `fp` (None for other formats or a damaged header); raise
    ImageTooLarge naming `name` when it holds more pixels than the limit. `fp` is read from its start and rewound."""
    fp.seek(0)
    try:
        size = dimensions(fp)
    finally:
        fp.seek(0)
    limit = max_pixels()
    if size is not None and limit is not None and size[0] * size[1] > limit:
        raise too_large(name, *size)
    return size


def check_bytes(name: object, data: bytes) -> tuple[int, int] | None:
    return check(name, io.BytesIO(data))


def dimensions(fp: BinaryIO) -> tuple[int, int] | None:
    """(width, height) from a PNG's IHDR or a JPEG's start-of-frame segment; None for anything else."""
    head = fp.read(24)
    if head.startswith(PNG_SIGNATURE):
        if len(head) < 24 or head[12:16] != b"IHDR":
            return None
        return struct.unpack(">II", head[16:24])
    if head.startswith(b"\xff\xd8"):
        fp.seek(2)
        return _jpeg_frame(fp)
    return None


def _jpeg_frame(fp: BinaryIO) -> tuple[int, int] | None:
    """Walk a JPEG's segments to its first frame header; None when the scan or the end comes first."""
    while True:
        byte = fp.read(1)
        if not byte:
            return None
        if byte != b"\xff":
            continue  # not a marker: a damaged file; libjpeg skips such bytes too
        marker = fp.read(1)
        while marker == b"\xff":  # fill bytes before a marker
            marker = fp.read(1)
        if not marker:
            return None
        code = marker[0]
        if code in STANDALONE or code == 0x00:
            continue
        if code in (0xD9, 0xDA):  # end of image, start of scan: no frame header before the pixels
            return None
        length = fp.read(2)
        if len(length) < 2:
            return None
        size = struct.unpack(">H", length)[0]
        if code in SOF_MARKERS:
            frame = fp.read(5)
            if len(frame) < 5:
                return None
            height, width = struct.unpack(">HH", frame[1:5])
            return width, height
        fp.seek(size - 2, io.SEEK_CUR)
