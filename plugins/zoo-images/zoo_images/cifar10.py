"""CIFAR-10 from its python version: cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}."""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

from zoo.plugin import UsageError, ZooError
from zoo_images.common import image_data, require_dir

FOLDER = "cifar-10-batches-py"
PIXELS = 3 * 32 * 32
MAX_FILE = 1 << 30  # a real batch is 31 MB; anything this large is not one
TRAIN = [f"data_batch_{i}" for i in range(1, 6)]
MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
HINT = f"the folder holding {FOLDER}/ (CIFAR-10's python version), or pass --download"
# The batches are pickles by format; these are the only globals the real files need.
ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),  # how Python 3 writes bytes at protocol 2 (copies made with pickle.dump)
}


class _BatchUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED:
            raise pickle.UnpicklingError(f"refusing {module}.{name}: not part of a CIFAR-10 batch")
        return super().find_class(module, name)


def _read(path: Path) -> dict[bytes, Any]:
    if not path.is_file():
        raise UsageError(f"CIFAR-10 file missing: {path}. Expected data_batch_1..5, test_batch and batches.meta.")
    if path.stat().st_size > MAX_FILE:
        raise UsageError(f"{path} is {path.stat().st_size:,} bytes, far more than a CIFAR-10 batch: refused")
    try:
        data = _BatchUnpickler(io.BytesIO(path.read_bytes()), encoding="bytes").load()
    except Exception as exc:
        raise ZooError(f"{path} is corrupt or truncated ({type(exc).__name__}: {exc}). Download it again.") from None
    if not isinstance(data, dict):
        raise ZooError(f"{path} is not a CIFAR-10 batch (a {type(data).__name__}, not a dict)")
    return data


def _images(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch's images and labels, their shapes checked against the format and the file's size before any array is
    built: a pickle that repeats references could otherwise describe far more data than the file holds."""
    batch = _read(path)
    data, labels = batch.get(b"data"), batch.get(b"labels")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != PIXELS:
        shape = getattr(data, "shape", None)
        raise ZooError(f"{path} is not a CIFAR-10 batch: 'data' must be a uint8 N x {PIXELS} array, got {shape}")
    if data.nbytes > path.stat().st_size:
        raise ZooError(f"{path} is not a CIFAR-10 batch: its arrays are larger than the file")
    if not isinstance(labels, (list, np.ndarray)) or len(labels) != len(data):
        raise ZooError(f"{path}: {len(data)} images but {len(labels) if hasattr(labels, '__len__') else 'no'} labels")
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 0 <= v <= 9 for v in labels):
        raise ZooError(f"{path}: labels must be integers in 0..9")
    pixels = data.reshape(-1, 3, 32, 32)
    return torch.from_numpy(pixels.copy()), torch.from_numpy(np.asarray(labels, dtype=np.int64))


def locate(data_dir: Path | None, download: bool) -> Path:
    if download:
        root = Path(data_dir or ".")
        try:
            import torchvision

            torchvision.datasets.CIFAR10(str(root), download=True)
        except Exception as exc:
            raise ZooError(f"cannot download CIFAR-10 ({exc}). Put its python batches in --data-dir instead.") from None
    root = require_dir(data_dir, "cifar10", HINT)
    return root / FOLDER if (root / FOLDER).is_dir() else root


def resize(images: torch.Tensor, size: int) -> torch.Tensor:
    if images.shape[-1] == size:
        return images
    scaled = torch.nn.functional.interpolate(
        images.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False
    )
    return scaled.round_().clamp_(0, 255).to(torch.uint8)


def load(data_dir: Path | None = None, download: bool = False, size: int = 32, **_: Any):
    """CIFAR-10: 50,000 training and 10,000 test images (fewer in a hand-made mini copy), at `size`."""
    folder = locate(data_dir, download)
    meta = _read(folder / "batches.meta")
    try:
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in meta.get(b"label_names", [])]
    except (UnicodeDecodeError, TypeError):
        raise ZooError(
            f"{folder / 'batches.meta'} is corrupt: its label names are not text. Download it again."
        ) from None
    if len(names) != 10:
        raise ZooError(f"{folder / 'batches.meta'} should name 10 classes, got {names}")
    parts = [_images(folder / name) for name in TRAIN]
    train = (resize(torch.cat([p[0] for p in parts]), size), torch.cat([p[1] for p in parts]))
    test = _images(folder / "test_batch")
    return image_data(
        train,
        (resize(test[0], size), test[1]),
        names,
        MEAN,
        STD,
        source=str(folder),
        augment={"crop_padding": 4 * size // 32, "flip": True},
    )
