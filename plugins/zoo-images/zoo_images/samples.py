"""A few images in each adapter's real format, for zoo's conformance suite (zoo.testing): no download."""

from __future__ import annotations

import io
import pickle
import struct
import zlib
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from zoo.plugin import Sample

CLASSES = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse", b"ship", b"truck"]


def _image(folder: Path, name: str, colour: int, size: int = 32) -> Path:
    from PIL import Image

    rng = np.random.default_rng(colour)
    pixels = np.clip(rng.normal(colour, 20, (size, size, 3)), 0, 255).astype(np.uint8)
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


class _Python2Pickler(pickle._Pickler):  # the pure-Python pickler: its dispatch table can be extended
    """Pickles bytes as Python 2 wrote its `str` (SHORT_BINSTRING/BINSTRING), as in the real CIFAR-10 files:
    read with encoding="bytes" (zoo) they are bytes, with encoding="latin1" (torchvision) they are str."""

    def save_bytes(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch: ClassVar[dict] = {**pickle._Pickler.dispatch, bytes: save_bytes}


def python2_pickle(obj: Any) -> bytes:
    """`obj` pickled at protocol 2 as Python 2 would (CIFAR-10's batches were written so)."""
    out = io.BytesIO()
    _Python2Pickler(out, protocol=2).dump(obj)
    return out.getvalue()


def write_cifar10(folder: Path, per_batch: int = 20, seed: int = 0) -> Path:
    """CIFAR-10's python layout under folder/cifar-10-batches-py: pickled dicts with bytes keys, protocol 2.
    Each class gets its own mean colour, so a model can learn something in a few steps."""
    rng = np.random.default_rng(seed)
    root = folder / "cifar-10-batches-py"
    root.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        labels = [int(i % 10) for i in range(per_batch)]
        data = np.stack([np.clip(rng.normal(25 * label, 20, 3072), 0, 255) for label in labels]).astype(np.uint8)
        batch = {
            b"batch_label": name.encode(),
            b"labels": labels,
            b"data": data,
            b"filenames": [f"{name}_{i}.png".encode() for i in range(per_batch)],
        }
        (root / name).write_bytes(python2_pickle(batch))
    (root / "batches.meta").write_bytes(python2_pickle({b"label_names": CLASSES, b"num_vis": 3072}))
    return root


# Hostile files, for the tests of the size limits: small files whose headers state huge images.


def _segment(marker: int, body: bytes) -> bytes:
    return b"\xff" + bytes([marker]) + struct.pack(">H", len(body) + 2) + body


def grey_jpeg(width: int, height: int) -> bytes:
    """A valid baseline JPEG, mid-grey: every 8 x 8 block is two bits (no DC change, end of block), so a
    12000 x 12000 image takes 550 KB; libjpeg decodes it whole."""
    one_code = b"\x01" + b"\x00" * 15 + b"\x00"  # a Huffman table of one 1-bit code, for the symbol 0
    blocks = -(-width // 8) * -(-height // 8)
    return (
        b"\xff\xd8"
        + _segment(0xDB, b"\x00" + b"\x01" * 64)
        + _segment(0xC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
        + _segment(0xC4, b"\x00" + one_code + b"\x10" + one_code)
        + _segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
        + b"\x00" * -(-2 * blocks // 8)
        + b"\xff\xd9"
    )


def png_claiming(width: int, height: int) -> bytes:
    """A PNG with a valid IHDR (RGB, 8 bits) for `width` x `height` and a small IDAT: the pixels it lacks are never
    in the file."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + idat + chunk(b"IEND", b"")


def cifar10(folder: Path) -> Sample:
    """Six batches of 10 images, plus a PNG to predict."""
    write_cifar10(folder, per_batch=10)
    return Sample(data_dir=folder, inputs=[str(_image(folder, "input.png", 100))])


def imagefolder(folder: Path) -> Sample:
    """Two classes of six PNGs each, plus a PNG to predict."""
    root = folder / "images"
    for k, name in enumerate(("cats", "dogs")):
        for i in range(6):
            _image(root / name, f"{i}.png", 60 + 120 * k + i)
    return Sample(data_dir=root, inputs=[str(_image(folder, "input.png", 70))])


def digits(folder: Path) -> Sample:
    """scikit-learn ships the digits themselves; the sample is one of them as a PNG to predict."""
    from PIL import Image
    from sklearn.datasets import load_digits

    pixels = (load_digits().images[0] * (255 / 16)).astype(np.uint8)
    path = folder / "digit.png"
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).convert("RGB").resize((32, 32)).save(path)
    return Sample(data_dir=None, inputs=[str(path)])
