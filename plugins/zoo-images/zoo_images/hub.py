"""Image classification from a Hub dataset repo: an Image column (`{bytes, path}`) and a ClassLabel column, streamed
from the verified parquet files; the ClassLabel's names become the run's labels.

The card's validation split validates, else its test split; a repo with neither has the last `val_split` of its
train rows carved off. Labels are checked whole before training (null, or outside the ClassLabel: one line naming
the file and row); an image that does not decode stops training with one line naming its file, row group and row.
"""

from __future__ import annotations

import io
from functools import partial
from typing import Any

import torch

from zoo.plugin import Data, HubSource, ParquetRows, UsageError, ZooError
from zoo_images.cifar10 import MEAN as CIFAR_MEAN
from zoo_images.cifar10 import STD as CIFAR_STD
from zoo_images.common import channel_stats, preprocessing, read_rgb

IMAGE_NAMES = ("image", "img", "pixel_values")
LABEL_NAMES = ("label", "labels", "fine_label", "class")
INTEGER = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
#: training images decoded before training for the channel statistics (an imagefolder-style set)
PROBE = 256


def cifar10(source: HubSource, **options: Any) -> Data:
    """A CIFAR-10-shaped repo (uoft-cs/cifar10): CIFAR-10's normalisation and augmentation."""
    return load(source, stats=(CIFAR_MEAN, CIFAR_STD), **options)


def imagefolder(source: HubSource, **options: Any) -> Data:
    """Any image-classification repo: channel statistics measured on its first training images."""
    return load(source, stats=None, **options)


def load(
    source: HubSource,
    stats: tuple[tuple[float, ...], tuple[float, ...]] | None,
    size: int = 32,
    val_split: float = 0.1,
    decode: str = "cpu",
    **_: Any,
) -> Data:
    if decode != "cpu":
        raise UsageError(f"decode={decode}: a Hub dataset's images decode in the DataLoader's workers (decode=cpu)")
    if not 0 < val_split < 1:
        raise UsageError(f"val_split must be in (0, 1), got {val_split}")
    image = source.column("image", ("image",), IMAGE_NAMES)
    label = source.column("label", ("class_label", "value"), LABEL_NAMES, dtypes=INTEGER)
    names = list(source.features[label].names)
    val_name = source.validation_split

    def rows(split: str) -> ParquetRows:
        return ParquetRows(source.splits[split], [image, label], partial(_sample, image, label, size), source.name_of)

    # ParquetRows reads the footers first, so a damaged file (or one unlike the card) gets its own message
    train = rows("train")
    val = rows(val_name) if val_name else None
    classes = _check_labels(source, ["train"] + ([val_name] if val_name else []), label, names)
    names = names or [str(i) for i in range(classes)]
    if val is None:
        if len(train) < 2:
            raise UsageError(f"{source.uri}: one training image, and no validation or test split to validate on")
        train, val = train.split(val_split)
    if stats is None:
        probe = torch.stack([train[i][0] for i in range(min(PROBE, len(train)))])
        stats = channel_stats(probe)
    return Data(
        train=train,
        val=val,
        info={
            "labels": names,
            "preprocessing": preprocessing(size, *stats),
            "source": source.uri,
            "validation": val_name or f"the last {val_split:.0%} of train",
            "augment": {"crop_padding": 4 * size // 32, "flip": True},
        },
    )


def _sample(image: str, label: str, size: int, row: dict[str, Any]) -> tuple[torch.Tensor, int]:
    return decode_image(row[image], size), int(row[label])


def decode_image(cell: Any, size: int) -> torch.Tensor:
    """An Image feature's cell (`{bytes, path}`) as uint8 3 x size x size, resized as the image adapters do."""
    from PIL import Image

    data = cell.get("bytes") if isinstance(cell, dict) else None
    if not data:
        raise ZooError("the image cell holds no bytes (an image stored by path is not in the repo): re-save the set")
    name = (cell.get("path") or "the image") if isinstance(cell, dict) else "the image"
    try:
        return read_rgb(io.BytesIO(data), lambda image: image.resize((size, size), Image.Resampling.BILINEAR))
    except ZooError as exc:
        reason = str(exc).split(": ", 1)[-1]
        raise type(exc)(f"{name} does not decode: {reason}") from None


def _check_labels(source: HubSource, splits: list[str], column: str, names: list[str]) -> int:
    """Every label of the splits: an integer within the ClassLabel's names; the number of classes."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    highest = -1
    for split in splits:
        for path in source.splits[split]:
            try:
                values = pq.read_table(path, columns=[column]).column(column)
            except Exception as exc:  # pyarrow raises several types for a damaged file
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise ZooError(f"{source.name_of(path)}: cannot read its {column} column ({first})") from None
            if values.null_count:
                row = pc.index(pc.is_null(values), True).as_py()
                raise UsageError(f"{source.name_of(path)}: row {row} has no {column} (null): every image needs a label")
            if len(values) == 0:
                continue
            low, high = pc.min(values).as_py(), pc.max(values).as_py()
            outside = low < 0 or (names and high >= len(names))
            if outside:
                bad = low if low < 0 else high
                row = pc.index(values, bad).as_py()
                raise UsageError(
                    f"{source.name_of(path)}: row {row} has {column} {bad}, outside the ClassLabel's "
                    f"{len(names)} names (0..{len(names) - 1}): fix the data or the card's class names"
                )
            highest = max(highest, high)
    return highest + 1
